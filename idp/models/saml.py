"""SAML 2.0: registered service providers, which of them a login signed in to, and the SAML
messages waiting for a login or a logout round trip (held server-side, named by a token)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.types import JSONType, UTCDateTime


class SamlServiceProvider(db.Model):
    """A SAML service provider, known by its metadata and tied to one service of the policy."""

    __tablename__ = "saml_service_provider"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    entity_id: Mapped[str] = mapped_column(String(1024), unique=True)
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # The SP's metadata as registered (one EntityDescriptor); the source of ACS, SLO and keys.
    metadata_xml: Mapped[str] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(String(2048))
    # The SP may be started from our start page (an unsolicited response).
    idp_initiated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Requests without a valid signature are refused (the metadata's AuthnRequestsSigned, or
    # the operator's choice).
    requests_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class SamlSession(db.Model):
    """A login signed in to a SAML SP: the NameID and SessionIndex it got, for single logout."""

    __tablename__ = "saml_session"

    login_session_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sp_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("saml_service_provider.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    name_id: Mapped[str] = mapped_column(String(256))
    name_id_format: Mapped[str] = mapped_column(String(128))
    session_index: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class SamlHold(db.Model):
    """A SAML message kept while the browser is away: an AuthnRequest waiting for a login, or
    a single logout going round the SPs. Found by the SHA-256 of a random token."""

    __tablename__ = "saml_hold"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
