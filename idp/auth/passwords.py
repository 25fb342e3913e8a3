"""Password hashing, the password rules and readable initial passwords.

Hashes are Argon2id with the configured parameters. Hashes of older schemes (bcrypt, PBKDF2,
e.g. from an imported directory) still verify and are replaced at the next successful login.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from flask_babel import gettext as _
from passlib.context import CryptContext

from idp.auth.common_passwords import is_common

# Readable: no 0/O, 1/l/I, 5/S, 2/Z, 8/B; upper and lower case plus digits.
INITIAL_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"
MAX_LENGTH = 128  # longer input is refused before hashing, so nobody can make us hash megabytes


@dataclass(frozen=True)
class HashParameters:
    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1

    @classmethod
    def from_config(cls, auth: dict) -> HashParameters:
        return cls(**auth["argon2"])


@cache
def context(params: HashParameters) -> CryptContext:
    """The hashing context: Argon2id for new hashes, older schemes only to verify."""
    return CryptContext(
        schemes=["argon2", "bcrypt", "pbkdf2_sha256", "pbkdf2_sha512"],
        deprecated=["bcrypt", "pbkdf2_sha256", "pbkdf2_sha512"],
        argon2__type="ID",
        argon2__memory_cost=params.memory_kib,
        argon2__rounds=params.time_cost,
        argon2__parallelism=params.parallelism,
    )


@cache
def _dummy_hash(params: HashParameters) -> str:
    return context(params).hash(secrets.token_urlsafe(16))


def hash_password(params: HashParameters, password: str) -> str:
    return context(params).hash(password)


def verify(params: HashParameters, password: str, stored: str | None) -> tuple[bool, str | None]:
    """Check `password`; returns (ok, new hash if the stored one should be replaced).

    Without a stored hash it checks against a dummy one, so an unknown user costs the same time
    as a wrong password.
    """
    if not stored or len(password) > MAX_LENGTH:
        context(params).verify(password[:MAX_LENGTH], _dummy_hash(params))
        return False, None
    try:
        return context(params).verify_and_update(password, stored)
    except ValueError:
        # An unreadable stored hash is treated like a wrong password, at the same cost.
        context(params).verify(password, _dummy_hash(params))
        return False, None


def generate_initial(length: int = 12) -> str:
    """A random password without look-alike characters, in groups of four for reading aloud."""
    chars = "".join(secrets.choice(INITIAL_ALPHABET) for _ in range(length))
    return "-".join(chars[i : i + 4] for i in range(0, length, 4))


def problems(password: str, *, min_length: int, personal: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with a new password, as German sentences; empty when it is fine."""
    found = []
    if len(password) < min_length:
        found.append(_("Das Passwort muss mindestens %(n)s Zeichen lang sein.", n=min_length))
    if len(password) > MAX_LENGTH:
        found.append(_("Das Passwort darf höchstens %(n)s Zeichen lang sein.", n=MAX_LENGTH))
    if is_common(password):
        found.append(_("Dieses Passwort ist zu verbreitet und leicht zu erraten."))
    lowered = password.casefold()
    if any(part and len(part) >= 3 and part.casefold() in lowered for part in personal):
        found.append(_("Das Passwort darf Ihren Namen oder Benutzernamen nicht enthalten."))
    return found
