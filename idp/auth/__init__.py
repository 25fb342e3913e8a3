"""Login: passwords, second factor, brute-force guard, server-side sessions, step-up."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from idp.auth.sessions import DatabaseSessionInterface

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Server-side sessions, CSRF on every form, and the login and account pages."""
    from idp.auth.account_views import blueprint as account
    from idp.auth.views import blueprint as auth

    settings = app.config["IDP"]["auth"]["session"]
    secure = app.config["IDP"].issuer.startswith("https://")
    # "__Host-" makes browsers refuse the cookie unless Secure, path /, no domain.
    name = ("__Host-" if secure else "") + settings["cookie_name"]
    app.config.update(
        SESSION_COOKIE_NAME=name,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The CSRF token lives as long as the session; the session has its own timeouts.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
    )
    app.session_interface = DatabaseSessionInterface()
    csrf.init_app(app)
    from idp.portal import blueprint as portal

    app.register_blueprint(auth)
    app.register_blueprint(account)
    app.register_blueprint(portal)
