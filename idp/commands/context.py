"""What every command needs: the app (built once, from the config) and JSON output."""

from __future__ import annotations

import functools
import getpass
import json
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from idp.config import load_config


class UsageProblem(Exception):
    """A command was asked for something that does not exist (exit code 2)."""


def get_app(ctx: click.Context, web: bool = True) -> Flask:
    root = ctx.find_root()
    if "app" not in root.obj:
        from idp.app import create_app

        root.obj["app"] = create_app(load_config(root.obj.get("config_path")), web=web)
        root.obj["built here"] = True
    return root.obj["app"]


def _close(app: Flask) -> None:
    """Close the app's pooled database connections (SQLite folds its write-ahead log back
    into the database file as the last connection closes)."""
    from idp.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def with_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command inside the app context (database and policies available)."""
    return _in_app(func, web=True)


def with_headless_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """`with_app` for commands that never serve a page nor end a login (the provisioning
    worker and reconciliation, the import): the app without its web parts, which start
    faster."""
    return _in_app(func, web=False)


def _in_app(func: Callable[..., Any], web: bool) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app = get_app(ctx, web=web)
        try:
            with app.app_context():
                return func(*args, **kwargs)
        finally:
            if ctx.find_root().obj.pop("built here", False):  # not an app a caller passed in
                _close(app)

    return wrapper


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def actor_name(actor: str | None) -> str:
    """Who runs a command, for the audit trail: --actor, else the operating-system user."""
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli"
