"""What every page shares: language (German first, English switchable), error pages."""

from __future__ import annotations

from flask import Flask, has_request_context, render_template, request
from flask_babel import Babel, format_datetime, get_locale, get_translations
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

LANGUAGES = ("de", "en")
LANGUAGE_COOKIE = "sprache"


def select_locale() -> str:
    if not has_request_context():
        return "de"  # command line: German
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else "de"


def install_template_gettext(app: Flask) -> None:
    """Templates look their catalogue up by the request's locale in a dict of their own.

    Flask-Babel's callables find the domain, the context and the locale's name anew for every
    string; a page has a dozen strings and the login page is the busiest page there is.
    """
    catalogues: dict = {}

    def catalogue():
        locale = get_locale()
        found = catalogues.get(locale)
        if found is None:
            found = catalogues[locale] = get_translations()
        return found

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalogue().ugettext(s),
        ngettext=lambda s, p, n: catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalogue().unpgettext(c, s, p, n),
    )


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    Babel(app, locale_selector=select_locale, default_locale="de")
    install_template_gettext(app)
    app.jinja_env.filters["datetime"] = lambda value: (
        format_datetime(value, "short") if value else "–"
    )
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["land_name"] = app.config["IDP"]["land"]["name"]
    app.jinja_env.globals["other_language"] = lambda: "en" if select_locale() == "de" else "de"

    @app.context_processor
    def login_state() -> dict:
        from flask import session

        from idp.auth.sessions import current_login

        return {"logged_in": current_login(session) is not None}  # type: ignore[arg-type]

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        message = _(
            "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. "
            "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
        )
        return render_template("error.html", message=message), 400

    @app.errorhandler(404)
    def not_found(error):
        return render_template("error.html", message=_("Diese Seite gibt es nicht.")), 404
