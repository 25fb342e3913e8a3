"""`idp retention run`: lock and delete the accounts of people who left, as policy says."""

from __future__ import annotations

import click

from idp.commands.context import print_json, with_app
from idp.commands.imports import actor_name
from idp.extensions import db
from idp.policy import current_policies
from idp.retention import run_retention


def register(cli: click.Group) -> None:
    cli.add_command(retention)


@click.group()
def retention() -> None:
    """Aufbewahrung: Sperren und Löschen nach dem Ausscheiden."""


@retention.command("run")
@click.option("--actor", default=None, help="Wer (für das Protokoll).")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def run_command(actor: str | None, as_json: bool) -> None:
    """Lock accounts whose grace period is over; delete persons whose deletion date has come."""
    result = run_retention(db.session, current_policies(), actor_name(actor))
    db.session.commit()
    if as_json:
        print_json({"locked": result.locked, "deleted": result.deleted})
        return
    click.echo(f"{len(result.locked)} Zugänge gesperrt, {len(result.deleted)} Personen gelöscht.")
