"""Server-side sessions: the cookie holds a random token, the database holds everything else.

Flask's `session` works as usual; it is stored as one `LoginSession` row. A session stays
anonymous (CSRF token, a login in progress, where to go afterwards) until `establish` ties it
to a person, with a new token, so a token known before the login is worthless after it.

One exception: a session holding nothing but its CSRF token (a first visit of the login page)
is kept in the cookie itself, signed with the app's secret and carrying its own idle and
absolute times, so not every visitor of the login page costs a database row. It grants
nothing: the form token printed in the page already contains the same CSRF value, and the
moment anything else is stored (a login, its next step, where to go afterwards) the session
becomes a row with a new random token, as above.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from blinker import Namespace
from flask import Flask, Request, Response, request
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict
from werkzeug.http import dump_cookie

from idp.auth.settings import auth_settings
from idp.clock import now
from idp.extensions import db
from idp.ids import new_id
from idp.models import LoginSession, Person, PersonStatus
from idp.prepared import Prepared

# Sent with the (login session id, person id) pairs of logins about to end (logout, "log out
# everywhere", an operator), in the transaction that ends them; OIDC tells the clients.
logins_ended = Namespace().signal("logins-ended")

# Touching last_seen_at on every request would write on every page view; once a minute is
# precise enough for an idle timeout counted in minutes.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
TOUCH_SECONDS = TOUCH_INTERVAL.total_seconds()


class ServerSession(CallbackDict, SessionMixin):
    """The session dict plus its row; `new_token` is set when the cookie must change."""

    def __init__(
        self,
        data: dict | None = None,
        record: SessionRow | None = None,
        signed: tuple[int, int] | None = None,
    ) -> None:
        def changed(_: CallbackDict) -> None:
            self.modified = True

        super().__init__(data or {}, changed)
        self.record = record
        # (created, last seen) in epoch seconds, for a session read from a signed cookie
        self.signed = signed
        self.modified = False
        self.new_token: str | None = None
        self.ended = False

    @property
    def person_id(self) -> uuid.UUID | None:
        return self.record.person_id if self.record is not None else None


@dataclass(frozen=True)
class SessionRow:
    """What a request knows of its `LoginSession` row: read once, never tracked by the ORM.

    Frozen, so nobody changes it expecting the change to be saved: `establish` and
    `save_session` write through the prebuilt statements below.
    """

    id: uuid.UUID
    person_id: uuid.UUID | None
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    auth_time: dt.datetime | None
    amr: list[str]
    otp_time: dt.datetime | None


# Built once: every request with a session cookie reads its row, every login writes one, and
# building a statement costs more than running it. Core, not ORM: no object to load or flush,
# and run on the session's connection, past the ORM session's execution layers.
_TABLE = LoginSession.__table__
_PERSON = Person.__table__
_ROW = bindparam("row_id", type_=_TABLE.c.id.type)
_OPEN = Prepared(
    select(
        _TABLE.c.id,
        _TABLE.c.person_id,
        _TABLE.c.last_seen_at,
        _TABLE.c.expires_at,
        _TABLE.c.auth_time,
        _TABLE.c.amr,
        _TABLE.c.otp_time,
        _TABLE.c.data,
        _PERSON.c.status,
    )
    .select_from(_TABLE.outerjoin(_PERSON, _PERSON.c.id == _TABLE.c.person_id))
    .where(_TABLE.c.token_hash == bindparam("token_hash", type_=_TABLE.c.token_hash.type))
)
_INSERT = Prepared(insert(_TABLE))
_SAVE = Prepared(
    update(_TABLE)
    .where(_TABLE.c.id == _ROW)
    .values(data=bindparam("new_data"), last_seen_at=bindparam("seen"))
)
_TOUCH = Prepared(update(_TABLE).where(_TABLE.c.id == _ROW).values(last_seen_at=bindparam("seen")))
# A login: everything but the id is new (the columns are those of `_new_values`).
_ESTABLISH = Prepared(
    update(_TABLE)
    .where(_TABLE.c.id == _ROW)
    .values(
        {
            column: bindparam(f"new_{column}")
            for column in (
                "token_hash",
                "person_id",
                "data",
                "created_at",
                "last_seen_at",
                "expires_at",
                "auth_time",
                "amr",
                "otp_time",
                "ip",
                "user_agent",
            )
        }
    )
)
_DELETE = Prepared(delete(_TABLE).where(_TABLE.c.id == _ROW))


# Marks a cookie holding a signed CSRF-only session; a database token never contains a dot.
SIGNED = "a."
# What our cookie values consist of (URL-safe base64, dots): nothing werkzeug would quote.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.-]+")
_COOKIE_SLOT = "cookie-value-goes-here"
_SIGNED_KEYS = frozenset({"csrf_token"})


class _CookieSigner:
    """Signs "token.created.seen" (times in whole epoch seconds) with itsdangerous' HMAC-SHA256
    signer. Three short fields need nothing of its serializers (JSON, zlib, an object per
    call), and every first visitor of the login page is signed once and checked once."""

    def __init__(self, secret: str, salt: str) -> None:
        self._signer = Signer(secret, salt=salt, digest_method=hashlib.sha256)

    def dumps(self, token: str, created: int, seen: int) -> str:
        if "." in token:
            raise ValueError("a CSRF token with a dot cannot be signed in this format")
        return self._signer.sign(f"{token}.{created}.{seen}").decode()

    def loads(self, value: str) -> tuple[str, int, int] | None:
        """The fields, or None if the signature does not hold (or they are malformed)."""
        try:
            payload = self._signer.unsign(value).decode()
        except BadSignature:
            return None
        token, created, seen = payload.split(".")
        return token, int(created), int(seen)


def _signer(app: Flask) -> _CookieSigner:
    found = app.extensions.get("idp.signed_sessions")
    if found is None:
        found = app.extensions["idp.signed_sessions"] = _CookieSigner(
            app.config["SECRET_KEY"], "idp.anonymous-session"
        )
    return found


# app.extensions key: paths whose requests never read or write a session (see `without_session`).
SESSIONLESS = "idp.sessionless_paths"


def without_session(app: Flask, *paths: str) -> None:
    """Requests to `paths` neither read nor write a session: API endpoints whose callers
    authenticate with their own credentials or a bearer token, never with a browser's login."""
    app.extensions.setdefault(SESSIONLESS, set()).update(paths)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def timeouts() -> tuple[dt.timedelta, dt.timedelta]:
    settings = auth_settings()
    return settings.session_idle, settings.session_absolute


def is_valid(record: SessionRow | LoginSession, at: dt.datetime) -> bool:
    idle, _ = timeouts()
    return record.expires_at > at and record.last_seen_at + idle > at


class DatabaseSessionInterface(SessionInterface):
    """Flask session interface storing sessions as `LoginSession` rows."""

    def open_session(self, app: Flask, request: Request) -> ServerSession | None:
        if request.path in app.extensions.get(SESSIONLESS, ()):
            return None  # Flask's null session: nothing read, nothing saved, no cookie
        token = request.cookies.get(self.get_cookie_name(app))
        if not token:
            return ServerSession()
        if token.startswith(SIGNED):
            return _open_signed(app, token[len(SIGNED) :])
        if len(token) > 100:
            return ServerSession()
        found = _OPEN.run(db.session.connection(), {"token_hash": token_hash(token)}).first()
        if found is None:
            return ServerSession()
        *fields, data, status = found
        record = SessionRow(*fields)
        # A locked or departed person's logins end at once, not at their timeout.
        if not is_valid(record, now()) or (
            record.person_id is not None and status != PersonStatus.AKTIV
        ):
            return ServerSession()
        return ServerSession(dict(data or {}), record)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        at = now()
        record = session.record
        try:
            if session.ended:
                if record is not None:
                    _DELETE.run(db.session.connection(), {"row_id": record.id})
                db.session.commit()
                self._delete_cookie(app, response)
                return
            if record is None:
                data = dict(session)
                if data.keys() <= _SIGNED_KEYS:
                    self._save_signed(app, session, data, response, at)
                    return
                session.new_token = secrets.token_urlsafe(32)
                values = _new_values(session.new_token, None, data, at)
                _INSERT.run(db.session.connection(), values)
            elif session.modified:
                values = {"row_id": record.id, "new_data": dict(session), "seen": at}
                _SAVE.run(db.session.connection(), values)
            elif at - record.last_seen_at > TOUCH_INTERVAL:
                _TOUCH.run(db.session.connection(), {"row_id": record.id, "seen": at})
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if session.new_token is not None:
            self._set_cookie(app, response, session.new_token)
        _vary_on_cookie(response)

    def _save_signed(
        self, app: Flask, session: ServerSession, data: dict, response: Response, at: dt.datetime
    ) -> None:
        if session.signed is None and not data:
            return  # nothing worth storing: no row, no cookie
        if session.signed is not None:
            # As a request with a session row would have: what the view did is committed.
            db.session.commit()
        _vary_on_cookie(response)
        if not data:
            self._delete_cookie(app, response)
            return
        stamp = int(at.timestamp())
        created, seen = session.signed or (stamp, stamp)
        if session.modified or session.signed is None or stamp - seen > TOUCH_SECONDS:
            value = _signer(app).dumps(data["csrf_token"], created, stamp)
            self._set_cookie(app, response, SIGNED + value)

    def _set_cookie(self, app: Flask, response: Response, value: str) -> None:
        if not _PLAIN_VALUE.fullmatch(value):  # never for our tokens; quoted by werkzeug
            response.set_cookie(value=value, **self._cookie_settings(app))
            return
        template = app.extensions.get("idp.session_cookie")
        if template is None:
            # The header as werkzeug writes it, once: only the value differs per response.
            template = app.extensions["idp.session_cookie"] = dump_cookie(
                value=_COOKIE_SLOT, **self._cookie_settings(app)
            )
        response.headers.add("Set-Cookie", template.replace(_COOKIE_SLOT, value, 1))

    def _cookie_settings(self, app: Flask) -> dict:
        return {
            "key": self.get_cookie_name(app),
            "httponly": True,
            "secure": self.get_cookie_secure(app),
            "samesite": "Lax",
            "path": self.get_cookie_path(app),
            "domain": self.get_cookie_domain(app),
        }

    def _delete_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            self.get_cookie_name(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
        )


def _vary_on_cookie(response: Response) -> None:
    """`Vary: Cookie`, written directly when the response has no Vary yet (the usual case):
    `response.vary` builds a parsed header set with an update callback for one word."""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers["Vary"] = "Cookie"


def _open_signed(app: Flask, value: str) -> ServerSession:
    """A CSRF-only session from its signed cookie, if the signature and its times hold."""
    if len(value) > 300:
        return ServerSession()
    try:
        fields = _signer(app).loads(value)
    except ValueError:  # signed, but not three fields of this format
        return ServerSession()
    if fields is None:
        return ServerSession()
    csrf, created, seen = fields
    idle, absolute = timeouts()
    at = now().timestamp()
    if created + absolute.total_seconds() <= at or seen + idle.total_seconds() <= at:
        return ServerSession()
    return ServerSession({"csrf_token": csrf}, signed=(created, seen))


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
        "auth_time": None,
        "amr": [],
        "otp_time": None,
        "ip": request.remote_addr,
        # The header itself: request.user_agent would build a parser object for it.
        "user_agent": request.headers.get("User-Agent", "")[:255],
    }


def establish(session: ServerSession, person_id: uuid.UUID, amr: list[str]) -> SessionRow:
    """Make the session a login of `person_id` with a new token (also on re-authentication).

    The row keeps its id but gets a new token hash, so the token from before is dead at once.
    Written at once, in the request's transaction; saving the session commits it.
    """
    at = now()
    session.new_token = secrets.token_urlsafe(32)
    # A CSRF token seen before the login is not carried into it.
    session.pop("csrf_token", None)
    values = _new_values(session.new_token, person_id, dict(session), at)
    methods = sorted(set(amr))
    values.update(auth_time=at, amr=methods, otp_time=at if "otp" in methods else None)
    connection = db.session.connection()
    if session.record is None:
        _INSERT.run(connection, values)
    else:
        values["id"] = session.record.id  # the row keeps its id; everything else is new
        changes = {f"new_{name}": value for name, value in values.items() if name != "id"}
        _ESTABLISH.run(connection, {"row_id": values["id"], **changes})
    session.record = SessionRow(
        values["id"],
        person_id,
        at,
        values["expires_at"],
        at,
        methods,
        values["otp_time"],
    )
    session.modified = False  # the data just written is the session's
    return session.record


def end(session: ServerSession) -> None:
    """Log out this browser: the row goes, the cookie goes."""
    login = current_login(session)
    if login is not None:
        logins_ended.send(db.session, ended=[(login.id, login.person_id)])
    session.clear()
    session.ended = True


def current_login(session: ServerSession) -> SessionRow | None:
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
