"""`idp serve`: the development server (production runs idp.wsgi:app under gunicorn)."""

from __future__ import annotations

import click

from idp.commands.context import get_app


def register(cli: click.Group) -> None:
    cli.add_command(serve)


@click.command()
@click.option("--host", default=None, help="Adresse (Voreinstellung aus [server] host).")
@click.option("--port", default=None, type=int, help="Port (Voreinstellung aus [server] port).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the app with Flask's development server."""
    app = get_app(ctx)
    server = app.config["IDP"]["server"]
    app.run(
        host=host or server["host"], port=port or server["port"], debug=False, use_reloader=False
    )
