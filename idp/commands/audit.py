"""`idp audit verify`: check the hash chain of the audit trail."""

from __future__ import annotations

import sys

import click

from idp import audit as audit_trail
from idp.commands.context import print_json, with_app
from idp.extensions import db


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """Protokoll (Audit-Log)."""


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def verify(as_json: bool) -> None:
    """Verify the chain; exit code 1 if a row was changed or deleted."""
    result = audit_trail.verify(db.session)
    if as_json:
        print_json({"ok": result.ok, "checked": result.checked, "problems": list(result.problems)})
    elif result.ok:
        click.echo(f"Protokoll unverändert: {result.checked} Einträge geprüft.")
    else:
        click.echo(f"Protokoll VERÄNDERT ({result.checked} Einträge geprüft):")
        for problem in result.problems:
            click.echo(f"  - {problem}")
    if not result.ok:
        sys.exit(1)
