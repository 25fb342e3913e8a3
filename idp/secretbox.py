"""Secrets at rest (TOTP seeds, signing keys): encrypted with a key derived from the app's secret.

Each purpose gets its own key (HKDF), so a value encrypted for one purpose cannot be passed
off as another.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretUnreadable(Exception):
    """The stored value was not encrypted with this installation's key (or was altered)."""


def _fernet(purpose: str, secret_key: str | None = None) -> Fernet:
    return _derived_fernet(purpose, secret_key or current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=32)
def _derived_fernet(purpose: str, secret_key: str) -> Fernet:
    # Derived once per purpose and key: every access token seals a value.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"schul-idp/" + purpose.encode()
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(purpose: str, plaintext: str, secret_key: str | None = None) -> bytes:
    """Encrypt and authenticate `plaintext` for `purpose`."""
    return _fernet(purpose, secret_key).encrypt(plaintext.encode())


def unseal(purpose: str, token: bytes, secret_key: str | None = None) -> str:
    """Decrypt what `seal` produced for the same purpose."""
    try:
        return _fernet(purpose, secret_key).decrypt(bytes(token)).decode()
    except InvalidToken:
        raise SecretUnreadable(purpose) from None
