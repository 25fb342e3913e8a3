"""The `idp` command line: one group, commands registered from idp/commands/."""

from __future__ import annotations

import sys

import click

from idp.commands import (
    activations,
    audit,
    clients,
    database,
    demo,
    imports,
    keys,
    oidc,
    policy,
    provisioning,
    retention,
    saml,
    serve,
    users,
)
from idp.commands.context import UsageProblem
from idp.config import ConfigError
from idp.policy.errors import PolicyError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="IDP_CONFIG",
    type=click.Path(dir_okay=False),
    help="Konfigurationsdatei (TOML); sonst $IDP_CONFIG oder die Voreinstellungen.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """schul-idp: Identitäten und Single Sign-on für die Schulen des Landes."""
    ctx.obj = {"config_path": config_path}


for module in (
    database,
    policy,
    provisioning,
    serve,
    users,
    audit,
    demo,
    imports,
    retention,
    keys,
    saml,
    clients,
    oidc,
    activations,
):
    module.register(cli)


def main() -> None:
    """Entry point: configuration and policy errors are one line on stderr and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except (ConfigError, PolicyError, UsageProblem) as exc:
        click.echo(f"idp: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
