"""`idp keys list|rotate`: the OpenID provider's signing keys."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from idp.commands.context import actor_name, print_json, with_app
from idp.extensions import db
from idp.models.signing_key import SigningAlg
from idp.oidc import keys as signing_keys

ALL = "all"


def register(cli: click.Group) -> None:
    cli.add_command(keys)


@click.group()
def keys() -> None:
    """Signierschlüssel des OpenID-Providers."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def list_command(as_json: bool) -> None:
    """List the signing keys (never their private halves) per algorithm and state."""
    rows = signing_keys.list_keys(db.session)
    if as_json:
        print_json(rows)
        return
    table = Table("alg", "Zustand", "JWKS")
    for title in ("aktiv seit", "zurückgezogen"):
        table.add_column(title, no_wrap=True)
    table.add_column("kid", overflow="fold")
    for row in rows:
        table.add_row(
            row["alg"],
            row["state"],
            "ja" if row["published"] else "nein",
            _minute(row["activated_at"]),
            _minute(row["retired_at"]),
            row["kid"],
        )
    Console().print(table)


@keys.command("rotate")
@click.option(
    "--alg",
    type=click.Choice([*SigningAlg, ALL]),
    default=ALL,
    show_default=True,
    help="Nur die Schlüssel dieses Verfahrens.",
)
@click.option("--actor", default=None, help="Wer (für das Protokoll).")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def rotate_command(alg: str, actor: str | None, as_json: bool) -> None:
    """Next key signs from now on, the active key retires, a new next key is published."""
    algs = tuple(SigningAlg) if alg == ALL else (alg,)
    rotations, pruned = signing_keys.rotate(db.session, algs, actor_name(actor))
    db.session.commit()
    if as_json:
        print_json(
            {
                "rotated": [
                    {"alg": r.alg, "active": r.active, "next": r.next, "retired": r.retired}
                    for r in rotations
                ],
                "pruned": pruned,
            }
        )
        return
    for r in rotations:
        click.echo(
            f"{r.alg}: signiert jetzt mit {r.active}, nächster {r.next}, zurückgezogen {r.retired}."
        )
    click.echo(f"{len(pruned)} abgelaufene Schlüssel entfernt.")


def _minute(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "—"
