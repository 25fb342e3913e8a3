"""Import runs from start to end: read a source, plan, apply, and record the run.

The CLI (and later the console) call these; each returns what happened as data.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from idp.audit import GENESIS
from idp.clock import now, today
from idp.config import LDAP_PASSWORD_ENV, Config
from idp.imports import plan as p
from idp.imports.applier import BreakerTripped, StalePlan, apply_plan
from idp.imports.digests import RowDigests
from idp.imports.planner import PlanSettings, make_plan
from idp.imports.problems import ImportRejected, Problem
from idp.imports.records import SourceData
from idp.imports.sources.personal import SPECS as PERSONAL_SPECS
from idp.imports.sources.personal import read_personal
from idp.imports.sources.sip import SPECS as SIP_SPECS
from idp.imports.sources.sip import read_sip
from idp.imports.state import load_state
from idp.models import AuditEvent, AuditHead, ImportRun
from idp.policy.loader import Policies

SOURCES = ("sip", "personal", "ldap")
# The files of the file-based sources (for the unchanged-export shortcut).
FILE_SOURCES = {
    "sip": [spec.name for spec in SIP_SPECS],
    "personal": [spec.name for spec in PERSONAL_SPECS],
}

# Exit codes of the import commands.
DONE, INVALID, BREAKER, STALE = 0, 1, 2, 3


@dataclass
class Outcome:
    code: int
    outcome: str
    message: str = ""
    plan: p.Plan | None = None
    problems: list[Problem] = field(default_factory=list)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run without Python's cyclic garbage collector (also usable as a decorator).

    Reading, planning and applying build millions of small objects (rows, records, ids) that
    hold no reference cycles and live until the step ends; as they pile up, the collector
    walks all of them again and again for nothing (measured: half the time of a plan).
    Reference counting still frees everything that is dropped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_source(
    source: str,
    path: str | None,
    config: Config,
    env: dict[str, str],
    digests: RowDigests | None = None,
) -> tuple[SourceData, list[Problem]]:
    """Read one source's export (a folder for sip/personal; the configured directory for ldap).

    With `digests`, SIP-Schule persons whose rows are as at the last import are only counted.
    """
    settings = config["import"]
    land = (config["land"]["kennung"], config["land"]["name"])
    if source == "sip":
        return read_sip(Path(path or "."), settings["sip"]["columns"], land, digests)
    if source == "personal":
        return read_personal(Path(path or "."), settings["personal"]["columns"], land)
    if source == "ldap":
        return _read_ldap(settings["ldap"], env), []
    raise ValueError(f"unknown source {source!r}")


def _read_ldap(table: dict, env: dict[str, str]) -> SourceData:
    from idp.imports.sources.ldap import LdapSettings, read_ldap

    if not table["url"]:
        raise ImportRejected(
            [Problem("config", None, "import.ldap.url", "no LDAP directory configured")]
        )
    password = env.get(LDAP_PASSWORD_ENV, "")
    if not password and table["bind_password_file"]:
        try:
            password = Path(table["bind_password_file"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImportRejected(
                [
                    Problem(
                        "config",
                        None,
                        "import.ldap.bind_password_file",
                        f"cannot read: {exc.strerror}",
                    )
                ]
            ) from None
    try:
        settings = LdapSettings.from_config(table, password)
    except ValueError as exc:
        raise ImportRejected([Problem("config", None, None, str(exc))]) from None
    return read_ldap(settings, table["name"])


@collector_paused()
def plan_source(
    session: Session,
    policies: Policies,
    config: Config,
    source: str,
    path: str | None,
    *,
    max_errors: int | None = None,
    allow_mass_end: bool = False,
    on: dt.date | None = None,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Read and plan; validation errors beyond `max_errors` reject the whole import."""
    settings = config["import"]
    limit = settings["max_errors"] if max_errors is None else max_errors
    fingerprint = settings_hash(config, source)
    unchanged = _same_as_last_run(session, source, path, fingerprint)
    if unchanged is not None:
        return Outcome(
            DONE,
            "planned",
            "same files and settings as the last run, and the database unchanged since",
            plan=unchanged,
        )
    # The stored hashes are needed while reading (LDAP names its source only once read).
    state = load_state(session, source) if source in FILE_SOURCES else None
    digests = RowDigests(state.hashes, policies_hash(config)) if state else None
    try:
        data, problems = read_source(source, path, config, env or {}, digests)
    except ImportRejected as rejected:
        return Outcome(INVALID, "rejected", "the export cannot be read", problems=rejected.problems)
    plan = make_plan(
        session,
        policies,
        data,
        PlanSettings(
            mail_domain=config["mail"]["domain"],
            school_share=float(settings["breaker_school_share"]),
            source_share=float(settings["breaker_source_share"]),
            allow_mass_end=allow_mass_end,
        ),
        path=str(path or ""),
        problems=problems,
        settings_hash=fingerprint,
        on=on,
        state=state,
    )
    if len(plan.problems) > limit:
        return Outcome(
            INVALID,
            "rejected",
            f"{len(plan.problems)} bad rows (at most {limit} may be skipped)",
            plan=plan,
            problems=plan.problems,
        )
    if plan.breaker.tripped and not allow_mass_end:
        return Outcome(
            BREAKER, "breaker", plan.breaker.message(), plan=plan, problems=plan.problems
        )
    return Outcome(DONE, "planned", plan=plan, problems=plan.problems)


@collector_paused()
def apply(
    session: Session, plan: p.Plan, actor: str, progress: Callable[[str, int], None] | None = None
) -> Outcome:
    """Apply a plan in one transaction; a stale plan or a tripped breaker changes nothing."""
    if plan.is_empty:
        return Outcome(DONE, "nothing_to_do", "nothing to do", plan=plan, problems=plan.problems)
    try:
        apply_plan(session, plan, actor, progress)
    except StalePlan as exc:
        session.rollback()
        return Outcome(STALE, "stale", str(exc), plan=plan, problems=plan.problems)
    except BreakerTripped as exc:
        session.rollback()
        return Outcome(BREAKER, "breaker", str(exc), plan=plan, problems=plan.problems)
    return Outcome(DONE, "applied", plan=plan, problems=plan.problems)


def record_run(
    session: Session, source: str, actor: str, started: dt.datetime, outcome: Outcome
) -> ImportRun:
    """Write the run's trace in the same transaction as its changes (or alone, if none)."""
    plan = outcome.plan
    run = ImportRun(
        source=plan.source if plan else source,
        actor=actor,
        started_at=started,
        finished_at=now(),
        files=plan.files if plan else {},
        summary=plan.summary if plan else {},
        outcome=outcome.outcome,
        message=outcome.message or None,
        settings_hash=plan.settings_hash if plan else None,
        db_state_after=_audit_head(session),
    )
    session.add(run)
    return run


def settings_hash(config: Config, source: str) -> str:
    """Everything besides the files that decides what a plan says: config and policies."""
    data = {
        "import": config["import"].get(source, {}),
        "land": config["land"],
        "mail": config["mail"],
        "policies": _policy_hashes(config),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def policies_hash(config: Config) -> str:
    """The policy files' contents: whether a person's rows are valid depends on them (roles),
    not on the rest of the settings (a row's hash covers the values its mapping picked)."""
    return hashlib.sha256(json.dumps(_policy_hashes(config), sort_keys=True).encode()).hexdigest()


def _policy_hashes(config: Config) -> dict[str, str]:
    policy_files = sorted(config.policies_dir.glob("*.toml"))
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in policy_files}


def _same_as_last_run(
    session: Session, source: str, path: str | None, fingerprint: str
) -> p.Plan | None:
    """An empty plan if the export's files, the settings and the database are all as they
    were after the last complete run of this source (nothing to read, nothing would change)."""
    names = FILE_SOURCES.get(source)
    if names is None or path is None:
        return None
    last = session.scalars(
        select(ImportRun)
        .where(ImportRun.source == source, ImportRun.outcome.in_(("applied", "nothing_to_do")))
        .order_by(ImportRun.started_at.desc())
        .limit(1)
    ).first()
    if last is None or last.settings_hash != fingerprint or not last.files:
        return None
    if not last.db_state_after or _changed_for(session, source, last.db_state_after):
        return None
    for name in names:
        file = Path(path) / name
        if not file.is_file() or last.files.get(name, {}).get("sha256") != _sha256(file):
            return None
    return p.Plan(
        source=source,
        path=str(path),
        created_at=now().isoformat(),
        on=today().isoformat(),
        db_state=_audit_head(session),
        files=last.files,
        scope=[],
        changes=p.Changes(),
        settings_hash=fingerprint,
    )


def _changed_for(session: Session, source: str, state_after: list) -> bool:
    """Whether anything this source's plan depends on changed since `state_after`.

    Every change writes an audit event. Changes by another import source to its own persons,
    contexts and links cannot change this source's plan; anything else can: organisations,
    this source's data, console edits, retention, decisions on matches.
    """
    last_id, last_hash = state_after
    row = session.get(AuditEvent, last_id) if last_id else None
    if last_id and (row is None or row.hash != last_hash):
        return True  # the trail was rewritten: trust nothing
    relevant = session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.id > last_id,
            or_(
                AuditEvent.action.like("organisation.%"),
                AuditEvent.action.like("import.%"),
                AuditEvent.details.not_like('%"quelle":"%'),
                AuditEvent.details.like(f'%"quelle":"{source}"%'),
            ),
        )
    )
    return bool(relevant)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _audit_head(session: Session) -> list:
    head = session.get(AuditHead, 1)
    return [head.last_id, head.last_hash] if head else [0, GENESIS]


def history(session: Session, limit: int = 20) -> list[dict]:
    runs = session.scalars(select(ImportRun).order_by(ImportRun.started_at.desc()).limit(limit))
    return [
        {
            "id": str(r.id),
            "source": r.source,
            "actor": r.actor,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "outcome": r.outcome,
            "message": r.message,
            "files": r.files,
            "summary": r.summary,
        }
        for r in runs
    ]
