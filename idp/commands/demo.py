"""`idp demo-data` (a synthetic state's export files) and `idp demo-logins`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from idp.commands.context import UsageProblem, print_json, with_app


def register(cli: click.Group) -> None:
    from idp.demodata.command import demo_data_command

    cli.add_command(demo_data_command)
    cli.add_command(demo_logins_command)


@click.command("demo-logins")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@click.option(
    "--client-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Auch den Demo-Dienst (OIDC) anlegen und seine Zugangsdaten hierhin schreiben.",
)
@click.option("--client-port", default=8081, show_default=True, help="Port des Demo-Dienstes.")
@with_app
def demo_logins_command(as_json: bool, client_file: Path | None, client_port: int) -> None:
    """Give four persons of the imported demo state fresh passwords and print them.

    Only for a demo installation: the passwords (and one TOTP secret) are printed.
    """
    from idp.auth.settings import auth_settings
    from idp.demodata.logins import NoDemoState, create_demo_logins
    from idp.extensions import db
    from idp.policy import current_policies

    try:
        logins = create_demo_logins(db.session, auth_settings(), current_policies())
    except NoDemoState as exc:
        raise UsageProblem(str(exc)) from None
    service_url = None
    if client_file is not None:
        from flask import current_app

        from idp.demodata.logins import register_demo_client

        service_url = f"http://127.0.0.1:{client_port}"
        registration = register_demo_client(
            db.session, current_policies(), current_app.config["IDP"].issuer, service_url
        )
        # Written before the commit: without the file, the demo service could not log in.
        client_file.parent.mkdir(parents=True, exist_ok=True)
        client_file.write_text(json.dumps(registration, indent=2), encoding="utf-8")
        client_file.chmod(0o600)
    db.session.commit()
    if as_json:
        print_json([asdict(login) for login in logins])
        return
    # Plain lines, not a table: a narrow terminal must not cut a password or secret.
    click.echo("Demo-Anmeldungen (Benutzername / Passwort), nur für diese Demo:")
    for login in logins:
        click.echo(f"  {login.rolle}: {login.username} / {login.password}")
        if login.note:
            click.echo(f"      {login.note}")
        if login.totp_secret:
            click.echo(f"      TOTP-Geheimnis für die Authenticator-App: {login.totp_secret}")
    if service_url:
        click.echo(f"Demo-Dienst (meldet über OIDC an): {service_url}/")
