"""The login settings of the running app, read once from the config."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask, current_app

from idp.auth.guard import Guard
from idp.auth.passwords import HashParameters


@dataclass(frozen=True)
class AuthSettings:
    hashing: HashParameters
    guard: Guard
    min_length: int
    min_length_admin: int
    initial_length: int
    initial_valid_days: int
    totp_window: int
    totp_issuer: str
    sensitive_max_age: int
    session_idle: dt.timedelta
    session_absolute: dt.timedelta

    @classmethod
    def from_app(cls, app: Flask) -> AuthSettings:
        auth = app.config["IDP"]["auth"]
        return cls(
            hashing=HashParameters.from_config(auth),
            guard=Guard.from_config(auth["guard"], app.config["SECRET_KEY"]),
            min_length=auth["password"]["min_length"],
            min_length_admin=auth["password"]["min_length_admin"],
            initial_length=auth["password"]["initial_length"],
            initial_valid_days=auth["password"]["initial_valid_days"],
            totp_window=auth["totp"]["valid_window"],
            totp_issuer=auth["totp"]["issuer_name"],
            sensitive_max_age=auth["stepup"]["sensitive_max_age_seconds"],
            session_idle=dt.timedelta(minutes=auth["session"]["idle_minutes"]),
            session_absolute=dt.timedelta(hours=auth["session"]["absolute_hours"]),
        )


def auth_settings() -> AuthSettings:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("idp.auth")
    if found is None:
        found = app.extensions["idp.auth"] = AuthSettings.from_app(app)
    return found
