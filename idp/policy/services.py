"""policies/services.toml: the services, who is entitled to each, and what each may receive."""

from __future__ import annotations

from dataclasses import dataclass

from idp.models.service import ActivationState
from idp.policy.tables import Table
from idp.policy.vocabulary import ATTRIBUTES, CONNECTORS, ORG_TYPES, PROTOCOLS, ROLLENARTEN

SCHOOL_TYPES = ("SCHULE", "KLASSE")


@dataclass(frozen=True)
class EntitlementRule:
    """People with an active context of one of `rollenarten` at one of `org_types`."""

    rollenarten: tuple[str, ...]
    org_types: tuple[str, ...]
    activation_from: ActivationState | None = None


@dataclass(frozen=True)
class ServiceDef:
    code: str
    name: str
    description: str
    protocol: str
    sensitive: bool
    connector: str | None
    activation: bool
    attributes: tuple[str, ...]
    entitled: tuple[EntitlementRule, ...]


def parse_services(data: dict, file: str) -> dict[str, ServiceDef]:
    root = Table(data, file, "")
    section = root.sub("services", required=True)
    services: dict[str, ServiceDef] = {}
    for code in section.data:
        table = section.sub(code)
        activation = table.get("activation", bool, False)
        rules = []
        for index, raw in enumerate(table.get("entitled", list, [])):
            rules.append(
                _parse_rule(Table(raw, file, f"services.{code}.entitled[{index}]"), activation)
            )
        if not rules:
            raise table.error("must name who is entitled (at least one [[entitled]])", "entitled")
        services[code] = ServiceDef(
            code=code,
            name=table.get("name", str, required=True),
            description=table.get("description", str, ""),
            protocol=table.get_choice("protocol", PROTOCOLS, required=True),
            sensitive=table.get("sensitive", bool, False),
            connector=table.get_choice("connector", CONNECTORS),
            activation=activation,
            attributes=tuple(table.get_str_list("attributes", allowed=ATTRIBUTES)),
            entitled=tuple(rules),
        )
        table.done()
    root.done()
    return services


def _parse_rule(rule: Table, activation: bool) -> EntitlementRule:
    org_types = tuple(rule.get_str_list("org_types", allowed=ORG_TYPES, required=True))
    states = [s.value for s in ActivationState]
    activation_from = rule.get_choice("activation_from", states)
    if activation_from is not None:
        if not activation:
            raise rule.error("needs `activation = true` on the service", "activation_from")
        if any(t not in SCHOOL_TYPES for t in org_types):
            raise rule.error(
                "applications are per school: org_types must be SCHULE or KLASSE", "activation_from"
            )
    elif activation and all(t in SCHOOL_TYPES for t in org_types):
        raise rule.error(
            "the service needs an application: say from which state on", "activation_from"
        )
    parsed = EntitlementRule(
        rollenarten=tuple(rule.get_str_list("rollenarten", allowed=ROLLENARTEN, required=True)),
        org_types=org_types,
        activation_from=ActivationState(activation_from) if activation_from else None,
    )
    rule.done()
    return parsed
