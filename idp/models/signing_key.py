"""SigningKey: the keys we sign with (OIDC tokens, SAML messages), rotated without downtime."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.models.organisation import str_enum
from idp.models.types import JSONType, UTCDateTime


class SigningAlg(enum.StrEnum):
    ES256 = "ES256"
    RS256 = "RS256"
    # The SAML IdP's key: RSA with SHA-256, published as an X.509 certificate in our metadata.
    SAML = "SAML"


class KeyState(enum.StrEnum):
    """A key is published as `next`, signs as `active`, and only verifies as `retired`."""

    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


class SigningKey(db.Model):
    """One key pair; the private half sealed with the app's secret (idp.secretbox)."""

    __tablename__ = "signing_key"
    __table_args__ = (
        # At most one active and one next key per algorithm, even when two processes race.
        Index(
            "uq_signing_key_alg_state",
            "alg",
            "state",
            unique=True,
            sqlite_where=text("state != 'retired'"),
            postgresql_where=text("state != 'retired'"),
        ),
    )

    # The RFC 7638 thumbprint of the public key.
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[SigningAlg] = mapped_column(str_enum(SigningAlg, "signing_alg"))
    state: Mapped[KeyState] = mapped_column(str_enum(KeyState, "signing_key_state"))
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The public JWK as published: kty, key parameters, kid, alg, use.
    public_jwk: Mapped[dict] = mapped_column(JSONType)
    # SAML keys only: the self-signed certificate published in the SAML metadata (PEM).
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
