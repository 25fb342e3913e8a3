"""Logout: RP-initiated (OpenID Connect RP-Initiated Logout 1.0) and back-channel (OpenID
Connect Back-Channel Logout 1.0).

When a login ends, every client it signed in to that registered a back-channel logout URI
gets a signed logout token. Deliveries are queued in the transaction that ends the login and
sent right after it commits; a client that is down gets it again later (`idp oidc
deliver-logouts`, run every minute), with growing waits, for a day.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Iterable

import requests
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import Flask, g
from flask import session as browser_session
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.auth.sessions import end, logins_ended
from idp.clock import now
from idp.models import ClientSession, LogoutDelivery, OAuthClient
from idp.oidc import keys
from idp.oidc.claims import pairwise_sub
from idp.oidc.settings import OidcSettings, oidc_settings

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_SECONDS = 120
DELIVERY_TIMEOUT = 3.0
# Waits between attempts: 1 min, 2, 4, ... up to an hour; after a day the delivery gives up.
MAX_WAIT = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=1)


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: Authlib validates; we end the login (and tell the other clients)."""

    def get_server_jwks(self):
        from idp.extensions import db

        return keys.jwks(db.session)

    def get_algorithms(self) -> list[str]:
        return ["ES256", "RS256"]

    def end_session(self, end_session_request) -> None:
        end(browser_session)  # type: ignore[arg-type]


def logout_token(
    session: Session, settings: OidcSettings, client: OAuthClient, person_id, sid
) -> str:
    issued = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": client.client_id,
        "iat": issued,
        "exp": issued + LOGOUT_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "sub": pairwise_sub(settings.secret_key, client.service_code, person_id),
        "sid": str(sid),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    alg = client.id_token_signed_response_alg
    return keys.sign(session, alg, "logout+jwt", claims)


def queue_logouts(
    session: Session, settings: OidcSettings, ended: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> list[uuid.UUID]:
    """Queue a logout token for every client the ended logins signed in to."""
    ended = list(ended)
    login_ids = [login_id for login_id, _ in ended]
    if not login_ids:
        return []
    rows = session.execute(
        select(ClientSession, OAuthClient)
        .join(OAuthClient, OAuthClient.client_id == ClientSession.client_id)
        .where(ClientSession.login_session_id.in_(login_ids))
    ).all()
    queued = []
    for link, client in rows:
        if client.backchannel_logout_uri:
            delivery = LogoutDelivery(
                id=uuid.uuid4(),
                client_id=client.client_id,
                logout_token=logout_token(
                    session, settings, client, link.person_id, link.login_session_id
                ),
            )
            session.add(delivery)
            queued.append(delivery.id)
    session.execute(delete(ClientSession).where(ClientSession.login_session_id.in_(login_ids)))
    return queued


def deliver_due(session: Session, only: Iterable[uuid.UUID] | None = None) -> tuple[int, int]:
    """POST due logout tokens; returns (delivered, failed). Commits each result."""
    at = now()
    query = (
        select(LogoutDelivery, OAuthClient.backchannel_logout_uri)
        .join(OAuthClient, OAuthClient.client_id == LogoutDelivery.client_id)
        .where(
            LogoutDelivery.delivered_at.is_(None),
            LogoutDelivery.given_up.is_(False),
            LogoutDelivery.not_before <= at,
        )
        .order_by(LogoutDelivery.not_before)
    )
    if only is not None:
        query = query.where(LogoutDelivery.id.in_(list(only)))
    delivered = failed = 0
    for delivery, uri in session.execute(query).all():
        error = _post(uri, delivery.logout_token)
        delivery.attempts += 1
        if error is None:
            delivery.delivered_at = now()
            delivered += 1
        else:
            failed += 1
            delivery.last_error = error[:500]
            wait = min(dt.timedelta(minutes=2 ** (delivery.attempts - 1)), MAX_WAIT)
            delivery.not_before = now() + wait
            delivery.given_up = now() - delivery.created_at > GIVE_UP_AFTER
        session.commit()
    return delivered, failed


def _post(uri: str | None, token: str) -> str | None:
    """Deliver one logout token; None on success, else what went wrong."""
    if not uri:
        return "keine Back-Channel-Logout-Adresse"
    try:
        response = requests.post(
            uri,
            data={"logout_token": token},
            timeout=DELIVERY_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code not in (200, 204):
        return f"HTTP {response.status_code}"
    return None


def _queue(db_session: Session, ended) -> None:
    queued = queue_logouts(db_session, oidc_settings(), ended)
    if queued:
        g.idp_logouts = [*g.get("idp_logouts", []), *queued]


def init_app(app: Flask) -> None:
    """Queue back-channel logouts whenever logins end; send them once the request committed."""
    logins_ended.connect(_queue)

    @app.teardown_request
    def _send_logouts(error: BaseException | None) -> None:
        queued = g.pop("idp_logouts", None)
        if queued and error is None:
            from idp.extensions import db

            deliver_due(db.session, only=queued)
