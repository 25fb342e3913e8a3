"""Load and validate all policy files at once; an error names the file, the entry and the rule."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from idp.naming.policy import NamingPolicy
from idp.policy.errors import PolicyError
from idp.policy.retention import RetentionPolicy, parse_retention
from idp.policy.roles import RoleDef, parse_roles
from idp.policy.services import ServiceDef, parse_services

FILES = ("roles.toml", "services.toml", "naming.toml", "retention.toml")


@dataclass(frozen=True)
class Policies:
    roles: dict[str, RoleDef]
    services: dict[str, ServiceDef]
    naming: NamingPolicy
    retention: RetentionPolicy

    def role(self, code: str) -> RoleDef:
        return self.roles[code]

    def service(self, code: str) -> ServiceDef:
        return self.services[code]


def load_policies(directory: str | Path) -> Policies:
    """Read policies/*.toml from `directory`, validate each file, then how they fit together."""
    directory = Path(directory)
    raw = {name: _read(directory / name) for name in FILES}
    return Policies(
        roles=parse_roles(raw["roles.toml"], str(directory / "roles.toml")),
        services=parse_services(raw["services.toml"], str(directory / "services.toml")),
        naming=NamingPolicy.from_dict(raw["naming.toml"], str(directory / "naming.toml")),
        retention=parse_retention(raw["retention.toml"], str(directory / "retention.toml")),
    )


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(str(path), "(file)", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(path), "(file)", f"not valid TOML: {exc}") from None
