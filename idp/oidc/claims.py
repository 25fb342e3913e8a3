"""What a relying party learns: a pairwise `sub` and the claims its service may receive.

Every claim passes `idp.policy.entitlement.release` (policies/services.toml) and then the
scopes the client asked for: a claim is sent only if the policy allows it AND a granted scope
covers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from idp.policy.entitlement import PersonFacts, release

SCHULCONNEX = "urn:schulconnex:de"
# policy attribute -> (OIDC claim, scope that covers it)
CLAIMS = {
    "username": ("preferred_username", "profile"),
    "vorname": ("given_name", "profile"),
    "familienname": ("family_name", "profile"),
    "geburtsdatum": ("birthdate", "profile"),
    "mail": ("email", "email"),
    "mail_aliases": ("email_aliases", "email"),  # earlier addresses that still deliver
    "rollenart": (f"{SCHULCONNEX}:personenkontext:rolle", "schulconnex"),
    "rolle": (f"{SCHULCONNEX}:personenkontext:rollenbezeichnung", "schulconnex"),
    "organisation_kennung": (f"{SCHULCONNEX}:organisation:kennung", "schulconnex"),
    "organisation_name": (f"{SCHULCONNEX}:organisation:name", "schulconnex"),
    "klasse": (f"{SCHULCONNEX}:gruppe:klasse", "schulconnex"),
    "schulart": (f"{SCHULCONNEX}:organisation:schulart", "schulconnex"),
}
SCOPES = ("openid", "profile", "email", "schulconnex", "offline_access")


@cache
def _pairwise_key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"schul-idp/pairwise-sub"
    ).derive(secret_key.encode())


def pairwise_sub(secret_key: str, sector: str, person_id: uuid.UUID) -> str:
    """The person's id for one service (sector): stable, and unlinkable across services."""
    digest = hmac.new(
        _pairwise_key(secret_key), f"{sector}:{person_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def user_claims(policies, facts: PersonFacts, service: str, scopes: set[str]) -> dict:
    """The claims for `service` and the granted `scopes` (without `sub`)."""
    released = release(policies, facts, service)
    claims: dict[str, object] = {}
    for attribute, value in released.items():
        if value in (None, "", []):
            continue
        claim, scope = CLAIMS[attribute]
        if scope in scopes:
            claims[claim] = value
    if "given_name" in claims and "family_name" in claims:
        claims["name"] = f"{claims['given_name']} {claims['family_name']}"
    if "email" in claims:
        claims["email_verified"] = True  # the state issues these addresses itself
    return claims
