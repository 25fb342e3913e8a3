"""The CSRF token of the login form: flask_wtf's token, made with a serializer built once.

`generate_csrf` builds an itsdangerous serializer on every call and tries zlib on the token
first (a signed 40-character token never gets shorter, and setting zlib up costs more than the
signing). This makes the same token, stored where flask_wtf keeps it (the raw token in the
session, the signed one in `g` for the rest of the request), so CSRFProtect checks it
unchanged. The login page is the one every visitor loads.
"""

from __future__ import annotations

import secrets

from flask import Flask, current_app, g, session
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

_SALT = "wtf-csrf-token"  # flask_wtf's, so its validate_csrf reads the token


class _UncompressedSerializer(URLSafeTimedSerializer):
    """URL-safe, signed and timestamped like its parent, without first trying zlib."""

    def dump_payload(self, obj: object) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    found = app.extensions.get("idp.csrf_form_tokens")
    if found is None:
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        found = app.extensions["idp.csrf_form_tokens"] = _UncompressedSerializer(secret, salt=_SALT)
    return found


def csrf_token() -> str:
    """This request's signed CSRF token (the session's raw token, created if missing)."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    token = g.get(field)
    if token is None:
        if field not in session:
            session[field] = secrets.token_hex(20)  # as long as flask_wtf's own
        token = _serializer(current_app).dumps(session[field])
        setattr(g, field, token)
    return token
