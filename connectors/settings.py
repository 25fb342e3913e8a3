"""Reading a connector's secret: from the file its config names, or from the environment."""

from __future__ import annotations

import os
from pathlib import Path


class ConnectorConfigError(ValueError):
    """A connector's configuration is incomplete or wrong; the message names the key."""


def secret(table: dict, file_key: str, env_name: str, where: str) -> str:
    """The secret from `table[file_key]` (a file path) or the variable `env_name`."""
    path = table.get(file_key) or ""
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConnectorConfigError(f"[{where}] {file_key}: {path}: {exc.strerror}") from exc
    value = os.environ.get(env_name, "")
    if not value:
        raise ConnectorConfigError(f"[{where}] {file_key} is empty and ${env_name} is not set")
    return value


def env_name(*parts: str) -> str:
    """IDP_CONNECTOR_<PARTS>, upper case, '-' as '_'."""
    return "IDP_CONNECTOR_" + "_".join(p.upper().replace("-", "_") for p in parts)
