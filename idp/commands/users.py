"""`idp users list|show`: persons, their contexts and status."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from idp import persons
from idp.commands.context import UsageProblem, print_json, with_app
from idp.extensions import db


def register(cli: click.Group) -> None:
    from idp.commands import credentials  # noqa: F401  (adds its commands to `users`)

    cli.add_command(users)


@click.group()
def users() -> None:
    """Personen und Zugänge."""


@users.command("list")
@click.option("--school", "school_kennung", metavar="KENNUNG", help="Nur Personen dieser Schule.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def list_command(school_kennung: str | None, limit: int, as_json: bool) -> None:
    """List persons (ordered by name), optionally only those of one school."""
    school = None
    if school_kennung:
        school = persons.find_school(db.session, school_kennung)
        if school is None:
            raise UsageProblem(f"--school {school_kennung}: keine Schule mit dieser Kennung")
    rows = persons.list_persons(db.session, school=school, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("Benutzername", "Name", "Status", "Rollen")
    for row in rows:
        roles = ", ".join(f"{k['rolle']}@{k['organisation_kennung']}" for k in row["kontexte"])
        table.add_row(
            row["username"], f"{row['vorname']} {row['familienname']}", row["status"], roles
        )
    Console().print(table)


@users.command("show")
@click.argument("username")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def show_command(username: str, as_json: bool) -> None:
    """Show one person with all contexts (past, present, planned) and relations."""
    detail = persons.person_detail(db.session, username)
    if detail is None:
        raise UsageProblem(f"{username}: kein Zugang mit diesem Benutzernamen")
    if as_json:
        print_json(detail)
        return
    console = Console()
    console.print(
        f"[bold]{detail['vorname']} {detail['familienname']}[/bold] "
        f"({detail['username']}), Status: {detail['status']}"
    )
    table = Table("Rolle", "Organisation", "von", "bis", "aktiv", "Quelle")
    for k in detail["kontexte"]:
        table.add_row(
            k["rolle"],
            f"{k['organisation_name']} ({k['organisation_kennung']})",
            k["valid_from"],
            k["valid_until"] or "—",
            "ja" if k["aktiv"] else "nein",
            k["source"],
        )
    console.print(table)
    for label, key in (("Erziehungsberechtigte", "erziehungsberechtigte"), ("Kinder", "kinder")):
        if detail[key]:
            console.print(f"{label}: " + ", ".join(r["username"] for r in detail[key]))
