"""`idp retention run`: lock and delete the accounts of people who left, as policy says."""

from __future__ import annotations

import click

from idp.auth import sessions
from idp.auth.settings import auth_settings
from idp.commands.context import actor_name, print_json, with_app
from idp.extensions import db
from idp.oidc import cleanup as oidc_cleanup
from idp.oidc import keys
from idp.policy import current_policies
from idp.retention import run_retention
from idp.saml import cleanup as saml_cleanup


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
    # Expired sessions and forgotten failed-login counters go in the same nightly run.
    ended = sessions.purge(db.session)
    counters = auth_settings().guard.purge(db.session)
    # OIDC leftovers: used or expired codes and tokens, old revocations, retired keys.
    oidc_rows = oidc_cleanup.purge(db.session)
    saml_rows = saml_cleanup.purge(db.session)
    keys.prune(db.session, actor_name(actor))
    db.session.commit()
    if as_json:
        print_json(
            {
                "locked": result.locked,
                "deleted": result.deleted,
                "expired_sessions": ended,
                "login_counters": counters,
                "oidc_rows": oidc_rows,
                "saml_rows": saml_rows,
            }
        )
        return
    click.echo(f"{len(result.locked)} Zugänge gesperrt, {len(result.deleted)} Personen gelöscht.")
    click.echo(f"{ended} abgelaufene Sitzungen und {counters} alte Fehlversuchszähler entfernt.")
    click.echo(f"{oidc_rows} abgelaufene OIDC-Codes, -Tokens und -Sperrvermerke entfernt.")
    click.echo(f"{saml_rows} abgelaufene SAML-Vorgänge und -Sitzungen entfernt.")
