"""The `idp` command line: one group, commands registered from idp/commands/."""

from __future__ import annotations

import gc
import importlib
import sys

import click

from idp.commands.context import UsageProblem
from idp.config import ConfigError
from idp.policy.errors import PolicyError

# Each command's name -> the module of idp/commands/ that registers it. A command's module is
# imported only when that command runs: `idp worker` or `idp sync` need neither the console
# nor the OpenID keys, and start faster without them.
COMMANDS = {
    "activations": "activations",
    "audit": "audit",
    "clients": "clients",
    "db": "database",
    "demo-data": "demo",
    "demo-logins": "demo",
    "import": "imports",
    "keys": "keys",
    "oidc": "oidc",
    "outbox": "provisioning",
    "policy": "policy",
    "retention": "retention",
    "saml": "saml",
    "serve": "serve",
    "sync": "provisioning",
    "users": "users",
    "worker": "provisioning",
}


class _LazyGroup(click.Group):
    """The `idp` group: loads a command's module when the command is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"idp.commands.{module}").register(self)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    """Entry point: configuration and policy errors are one line on stderr and exit code 2."""
    try:
        _run()
    finally:
        # The command is done and has closed its connections. Python's last full garbage
        # collection at exit would only walk objects the process is about to give back
        # (0.15 s after `idp worker --once`); frozen, they are left to the operating system.
        gc.freeze()


def _run() -> None:
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
