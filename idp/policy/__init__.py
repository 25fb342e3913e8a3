"""Policies: load policies/*.toml and answer the questions every other part asks of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from idp.policy.loader import Policies


def current_policies() -> Policies:
    """The policies the running app loaded at start."""
    return current_app.extensions["idp.policies"]
