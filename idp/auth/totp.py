"""Second factor: TOTP (RFC 6238) with pyotp, QR codes with segno, one-time recovery codes."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.auth.passwords import INITIAL_ALPHABET, HashParameters, context
from idp.clock import now
from idp.models import RecoveryCode, TotpCredential
from idp.secretbox import seal, unseal

PURPOSE = "totp"
RECOVERY_CODES = 10
RECOVERY_LENGTH = 12


def new_secret() -> str:
    """160 random bits, base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code, ready for an <img src>."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, title="QR-Code")


def seal_secret(secret: str) -> bytes:
    return seal(PURPOSE, secret)


def credential(session: Session, person_id: uuid.UUID) -> TotpCredential | None:
    """The person's confirmed TOTP credential, if any."""
    found = session.get(TotpCredential, person_id)
    return found if found is not None and found.confirmed_at is not None else None


def matching_step(secret: str, code: str, window: int, at: float | None = None) -> int | None:
    """The 30-second step whose code equals `code` (within `window` steps), else None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now().timestamp() if at is None else at)
    found = None
    for step in range(current - window, current + window + 1):
        # Every candidate is compared, so the time taken does not tell which one matched.
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            found = step
    return found


def verify_code(session: Session, cred: TotpCredential, code: str, window: int) -> bool:
    """Check a code against a stored credential; each code is accepted once only."""
    step = matching_step(unseal(PURPOSE, cred.secret_encrypted), code, window)
    if step is None or step <= cred.last_step:
        return False
    cred.last_step = step
    return True


def save_confirmed(session: Session, person_id: uuid.UUID, secret: str, step: int) -> None:
    """Store a newly confirmed secret, replacing any earlier one."""
    cred = session.get(TotpCredential, person_id)
    if cred is None:
        cred = TotpCredential(person_id=person_id)
        session.add(cred)
    cred.secret_encrypted = seal_secret(secret)
    cred.created_at = cred.confirmed_at = now()
    cred.last_step = step


def remove(session: Session, person_id: uuid.UUID) -> bool:
    """Remove the second factor and the recovery codes; True if there was one."""
    had = session.get(TotpCredential, person_id) is not None
    session.execute(delete(TotpCredential).where(TotpCredential.person_id == person_id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    return had


def new_recovery_codes(session: Session, params: HashParameters, person_id: uuid.UUID) -> list[str]:
    """Replace the person's recovery codes with ten new ones; the plain codes are returned once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    hasher = context(params)
    session.add_all(
        RecoveryCode(person_id=person_id, code_hash=hasher.hash(_normal(code))) for code in codes
    )
    return codes


def use_recovery_code(
    session: Session, params: HashParameters, person_id: uuid.UUID, code: str
) -> bool:
    """Accept an unused recovery code and mark it used."""
    given = _normal(code)
    if len(given) != RECOVERY_LENGTH:
        return False
    hasher = context(params)
    unused: Sequence[RecoveryCode] = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for row in unused:
        if hasher.verify(given, row.code_hash):
            row.used_at = now()
            return True
    return False


def unused_recovery_codes(session: Session, person_id: uuid.UUID) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def looks_like_recovery_code(code: str) -> bool:
    return len(_normal(code)) == RECOVERY_LENGTH


def _recovery_code() -> str:
    chars = "".join(secrets.choice(INITIAL_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(chars[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def _normal(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum())


def unseal_secret(sealed: str | bytes) -> str:
    return unseal(PURPOSE, sealed.encode() if isinstance(sealed, str) else sealed)
