"""`idp import plan|apply|run|history`: bring a source's export into the database."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.table import Table

from idp.clock import now
from idp.commands.context import UsageProblem, actor_name, print_json, with_headless_app
from idp.commands.progress import progress_reporter
from idp.extensions import db
from idp.imports import matches, runner
from idp.imports import plan as p
from idp.policy import current_policies

SUMMARY_LABELS = {
    "orgs_create": "Organisationen neu",
    "orgs_update": "Organisationen geändert",
    "persons_create": "Personen neu",
    "persons_update": "Personen geändert",
    "persons_move": "Personen mit Schulwechsel",
    "persons_leave": "Personen ausgeschieden (Sperre)",
    "persons_return": "Personen zurückgekehrt",
    "kontexte_start": "Kontexte beginnen",
    "kontexte_end": "Kontexte enden",
    "kontexte_change": "Kontexte geändert",
    "links_start": "Beziehungen neu",
    "links_end": "Beziehungen beendet",
    "probable_matches": "Wahrscheinliche Treffer (zu prüfen)",
    "skipped_rows": "Übersprungene Zeilen",
}


def register(cli: click.Group) -> None:
    cli.add_command(import_group)


@click.group("import")
def import_group() -> None:
    """Importe aus SIP-Schule, dem Personalsystem und einem LDAP-Verzeichnis."""


def apply_options(func: Callable) -> Callable:
    """The options of every command that may write: breaker override, actor, JSON output."""
    func = click.option(
        "--allow-mass-end",
        is_flag=True,
        help="Den Schutz gegen Massenbeendigung nach Prüfung übergehen.",
    )(func)
    func = click.option("--actor", default=None, help="Wer importiert (für das Protokoll).")(func)
    return click.option("--json", "as_json", is_flag=True, help="Zusammenfassung als JSON.")(func)


def source_options(func: Callable) -> Callable:
    """apply_options, plus what names the export: source, folder, how many bad rows to skip."""
    func = click.option(
        "--source", type=click.Choice(runner.SOURCES), required=True, help="Welche Quelle."
    )(func)
    func = click.argument("path", required=False, type=click.Path(file_okay=False))(func)
    func = click.option(
        "--max-errors",
        type=click.IntRange(min=0),
        default=None,
        help="So viele fehlerhafte Zeilen dürfen übersprungen werden.",
    )(func)
    return apply_options(func)


@import_group.command("plan")
@source_options
@click.option("--out", type=click.Path(dir_okay=False), help="Den ganzen Plan als JSON schreiben.")
@with_headless_app
def plan_command(
    source: str,
    path: str | None,
    max_errors: int | None,
    allow_mass_end: bool,
    actor: str | None,
    as_json: bool,
    out: str | None,
) -> None:
    """Compute the change an export would make, without changing anything."""
    outcome = _plan(source, path, max_errors, allow_mass_end)
    if outcome.plan is not None and out and outcome.code != runner.INVALID:
        outcome.plan.write(Path(out))
    _report(outcome, as_json)
    _finish(source, actor, outcome)


@import_group.command("apply")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@apply_options
@with_headless_app
def apply_command(plan_file: str, allow_mass_end: bool, actor: str | None, as_json: bool) -> None:
    """Apply a plan written by `idp import plan --out` in one transaction."""
    plan = p.Plan.read(Path(plan_file))
    plan.allow_mass_end = plan.allow_mass_end or allow_mass_end
    _apply(plan, plan.source, actor, as_json)


@import_group.command("run")
@source_options
@with_headless_app
def run_command(
    source: str,
    path: str | None,
    max_errors: int | None,
    allow_mass_end: bool,
    actor: str | None,
    as_json: bool,
) -> None:
    """Plan and apply in one go (what a nightly job calls)."""
    outcome = _plan(source, path, max_errors, allow_mass_end)
    if outcome.code != runner.DONE:
        _report(outcome, as_json)
        _finish(source, actor, outcome)
    _apply(outcome.plan, source, actor, as_json)


@import_group.command("history")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_headless_app
def history_command(limit: int, as_json: bool) -> None:
    """List the latest import runs."""
    runs = runner.history(db.session, limit)
    if as_json:
        print_json(runs)
        return
    table = Table("Beginn", "Quelle", "Wer", "Ergebnis", "Neu", "Geändert", "Enden")
    for run in runs:
        s = run["summary"] or {}
        table.add_row(
            run["started_at"][:19],
            run["source"],
            run["actor"],
            run["outcome"],
            str(s.get("persons_create", "")),
            str(s.get("persons_update", "")),
            str(s.get("kontexte_end", "")),
        )
    Console().print(table)


@import_group.command("matches")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_headless_app
def matches_command(as_json: bool) -> None:
    """List probable matches waiting for a decision."""
    found = matches.open_matches(db.session)
    if as_json:
        print_json(found)
        return
    table = Table("Quelle", "Externe Id", "Vermutlich", "Name", "Geburtsdatum")
    for m in found:
        table.add_row(
            m["source"],
            m["external_id"],
            m["username"],
            f"{m['vorname']} {m['familienname']}",
            m["geburtsdatum"] or "",
        )
    Console().print(table)


@import_group.command("decide")
@click.argument("external_id")
@click.option("--source", required=True, help="sip, personal oder ldap:NAME.")
@click.option(
    "--confirm/--reject",
    required=True,
    help="Dieselbe Person (--confirm) oder eine andere (--reject).",
)
@click.option("--actor", default=None, help="Wer entscheidet (für das Protokoll).")
@with_headless_app
def decide_command(external_id: str, source: str, confirm: bool, actor: str | None) -> None:
    """Decide a probable match: the next import then updates or creates the person."""
    try:
        username = matches.decide(db.session, source, external_id, confirm, actor_name(actor))
    except matches.UnknownMatch as exc:
        raise UsageProblem(str(exc)) from None
    db.session.commit()
    verb = "ist" if confirm else "ist nicht"
    click.echo(f"{external_id} {verb} {username}; der nächste Import übernimmt das.")


def _plan(
    source: str,
    path: str | None,
    max_errors: int | None,
    allow_mass_end: bool,
) -> runner.Outcome:
    if source != "ldap" and not path:
        raise click.UsageError(f"--source {source} needs the folder of the export (PATH)")
    from flask import current_app

    return runner.plan_source(
        db.session,
        current_policies(),
        current_app.config["IDP"],
        source,
        path,
        max_errors=max_errors,
        allow_mass_end=allow_mass_end,
        env=dict(os.environ),
    )


def _apply(plan: p.Plan, source: str, actor: str | None, as_json: bool) -> None:
    started = now()
    with progress_reporter() as progress:
        outcome = runner.apply(db.session, plan, actor_name(actor), progress)
    _report(outcome, as_json)
    _finish(source, actor, outcome, started=started)


def _finish(
    source: str, actor: str | None, outcome: runner.Outcome, started: dt.datetime | None = None
) -> NoReturn:
    """Record the run (with the plan's changes, if applied: one commit) and exit."""
    runner.record_run(db.session, source, actor_name(actor), started or now(), outcome)
    db.session.commit()
    sys.exit(outcome.code)


def _report(outcome: runner.Outcome, as_json: bool) -> None:
    plan = outcome.plan
    if as_json:
        print_json(
            {
                "outcome": outcome.outcome,
                "exit_code": outcome.code,
                "message": outcome.message,
                "summary": plan.summary if plan else None,
                "breaker": plan.to_json()["breaker"] if plan else None,
                "problems": [x.as_dict() for x in outcome.problems],
            }
        )
        return
    console = Console()
    # Plain lines, never wrapped: operators grep and copy them.
    for problem in outcome.problems[:200]:
        click.echo(str(problem), err=True)
    if len(outcome.problems) > 200:
        click.echo(f"... und {len(outcome.problems) - 200} weitere", err=True)
    if plan is not None:
        table = Table("Änderung", "Anzahl", title=f"Import {plan.source}: {outcome.outcome}")
        for key, label in SUMMARY_LABELS.items():
            table.add_row(label, str(plan.summary[key]))
        console.print(table)
    if outcome.message:
        click.echo(f"{outcome.outcome}: {outcome.message}", err=True)
