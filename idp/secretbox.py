"""Secrets at rest (TOTP seeds, signing keys) and in tokens (the person reference of an access
token): encrypted with a key derived from the app's secret.

Each purpose gets its own key (HKDF), so a value encrypted for one purpose cannot be passed
off as another. Values are sealed with AES-GCM-SIV (a quarter of Fernet's CPU: every access
token seals one; a repeated random nonce, unlike plain AES-GCM's, reveals no more than that
two values were equal). Values sealed with Fernet before stay readable.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# What a value sealed with AES-GCM-SIV begins with: "." never occurs in a Fernet token (URL-safe
# base64), so the two kinds are told apart without trying both.
_SIV_PREFIX = b"2."
_NONCE_BYTES = 12


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


def _siv(purpose: str, secret_key: str | None = None) -> AESGCMSIV:
    return _derived_siv(purpose, secret_key or current_app.config["SECRET_KEY"])


@functools.lru_cache(maxsize=32)
def _derived_siv(purpose: str, secret_key: str) -> AESGCMSIV:
    # Its own key, not Fernet's: one key is never used by two algorithms.
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"schul-idp/" + purpose.encode() + b"/aes-gcm-siv",
    ).derive(secret_key.encode())
    return AESGCMSIV(key)


def seal(purpose: str, plaintext: str, secret_key: str | None = None) -> bytes:
    """Encrypt and authenticate `plaintext` for `purpose` (URL-safe ASCII, like Fernet's)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _siv(purpose, secret_key).encrypt(nonce, plaintext.encode(), purpose.encode())
    return _SIV_PREFIX + base64.urlsafe_b64encode(nonce + sealed)


def unseal(purpose: str, token: bytes, secret_key: str | None = None) -> str:
    """Decrypt what `seal` produced for the same purpose (also Fernet values sealed before)."""
    token = bytes(token)
    try:
        if token.startswith(_SIV_PREFIX):
            raw = base64.urlsafe_b64decode(token[len(_SIV_PREFIX) :])
            nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return _siv(purpose, secret_key).decrypt(nonce, sealed, purpose.encode()).decode()
        return _fernet(purpose, secret_key).decrypt(token).decode()
    except (InvalidToken, InvalidTag, binascii.Error, ValueError):
        raise SecretUnreadable(purpose) from None
