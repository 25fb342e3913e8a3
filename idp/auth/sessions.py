"""Server-side sessions: the cookie holds a random token, the database holds everything else.

Flask's `session` works as usual; it is stored as one `LoginSession` row. A session stays
anonymous (CSRF token, a login in progress, where to go afterwards) until `establish` ties it
to a person, with a new token, so a token known before the login is worthless after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence

from blinker import Namespace
from flask import Flask, Request, Response, current_app, request
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models import LoginSession, Person, PersonStatus

# Sent with the (login session id, person id) pairs of logins about to end (logout, "log out
# everywhere", an operator), in the transaction that ends them; OIDC tells the clients.
logins_ended = Namespace().signal("logins-ended")

# Touching last_seen_at on every request would write on every page view; once a minute is
# precise enough for an idle timeout counted in minutes.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


class ServerSession(CallbackDict, SessionMixin):
    """The session dict plus its row; `new_token` is set when the cookie must change."""

    def __init__(self, data: dict | None = None, record: LoginSession | None = None) -> None:
        def changed(_: CallbackDict) -> None:
            self.modified = True

        super().__init__(data or {}, changed)
        self.record = record
        self.modified = False
        self.new_token: str | None = None
        self.ended = False

    @property
    def person_id(self) -> uuid.UUID | None:
        return self.record.person_id if self.record is not None else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def timeouts() -> tuple[dt.timedelta, dt.timedelta]:
    settings = current_app.config["IDP"]["auth"]["session"]
    return (
        dt.timedelta(minutes=settings["idle_minutes"]),
        dt.timedelta(hours=settings["absolute_hours"]),
    )


def is_valid(record: LoginSession, at: dt.datetime) -> bool:
    idle, _ = timeouts()
    return record.expires_at > at and record.last_seen_at + idle > at


class DatabaseSessionInterface(SessionInterface):
    """Flask session interface storing sessions as `LoginSession` rows."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 100:
            return ServerSession()
        found = db.session.execute(
            select(LoginSession, Person.status)
            .outerjoin(Person, Person.id == LoginSession.person_id)
            .where(LoginSession.token_hash == token_hash(token))
        ).first()
        if found is None:
            return ServerSession()
        record, status = found
        # A locked or departed person's logins end at once, not at their timeout.
        if not is_valid(record, now()) or (
            record.person_id is not None and status != PersonStatus.AKTIV
        ):
            return ServerSession()
        return ServerSession(dict(record.data or {}), record)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        at = now()
        try:
            if session.ended:
                if session.record is not None:
                    db.session.delete(session.record)
                db.session.commit()
                response.delete_cookie(
                    name, path=self.get_cookie_path(app), domain=self.get_cookie_domain(app)
                )
                return
            if session.record is None:
                if not session.modified or not dict(session):
                    return  # nothing worth storing: no row, no cookie
                session.new_token = secrets.token_urlsafe(32)
                # A plain INSERT: every first visit of the login page comes through here.
                db.session.execute(
                    insert(LoginSession.__table__).values(
                        _new_values(session.new_token, None, dict(session), at)
                    )
                )
            else:
                if session.modified:
                    session.record.data = dict(session)
                if at - session.record.last_seen_at > TOUCH_INTERVAL:
                    session.record.last_seen_at = at
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if session.new_token is not None:
            response.set_cookie(
                name,
                session.new_token,
                httponly=True,
                secure=self.get_cookie_secure(app),
                samesite="Lax",
                path=self.get_cookie_path(app),
                domain=self.get_cookie_domain(app),
            )
        response.vary.add("Cookie")


def _new_values(token: str, person_id: uuid.UUID | None, data: dict, at: dt.datetime) -> dict:
    _, absolute = timeouts()
    return {
        "id": new_id(),
        "token_hash": token_hash(token),
        "person_id": person_id,
        "data": data,
        "created_at": at,
        "last_seen_at": at,
        "expires_at": at + absolute,
        "amr": [],
        "ip": request.remote_addr,
        "user_agent": (request.user_agent.string or "")[:255],
    }


def establish(session: ServerSession, person_id: uuid.UUID, amr: list[str]) -> LoginSession:
    """Make the session a login of `person_id` with a new token (also on re-authentication).

    The row keeps its id but gets a new token hash, so the token from before is dead at once.
    """
    at = now()
    session.new_token = secrets.token_urlsafe(32)
    # A CSRF token seen before the login is not carried into it.
    session.pop("csrf_token", None)
    values = _new_values(session.new_token, person_id, dict(session), at)
    record = session.record
    if record is None:
        record = LoginSession(**values)
        db.session.add(record)
    else:
        del values["id"]  # the row keeps its id; everything else is new
        for name, value in values.items():
            setattr(record, name, value)
    record.auth_time = at
    record.amr = sorted(set(amr))
    record.otp_time = at if "otp" in amr else None
    session.record = record
    session.modified = True
    return record


def end(session: ServerSession) -> None:
    """Log out this browser: the row goes, the cookie goes."""
    login = current_login(session)
    if login is not None:
        logins_ended.send(db.session, ended=[(login.id, login.person_id)])
    session.clear()
    session.ended = True


def current_login(session: ServerSession) -> LoginSession | None:
    """The login behind this request, or None for an anonymous visitor."""
    record = getattr(session, "record", None)
    return record if record is not None and record.person_id is not None else None


def sessions_of(db_session: Session, person_id: uuid.UUID) -> Sequence[LoginSession]:
    """The person's sessions that are still valid, newest first."""
    at = now()
    rows = db_session.scalars(
        select(LoginSession)
        .where(LoginSession.person_id == person_id)
        .order_by(LoginSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if is_valid(row, at)]


def end_other(db_session: Session, person_id: uuid.UUID, keep: uuid.UUID | None = None) -> int:
    """End all sessions of the person except `keep` ("log out everywhere")."""
    condition = LoginSession.person_id == person_id
    if keep is not None:
        condition = condition & (LoginSession.id != keep)
    return _end_where(db_session, condition)


def end_one(db_session: Session, person_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one of the person's own sessions; False if it is not theirs."""
    return bool(
        _end_where(
            db_session, (LoginSession.person_id == person_id) & (LoginSession.id == session_id)
        )
    )


def end_everyone(db_session: Session) -> int:
    """End every login of every person (anonymous sessions stay)."""
    return _end_where(db_session, LoginSession.person_id.is_not(None))


def end_logins(db_session: Session, login_ids: list[uuid.UUID]) -> int:
    """End these logins wherever they are (a single logout that a service started)."""
    return _end_where(db_session, LoginSession.id.in_(login_ids)) if login_ids else 0


def _end_where(db_session: Session, condition) -> int:
    ended = [
        (row.id, row.person_id)
        for row in db_session.execute(
            select(LoginSession.id, LoginSession.person_id).where(condition)
        )
    ]
    if not ended:
        return 0
    logins_ended.send(db_session, ended=ended)
    ids = [login_id for login_id, _ in ended]
    for start in range(0, len(ids), 500):
        db_session.execute(
            delete(LoginSession).where(LoginSession.id.in_(ids[start : start + 500]))
        )
    return len(ended)


def purge(db_session: Session) -> int:
    """Delete expired sessions (idle ones are caught by the absolute limit at the latest)."""
    idle, _ = timeouts()
    at = now()
    result = db_session.execute(
        delete(LoginSession).where(
            (LoginSession.expires_at < at) | (LoginSession.last_seen_at < at - idle)
        )
    )
    return result.rowcount or 0
