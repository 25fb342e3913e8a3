"""`idp db`: create or upgrade the database."""

from __future__ import annotations

import click

from idp import database
from idp.commands.context import print_json, with_app
from idp.policy import current_policies


def register(cli: click.Group) -> None:
    cli.add_command(db)


@click.group()
def db() -> None:
    """Datenbank anlegen und aktualisieren."""


@db.command()
@click.option("--revision", default="head", show_default=True)
@with_app
def upgrade(revision: str) -> None:
    """Create or upgrade the database, then copy roles and services from policies/."""
    database.upgrade(revision)
    database.sync_policy_rows(current_policies())
    if revision == "head":
        # Signing keys exist before the first token, so the JWKS never comes up empty.
        from idp.extensions import db as database_session
        from idp.oidc import keys

        keys.ensure_keys(database_session.session)
        database_session.session.commit()
    click.echo(f"Datenbank auf Stand {database.current_revision()}.")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def status(as_json: bool) -> None:
    """Show the database's migration state."""
    current, head = database.current_revision(), database.head_revision()
    if as_json:
        print_json({"current": current, "head": head, "up_to_date": current == head})
        return
    click.echo(
        f"Stand {current or '(leer)'}, neuester {head}"
        + ("" if current == head else " — bitte `idp db upgrade` ausführen")
    )
