"""Console: the audit trail within the admin's scope, filtered, as a page or CSV; and the
check of the hash chain (Land admins only: it reads every event)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true

from idp import audit, clock
from idp.console.access import admin, guard
from idp.extensions import db
from idp.models import AuditEvent, Organisation, Person

blueprint = Blueprint("console_audit", __name__, url_prefix="/verwaltung/protokoll")
guard(blueprint)
RIGHT = "audit.lesen"
PAGE = 100
CSV_LIMIT = 100_000


@dataclass(frozen=True)
class Filter:
    von: dt.date | None = None
    bis: dt.date | None = None
    aktion: str = ""
    wer: str = ""
    ziel: str = ""

    @classmethod
    def from_args(cls, args) -> Filter:
        return cls(
            _date(args.get("von")),
            _date(args.get("bis")),
            (args.get("aktion") or "")[:64].strip(),
            (args.get("wer") or "")[:100].strip(),
            (args.get("ziel") or "")[:100].strip(),
        )


@blueprint.before_request
def _readers_only() -> None:
    if not admin().scope.has(RIGHT):
        abort(403)


@blueprint.get("/")
def events() -> str:
    chosen = Filter.from_args(request.args)
    before = request.args.get("vor", type=int)
    query = _query(chosen).order_by(AuditEvent.id.desc()).limit(PAGE + 1)
    if before:
        query = query.where(AuditEvent.id < before)
    rows = list(db.session.scalars(query))
    more = len(rows) > PAGE
    return render_template(
        "console/audit.html",
        filter=chosen,
        events=rows[:PAGE],
        next_before=rows[PAGE - 1].id if more else None,
        land=admin().scope.is_land(RIGHT),
    )


@blueprint.get("/export.csv")
def export() -> Response:
    chosen = Filter.from_args(request.args)
    rows = db.session.scalars(_query(chosen).order_by(AuditEvent.id).limit(CSV_LIMIT))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["nr", "zeit", "wer", "aktion", "ziel", "details", "hash"])
    for event in rows:
        writer.writerow(
            [
                event.id,
                event.time.isoformat(),
                event.actor,
                event.action,
                event.target or "",
                event.details,
                event.hash,
            ]
        )
    audit.record(db.session, audit.Event(admin().actor, "protokoll.exportiert", None))
    db.session.commit()
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="protokoll.csv"'
    return response


@blueprint.post("/pruefen")
def check() -> str:
    if not admin().scope.is_land(RIGHT):
        abort(403)
    result = audit.verify(db.session)
    return render_template(
        "console/audit.html",
        filter=Filter(),
        events=[],
        next_before=None,
        land=True,
        verified=result,
    )


def _query(chosen: Filter) -> Select:
    query = select(AuditEvent).where(_in_scope())
    if chosen.von:
        query = query.where(AuditEvent.time >= _start_of(chosen.von))
    if chosen.bis:
        query = query.where(AuditEvent.time < _start_of(chosen.bis + dt.timedelta(days=1)))
    if chosen.aktion:
        query = query.where(AuditEvent.action.like(f"{_like(chosen.aktion)}%", escape="\\"))
    if chosen.wer:
        query = query.where(AuditEvent.actor.like(f"%{_like(chosen.wer)}%", escape="\\"))
    if chosen.ziel:
        query = query.where(AuditEvent.target == chosen.ziel)
    return query


def _in_scope() -> ColumnElement[bool]:
    """Events about organisations in reach, or about persons in reach (by username)."""
    scope = admin().scope
    if scope.is_land(RIGHT):
        return true()
    organisations = select(Organisation.id).where(scope.organisations(RIGHT))
    persons = exists().where(and_(Person.username == AuditEvent.target, scope.persons(RIGHT)))
    return or_(AuditEvent.organisation_id.in_(organisations), persons)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.STATE_TZ).astimezone(dt.UTC)


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
