"""`idp demo-data` (a synthetic state's export files) and `idp demo-logins`."""

from __future__ import annotations

from dataclasses import asdict

import click

from idp.commands.context import UsageProblem, print_json, with_app


def register(cli: click.Group) -> None:
    from idp.demodata.command import demo_data_command

    cli.add_command(demo_data_command)
    cli.add_command(demo_logins_command)


@click.command("demo-logins")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@with_app
def demo_logins_command(as_json: bool) -> None:
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
