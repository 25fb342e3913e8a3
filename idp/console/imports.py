"""Console: imports from the browser. Upload an export, review its plan, apply it; the runs.

The same code as `idp import plan|apply` does the work (idp/imports/runner.py). The uploaded
files live only while they are read: they hold sensitive columns the import never stores. The
plan (which holds none of them) waits in the instance folder until it is applied, found stale,
or older than PLAN_LIFETIME.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from idp.audit import GENESIS
from idp.clock import now
from idp.console.access import admin, guard
from idp.extensions import db
from idp.imports import plan as p
from idp.imports import runner
from idp.imports.problems import Problem
from idp.models import AuditHead, ImportRun, Person
from idp.policy import current_policies

blueprint = Blueprint("console_imports", __name__, url_prefix="/verwaltung/importe")
guard(blueprint)

RIGHT = "import.ausfuehren"
SOURCES = tuple(runner.FILE_SOURCES)  # the console takes files; LDAP runs from the CLI
PAGE_SIZE = 100
PROBLEMS_SHOWN = 200
MAX_FILES = 20
PLAN_LIFETIME = 24 * 3600  # seconds; a plan is usually stale long before
# A plain file name: no path, no leading dot, a CSV or text extension.
FILE_NAME = re.compile(r"[\w\-][\w.\- ]{0,99}\.(csv|txt)", re.IGNORECASE)


@blueprint.before_request
def _importers_only() -> None:
    # An import changes people at every school: only a right reaching the whole Land will do.
    if not admin().scope.is_land(RIGHT):
        abort(403)


@blueprint.context_processor
def _words() -> dict:
    return {
        "source_names": {"sip": _("SIP-Schule"), "personal": _("Personalsystem")},
        "outcome_names": {
            "planned": _("geplant"),
            "applied": _("übernommen"),
            "nothing_to_do": _("nichts zu tun"),
            "rejected": _("abgelehnt"),
            "breaker": _("gestoppt (Massenbeendigung)"),
            "stale": _("veraltet"),
        },
        "summary_labels": {
            "orgs_create": _("Organisationen neu"),
            "orgs_update": _("Organisationen geändert"),
            "persons_create": _("Personen neu"),
            "persons_update": _("Personen geändert"),
            "persons_move": _("Personen mit Schulwechsel"),
            "persons_leave": _("Personen ausgeschieden (Sperre)"),
            "persons_return": _("Personen zurückgekehrt"),
            "kontexte_start": _("Rollen beginnen"),
            "kontexte_end": _("Rollen enden"),
            "kontexte_change": _("Rollen geändert"),
            "links_start": _("Beziehungen neu"),
            "links_end": _("Beziehungen beendet"),
            "probable_matches": _("Wahrscheinliche Treffer (zu prüfen)"),
            "skipped_rows": _("Übersprungene Zeilen"),
        },
    }


@blueprint.get("/")
def runs() -> str:
    _sweep()
    return render_template(
        "console/imports.html", runs=runner.history(db.session, 50), sources=SOURCES
    )


@blueprint.post("/")
def upload() -> Response:
    source = request.form.get("quelle", "")
    if source not in SOURCES:
        abort(400)
    raw_max = request.form.get("max_fehler", "").strip()
    files = [f for f in request.files.getlist("dateien") if f.filename]
    problem = None
    if raw_max and not (raw_max.isdigit() and len(raw_max) < 10):
        problem = _("Die Zahl der erlaubten Fehler muss eine ganze Zahl ab 0 sein.")
    elif not files:
        problem = _("Bitte wählen Sie die Dateien des Exports aus.")
    elif len(files) > MAX_FILES:
        problem = _("Ein Export hat höchstens %(n)s Dateien.", n=MAX_FILES)
    else:
        problem = _bad_names(files)
    if problem:
        flash(problem)
        return redirect(url_for(".runs"), code=303)
    _sweep()
    started = now()
    folder = Path(tempfile.mkdtemp(prefix="schul-idp-import-"))
    try:
        for storage in files:
            storage.save(folder / storage.filename)  # type: ignore[operator]
        outcome = runner.plan_source(
            db.session,
            current_policies(),
            current_app.config["IDP"],
            source,
            str(folder),
            max_errors=int(raw_max) if raw_max else None,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _relabel(outcome, folder)
    runner.record_run(db.session, source, admin().actor, started, outcome)
    db.session.commit()
    plan_id = _keep(outcome, source, [f.filename or "" for f in files])
    return redirect(url_for(".plan", plan_id=plan_id), code=303)


@blueprint.get("/plaene/<uuid:plan_id>")
def plan(plan_id: uuid.UUID) -> str | Response:
    kept = _kept(plan_id)
    if kept is None:
        flash(_("Diesen Plan gibt es nicht mehr. Bitte laden Sie den Export erneut hoch."))
        return redirect(url_for(".runs"), code=303)
    result, the_plan = kept
    page = max(1, request.args.get("seite", 1, type=int) or 1)
    changes, total = _changes(the_plan, page) if the_plan else ([], 0)
    problems = [Problem(**x) for x in result["problems"]]
    return render_template(
        "console/import_plan.html",
        plan_id=plan_id,
        result=result,
        plan=the_plan,
        problems=problems[:PROBLEMS_SHOWN],
        more_problems=max(0, len(problems) - PROBLEMS_SHOWN),
        changes=changes,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        applicable=the_plan is not None
        and result["outcome"] in ("planned", "breaker")
        and not the_plan.is_empty,
        stale=the_plan is not None and _audit_head() != list(the_plan.db_state),
    )


@blueprint.post("/plaene/<uuid:plan_id>/uebernehmen")
def apply(plan_id: uuid.UUID) -> Response:
    kept = _kept(plan_id)
    if kept is None:
        flash(_("Diesen Plan gibt es nicht mehr. Bitte laden Sie den Export erneut hoch."))
        return redirect(url_for(".runs"), code=303)
    result, the_plan = kept
    if the_plan is None:
        flash(_("Ein abgelehnter Import kann nicht übernommen werden."))
        return redirect(url_for(".plan", plan_id=plan_id), code=303)
    the_plan.allow_mass_end = request.form.get("massenbeendigung") == "ja"
    started = now()
    outcome = runner.apply(db.session, the_plan, admin().actor)
    run = runner.record_run(db.session, result["source"], admin().actor, started, outcome)
    db.session.commit()
    if outcome.outcome == "breaker":
        flash(
            _(
                "Der Schutz gegen Massenbeendigung hat den Import gestoppt: %(grund)s. "
                "Es wurde nichts geändert.",
                grund=outcome.message,
            )
        )
        return redirect(url_for(".plan", plan_id=plan_id), code=303)
    _forget(plan_id)
    if outcome.outcome == "stale":
        flash(
            _(
                "Der Plan ist veraltet: die Daten haben sich seit der Planung geändert. "
                "Es wurde nichts geändert. Bitte laden Sie den Export erneut hoch."
            )
        )
        return redirect(url_for(".runs"), code=303)
    if outcome.outcome == "nothing_to_do":
        flash(_("Der Import hatte nichts zu ändern."))
    else:
        flash(_("Der Import ist übernommen."))
    return redirect(url_for(".run", run_id=run.id), code=303)


@blueprint.get("/laeufe/<uuid:run_id>")
def run(run_id: uuid.UUID) -> str:
    found = db.session.get(ImportRun, run_id)
    if found is None:
        abort(404)
    return render_template("console/import_plan.html", run=found)


# -- the upload ---------------------------------------------------------------------------


def _bad_names(files: list[FileStorage]) -> str | None:
    seen: set[str] = set()
    for storage in files:
        name = storage.filename or ""
        if not FILE_NAME.fullmatch(name):
            return _(
                "Die Datei „%(name)s“ wird nicht angenommen: erlaubt sind nur Dateinamen ohne "
                "Ordner, die auf .csv oder .txt enden.",
                name=name[:100],
            )
        if name in seen:
            return _("Die Datei „%(name)s“ ist doppelt ausgewählt.", name=name)
        seen.add(name)
    return None


def _relabel(outcome: runner.Outcome, folder: Path) -> None:
    """Name files as uploaded, not by the temporary folder they were read from."""
    prefix = f"{folder}{os.sep}"
    problems = [dataclasses.replace(x, file=x.file.removeprefix(prefix)) for x in outcome.problems]
    outcome.problems = problems
    if outcome.plan is not None:
        outcome.plan.problems = problems
        outcome.plan.path = ""


# -- plans kept between planning and applying ---------------------------------------------


def _plans() -> Path:
    return Path(current_app.instance_path) / "importplaene"


def _keep(outcome: runner.Outcome, source: str, names: list[str]) -> uuid.UUID:
    """Store the outcome (and the plan, if it may be applied) under a fresh random id."""
    plan_id = uuid.uuid4()
    root = _plans()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / str(plan_id)
    folder.mkdir(mode=0o700)
    the_plan = outcome.plan
    result = {
        "source": source,
        "actor": admin().actor,
        "created_at": now().isoformat(),
        "outcome": outcome.outcome,
        "message": outcome.message,
        "names": sorted(names),
        "summary": the_plan.summary if the_plan else None,
        "breaker": dataclasses.asdict(the_plan.breaker) if the_plan else None,
        "problems": [x.as_dict() for x in outcome.problems],
    }
    _write_private(folder / "ergebnis.json", json.dumps(result, ensure_ascii=False))
    if the_plan is not None and outcome.code != runner.INVALID:
        _write_private(folder / "plan.json", json.dumps(the_plan.to_json(), ensure_ascii=False))
    return plan_id


def _kept(plan_id: uuid.UUID) -> tuple[dict[str, Any], p.Plan | None] | None:
    folder = _plans() / str(plan_id)
    try:
        result = json.loads((folder / "ergebnis.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    plan_file = folder / "plan.json"
    return result, p.Plan.read(plan_file) if plan_file.is_file() else None


def _forget(plan_id: uuid.UUID) -> None:
    shutil.rmtree(_plans() / str(plan_id), ignore_errors=True)


def _sweep() -> None:
    """Remove plans nobody applied in time (they hold names and birth dates)."""
    root = _plans()
    if not root.is_dir():
        return
    limit = time.time() - PLAN_LIFETIME
    for folder in root.iterdir():
        try:
            expired = folder.stat().st_mtime < limit
        except FileNotFoundError:  # another request removed it just now
            continue
        if expired:
            shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def _audit_head() -> list:
    head = db.session.get(AuditHead, 1)
    return [head.last_id, head.last_hash] if head else [0, GENESIS]


# -- the list of changes ------------------------------------------------------------------


def _changes(the_plan: p.Plan, page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the plan's changes, in the order the kinds are applied, with usernames."""
    total = sum(len(getattr(the_plan.changes, kind)) for kind in p.KINDS)
    start = (page - 1) * PAGE_SIZE
    rows = [
        {"kind": kind, "item": item}
        for kind, item in islice(_all_changes(the_plan), start, start + PAGE_SIZE)
    ]
    names = {f"new:{x.external_id}": x.username for x in the_plan.changes.persons_create}
    ids = {ref for row in rows for ref in _person_refs(row["item"]) if ref not in names}
    names |= _usernames(ids)
    for row in rows:
        row["who"] = {ref: names.get(ref, ref) for ref in _person_refs(row["item"])}
    return rows, total


def _all_changes(the_plan: p.Plan) -> Iterator[tuple[str, Any]]:
    for kind in p.KINDS:
        for item in getattr(the_plan.changes, kind):
            yield kind, item


def _person_refs(item: Any) -> list[str]:
    if isinstance(item, p.LinkEnd):
        return item.persons.split(">", 1)
    names = ("person", "guardian", "learner")
    return [getattr(item, name) for name in names if hasattr(item, name)]


def _usernames(refs: set[str]) -> dict[str, str]:
    ids = {}
    for ref in refs:
        try:
            ids[uuid.UUID(ref)] = ref
        except ValueError:
            continue
    if not ids:
        return {}
    rows = db.session.execute(select(Person.id, Person.username).where(Person.id.in_(ids)))
    return {ids[person_id]: username for person_id, username in rows}
