"""`idp oidc deliver-logouts`: send back-channel logout tokens clients have not yet accepted."""

from __future__ import annotations

import click

from idp.commands.context import print_json, with_app
from idp.extensions import db


def register(cli: click.Group) -> None:
    cli.add_command(oidc)


@click.group()
def oidc() -> None:
    """OpenID Connect: Hintergrundaufgaben."""


@oidc.command("deliver-logouts")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def deliver_logouts_command(as_json: bool) -> None:
    """Send due back-channel logout tokens (run every minute, e.g. from a systemd timer)."""
    from idp.oidc.logout import deliver_due

    delivered, failed = deliver_due(db.session)
    if as_json:
        print_json({"delivered": delivered, "failed": failed})
        return
    click.echo(
        f"{delivered} Abmeldungen zugestellt, {failed} fehlgeschlagen (neuer Versuch später)."
    )
