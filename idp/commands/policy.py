"""`idp policy check`: validate policies/ and summarise what they say."""

from __future__ import annotations

import click

from idp.commands.context import print_json
from idp.config import load_config
from idp.policy.loader import load_policies


def register(cli: click.Group) -> None:
    cli.add_command(policy)


@click.group()
def policy() -> None:
    """Richtlinien (policies/*.toml) prüfen."""


@policy.command()
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Validate every policy file; exit code 2 with file, entry and rule on the first error."""
    config = load_config(ctx.find_root().obj.get("config_path"))
    policies = load_policies(config.policies_dir)
    summary = {
        "directory": str(config.policies_dir),
        "roles": sorted(policies.roles),
        "services": {
            code: {
                "protocol": s.protocol,
                "sensitive": s.sensitive,
                "attributes": list(s.attributes),
            }
            for code, s in policies.services.items()
        },
    }
    if as_json:
        print_json(summary)
        return
    click.echo(
        f"Richtlinien in {config.policies_dir} sind gültig: "
        f"{len(policies.roles)} Rollen, {len(policies.services)} Dienste."
    )
