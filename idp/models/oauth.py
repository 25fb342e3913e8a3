"""OAuth 2.0 / OpenID Connect: registered clients, authorization codes, refresh tokens,
revocations and back-channel logout deliveries.

Codes and refresh tokens are stored only as SHA-256 hashes: they are random and long, so a
fast hash suffices, and a stolen database does not hand out working tokens. Access tokens are
signed JWTs and not stored; revoking one records its `jti`, revoking a whole refresh-token
family records the family.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models.types import JSONType, UTCDateTime


class OAuthClient(db.Model):
    """A relying party: one application of one service (several clients may share a service)."""

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code", ondelete="CASCADE"))
    # SHA-256 of the secret; None for a public client (PKCE only).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    redirect_uris: Mapped[list] = mapped_column(JSONType, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSONType, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(1000))
    initiate_login_uri: Mapped[str | None] = mapped_column(String(1000))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="ES256")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    secret_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    @property
    def client_metadata(self) -> dict:
        """Registered metadata, as Authlib's RP-initiated logout reads it."""
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    # What Authlib asks a client (authlib.oauth2.rfc6749.ClientMixin).
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only a client with exactly one redirect URI may leave it out of the request.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        from idp.oidc.claims import SCOPES

        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, character for character

    def check_client_secret(self, client_secret: str) -> bool:
        from idp.oidc.clients import secret_matches

        return secret_matches(self, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        allowed = {"authorization_code", "refresh_token"}
        if not self.public:
            allowed.add("client_credentials")
        return grant_type in allowed


class AuthorizationCode(db.Model):
    """A code handed to the browser; exchanged once, within a minute."""

    __tablename__ = "authorization_code"
    # Every authorization request with a nonce asks whether it was used before (replay).
    __table_args__ = (Index("ix_authorization_code_client_nonce", "client_id", "nonce"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    login_session_id: Mapped[uuid.UUID | None] = mapped_column()
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    scope: Mapped[str] = mapped_column(String(1000), default="")
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list] = mapped_column(JSONType, default=list)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    # Set when exchanged; a second exchange revokes what the first one got (RFC 6749 4.1.2).
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    family_id: Mapped[uuid.UUID | None] = mapped_column()

    # What Authlib asks a code (authlib.oidc.core.AuthorizationCodeMixin).
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list:
        return list(self.amr or [])


class RefreshToken(db.Model):
    """One refresh token of a family; each use replaces it by a new one of the same family."""

    __tablename__ = "refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    login_session_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(String(1000), default="")
    auth_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list] = mapped_column(JSONType, default=list)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # What Authlib asks a token (authlib.oauth2.rfc6749.TokenMixin).
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - now()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= now()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.used_at is not None


class RevokedToken(db.Model):
    """An access token (by `jti`) or a whole token family revoked before it expired."""

    __tablename__ = "revoked_token"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # jti or family id
    kind: Mapped[str] = mapped_column(String(10))  # "jti" or "family"
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ClientSession(db.Model):
    """Which clients a login session signed in to: they hear of its end (back-channel logout)."""

    __tablename__ = "client_session"

    login_session_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_client.client_id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class LogoutDelivery(db.Model):
    """A back-channel logout token to POST to a client, retried until it is accepted."""

    __tablename__ = "logout_delivery"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    logout_token: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now, index=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    given_up: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
