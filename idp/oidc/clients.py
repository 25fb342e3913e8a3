"""Registered relying parties: registration, secrets (shown once, stored as SHA-256), lookup."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import OAuthClient
from idp.policy.loader import Policies

SIGNING_ALGS = ("ES256", "RS256")
# How long a process uses a client as it read it: a new secret, or the client's removal,
# takes effect in every running server within this time.
CLIENT_SECONDS = 5.0


class ClientProblem(ValueError):
    """A registration that cannot be accepted; the message says why in the user's language,
    naming the field as both the command line and the console know it."""


@dataclass(frozen=True)
class Registered:
    client: OAuthClient
    secret: str | None  # shown once; None for a public client


@dataclass(frozen=True)
class ClientSnapshot:
    """A registered client as the protocol endpoints read it: immutable, so a process can
    share it between requests. What a client may do stays OAuthClient's rules, borrowed."""

    client_id: str
    name: str
    service_code: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    backchannel_logout_uri: str | None
    initiate_login_uri: str | None
    id_token_signed_response_alg: str

    public = OAuthClient.public
    client_metadata = OAuthClient.client_metadata
    get_client_id = OAuthClient.get_client_id
    get_default_redirect_uri = OAuthClient.get_default_redirect_uri
    get_allowed_scope = OAuthClient.get_allowed_scope
    check_redirect_uri = OAuthClient.check_redirect_uri
    check_client_secret = OAuthClient.check_client_secret
    check_endpoint_auth_method = OAuthClient.check_endpoint_auth_method
    check_response_type = OAuthClient.check_response_type
    check_grant_type = OAuthClient.check_grant_type


_CLIENTS = OAuthClient.__table__
_SNAPSHOT = select(*(_CLIENTS.c[f.name] for f in fields(ClientSnapshot))).where(
    _CLIENTS.c.client_id == bindparam("client_id")
)


def secret_hash(secret: str) -> str:
    # Secrets are 256 random bits: a fast hash is enough, no password hashing needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: OAuthClient | ClientSnapshot, secret: str | None) -> bool:
    if client.secret_hash is None or not secret:
        return False
    return hmac.compare_digest(client.secret_hash, secret_hash(secret))


def check_uri(uri: str, what: str) -> str:
    """An absolute http(s) URI without fragment; plain http only for localhost. `what` names
    the field in the message."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise ClientProblem(
            _(
                "%(feld)s „%(uri)s“: muss eine absolute http(s)-Adresse ohne # sein",
                feld=what,
                uri=uri,
            )
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ClientProblem(
            _("%(feld)s „%(uri)s“: ohne https nur für 127.0.0.1/localhost", feld=what, uri=uri)
        )
    return uri


def register(
    session: Session,
    policies: Policies,
    *,
    name: str,
    service: str,
    redirect_uris: list[str],
    public: bool = False,
    backchannel_logout_uri: str | None = None,
    post_logout_redirect_uris: list[str] | None = None,
    initiate_login_uri: str | None = None,
    alg: str = "ES256",
) -> Registered:
    """Register a client of `service`; returns it with its secret (the only time it is seen)."""
    definition = policies.services.get(service)
    if definition is None:
        raise ClientProblem(_("Dienst „%(code)s“: kein Dienst mit diesem Code", code=service))
    if definition.protocol != "oidc":
        raise ClientProblem(
            _(
                "Dienst „%(code)s“: der Dienst nutzt %(protokoll)s, nicht OIDC",
                code=service,
                protokoll=definition.protocol,
            )
        )
    if not redirect_uris:
        raise ClientProblem(_("mindestens eine Redirect-URI angeben"))
    if alg not in SIGNING_ALGS:
        raise ClientProblem(
            _(
                "Signaturverfahren des ID-Tokens „%(alg)s“: erlaubt sind %(erlaubt)s",
                alg=alg,
                erlaubt=", ".join(SIGNING_ALGS),
            )
        )
    secret = None if public else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=secrets.token_urlsafe(18),
        name=name,
        service_code=service,
        secret_hash=secret_hash(secret) if secret else None,
        redirect_uris=[check_uri(u, _("Redirect-URI")) for u in redirect_uris],
        post_logout_redirect_uris=[
            check_uri(u, _("Adresse nach dem Abmelden")) for u in post_logout_redirect_uris or []
        ],
        backchannel_logout_uri=(
            check_uri(backchannel_logout_uri, _("Back-Channel-Logout-Adresse"))
            if backchannel_logout_uri
            else None
        ),
        initiate_login_uri=(
            check_uri(initiate_login_uri, _("Startadresse für die Kachel"))
            if initiate_login_uri
            else None
        ),
        id_token_signed_response_alg=alg,
    )
    session.add(client)
    session.flush()
    return Registered(client, secret)


def rotate_secret(session: Session, client: OAuthClient) -> str:
    """A new secret for a confidential client; the old one stops working within
    CLIENT_SECONDS (at once in this process)."""
    if client.public:
        raise ClientProblem(
            _("Client %(id)s: ein öffentlicher Client hat kein Geheimnis", id=client.client_id)
        )
    secret = secrets.token_urlsafe(32)
    client.secret_hash = secret_hash(secret)
    client.secret_changed_at = now()
    _snapshots().pop(client.client_id, None)
    return secret


def find(session: Session, client_id: str) -> OAuthClient | None:
    return session.get(OAuthClient, client_id)


def lookup(session: Session, client_id: str) -> ClientSnapshot | None:
    """The client for the protocol endpoints, read from the database at most every
    CLIENT_SECONDS per process (unknown ids every time)."""
    known = _snapshots()
    found = known.get(client_id)
    if found is not None and time.monotonic() - found[1] < CLIENT_SECONDS:
        return found[0]
    row = session.execute(_SNAPSHOT, {"client_id": client_id}).one_or_none()
    if row is None:
        known.pop(client_id, None)
        return None
    values = row._asdict()
    for name in ("redirect_uris", "post_logout_redirect_uris"):
        values[name] = tuple(values[name] or ())
    snapshot = ClientSnapshot(**values)
    known[client_id] = (snapshot, time.monotonic())
    return snapshot


def _snapshots() -> dict[str, tuple[ClientSnapshot, float]]:
    """Per app and process: the clients read, and when (monotonic)."""
    return current_app.extensions.setdefault("idp.oidc.clients", {})


def all_clients(session: Session) -> list[OAuthClient]:
    return list(session.scalars(select(OAuthClient).order_by(OAuthClient.name)).all())


def describe(client: OAuthClient) -> dict:
    """The client as operators see it (`idp clients list --json`); never the secret."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "service": client.service_code,
        "public": client.public,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "initiate_login_uri": client.initiate_login_uri,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "created_at": client.created_at.isoformat() if client.created_at else None,
    }


def set_redirect_uris(session: Session, client: OAuthClient, redirect_uris: list[str]) -> None:
    """Replace a client's redirect URIs (each checked as at registration)."""
    if not redirect_uris:
        raise ClientProblem(_("mindestens eine Redirect-URI angeben"))
    client.redirect_uris = [check_uri(u, _("Redirect-URI")) for u in redirect_uris]
    _snapshots().pop(client.client_id, None)
