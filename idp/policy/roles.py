"""policies/roles.toml: the roles, their rollenart, where they may be held, and what they allow."""

from __future__ import annotations

from dataclasses import dataclass

from idp.policy.tables import Table
from idp.policy.vocabulary import ALL_RIGHTS, ORG_TYPES, RIGHTS, ROLLENARTEN, SCOPES


@dataclass(frozen=True)
class Grant:
    """One right of a role, valid in a scope, optionally only on persons of some rollenarten."""

    right: str
    scope: str
    targets: tuple[str, ...] = ()

    def covers(self, right: str) -> bool:
        return self.right in (right, ALL_RIGHTS)


@dataclass(frozen=True)
class RoleDef:
    code: str
    name: str
    rollenart: str
    org_types: tuple[str, ...]
    grants: tuple[Grant, ...] = ()
    max_per_organisation: int | None = None

    @property
    def is_admin(self) -> bool:
        """A role with any right over others (these must log in with a second factor)."""
        return bool(self.grants)


def parse_roles(data: dict, file: str) -> dict[str, RoleDef]:
    root = Table(data, file, "")
    rollen = root.sub("rollen", required=True)
    roles: dict[str, RoleDef] = {}
    for code in rollen.data:
        table = rollen.sub(code)
        grants = []
        for index, raw in enumerate(table.get("rights", list, [])):
            grant = Table(raw, file, f"rollen.{code}.rights[{index}]")
            grants.append(
                Grant(
                    right=grant.get_choice("right", (*RIGHTS, ALL_RIGHTS), required=True),
                    scope=grant.get_choice("scope", SCOPES, required=True),
                    targets=tuple(grant.get_str_list("targets", allowed=ROLLENARTEN)),
                )
            )
            grant.done()
        max_per = table.get("max_per_organisation", int)
        if max_per is not None and max_per < 1:
            raise table.error("must be at least 1", "max_per_organisation")
        roles[code] = RoleDef(
            code=code,
            name=table.get("name", str, required=True),
            rollenart=table.get_choice("rollenart", ROLLENARTEN, required=True),
            org_types=tuple(table.get_str_list("org_types", allowed=ORG_TYPES, required=True)),
            grants=tuple(grants),
            max_per_organisation=max_per,
        )
        if not roles[code].org_types:
            raise table.error("must name at least one organisation type", "org_types")
        table.done()
    root.done()
    return roles
