"""`idp clients add|list|rotate-secret|remove`: the OpenID Connect relying parties."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from idp import audit
from idp.commands.context import UsageProblem, actor_name, print_json, with_app
from idp.extensions import db

ACTOR = click.option("--actor", default=None, help="Wer (für das Protokoll).")


def register(cli: click.Group) -> None:
    cli.add_command(clients)


@click.group()
def clients() -> None:
    """OIDC-Clients der Dienste."""


@clients.command("add")
@click.option("--name", required=True, help="Anzeigename des Clients.")
@click.option("--service", required=True, help="Dienst-Code aus policies/services.toml.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option("--public", is_flag=True, help="Öffentlicher Client (ohne Geheimnis, nur PKCE).")
@click.option("--backchannel-logout-uri", default=None)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--initiate-login-uri", default=None, help="Startadresse für die Portal-Kachel.")
@click.option("--alg", default="ES256", show_default=True, help="ES256 oder RS256 (ID-Token).")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@ACTOR
@with_app
def add_command(
    name: str,
    service: str,
    redirect_uris: tuple[str, ...],
    public: bool,
    backchannel_logout_uri: str | None,
    post_logout: tuple[str, ...],
    initiate_login_uri: str | None,
    alg: str,
    as_json: bool,
    actor: str | None,
) -> None:
    """Register a client; its secret is printed this once only."""
    from idp.oidc import clients as registry
    from idp.policy import current_policies

    try:
        registered = registry.register(
            db.session,
            current_policies(),
            name=name,
            service=service,
            redirect_uris=list(redirect_uris),
            public=public,
            backchannel_logout_uri=backchannel_logout_uri,
            post_logout_redirect_uris=list(post_logout),
            initiate_login_uri=initiate_login_uri,
            alg=alg,
        )
    except registry.ClientProblem as problem:
        raise UsageProblem(str(problem)) from None
    client = registered.client
    audit.record(
        db.session,
        audit.Event(actor_name(actor), "client.angelegt", client.client_id, details={"name": name}),
    )
    db.session.commit()
    if as_json:
        print_json({**registry.describe(client), "client_secret": registered.secret})
        return
    click.echo(f"client_id:     {client.client_id}")
    if registered.secret:
        click.echo(f"client_secret: {registered.secret}   (wird nur jetzt angezeigt)")


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def list_command(as_json: bool) -> None:
    """List the registered clients (never their secrets)."""
    from idp.oidc import clients as registry

    rows = [registry.describe(c) for c in registry.all_clients(db.session)]
    if as_json:
        print_json(rows)
        return
    table = Table("client_id", "Name", "Dienst", "Art", "Redirect-URIs")
    for row in rows:
        kind = "öffentlich" if row["public"] else "vertraulich"
        table.add_row(
            row["client_id"], row["name"], row["service"], kind, "\n".join(row["redirect_uris"])
        )
    Console().print(table)


@clients.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@ACTOR
@with_app
def rotate_command(client_id: str, as_json: bool, actor: str | None) -> None:
    """Give a client a new secret (printed once); the old one stops working at once."""
    from idp.oidc import clients as registry

    client = _client(client_id)
    try:
        secret = registry.rotate_secret(db.session, client)
    except registry.ClientProblem as problem:
        raise UsageProblem(str(problem)) from None
    audit.record(db.session, audit.Event(actor_name(actor), "client.neues_geheimnis", client_id))
    db.session.commit()
    if as_json:
        print_json({"client_id": client_id, "client_secret": secret})
    else:
        click.echo(f"client_secret: {secret}   (wird nur jetzt angezeigt)")


@clients.command("remove")
@click.argument("client_id")
@ACTOR
@with_app
def remove_command(client_id: str, actor: str | None) -> None:
    """Remove a client with its codes and tokens."""
    client = _client(client_id)
    db.session.delete(client)
    audit.record(db.session, audit.Event(actor_name(actor), "client.entfernt", client_id))
    db.session.commit()
    click.echo(f"Client {client_id} entfernt.")


def _client(client_id: str):
    from idp.oidc import clients as registry

    client = registry.find(db.session, client_id)
    if client is None:
        raise UsageProblem(f"{client_id}: kein Client mit dieser client_id")
    return client
