"""`idp demo-data`: write a synthetic state's export files."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from idp.demodata.command import demo_data_command

    cli.add_command(demo_data_command)
