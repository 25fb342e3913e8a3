"""The login and account forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

CODE_HINT = _l("6 Ziffern aus der App oder ein Wiederherstellungscode")


class LoginForm(FlaskForm):
    """Name and password, as on /login/mit-code (the plain /login page renders its own)."""

    login_name = StringField(
        _l("Benutzername oder E-Mail-Adresse"),
        # No length limit here: an overlong name fails like any unknown one, at the same cost.
        validators=[InputRequired(_l("Bitte geben Sie Ihren Benutzernamen ein."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[InputRequired(_l("Bitte geben Sie Ihr Passwort ein."))],
        render_kw={"autocomplete": "current-password"},
    )


class LoginWithCodeForm(LoginForm):
    code = StringField(
        _l("Code des zweiten Faktors"),
        description=CODE_HINT,
        validators=[InputRequired(_l("Bitte geben Sie den Code ein.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        description=CODE_HINT,
        validators=[InputRequired(_l("Bitte geben Sie den Code ein.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class NewPasswordForm(FlaskForm):
    new = PasswordField(
        _l("Neues Passwort"),
        validators=[InputRequired(_l("Bitte geben Sie ein neues Passwort ein."))],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[
            InputRequired(_l("Bitte wiederholen Sie das neue Passwort.")),
            EqualTo("new", _l("Die beiden Passwörter stimmen nicht überein.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Bisheriges Passwort"),
        validators=[InputRequired(_l("Bitte geben Sie Ihr bisheriges Passwort ein."))],
        render_kw={"autocomplete": "current-password"},
    )


class EnrolForm(FlaskForm):
    code = StringField(
        _l("Code aus der App"),
        validators=[InputRequired(_l("Bitte geben Sie den Code ein.")), Length(max=16)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token, and an optional target."""

    target = HiddenField()
