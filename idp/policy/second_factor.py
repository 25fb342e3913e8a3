"""Who must log in with a second factor, and who needs the longer password."""

from __future__ import annotations

from collections.abc import Iterable

from idp.policy.entitlement import PersonFacts, entitlement
from idp.policy.loader import Policies

# (rolle, organisation type) of one active Personenkontext
RoleAt = tuple[str, str]


def has_admin_rights(policies: Policies, facts: PersonFacts) -> bool:
    """Holds an active role with any right over other people or organisations."""
    return any(policies.roles[k.rolle].is_admin for k in facts.kontexte)


def sensitive_services(policies: Policies, facts: PersonFacts) -> list[str]:
    """The sensitive services the person may use now."""
    return [
        code
        for code, service in policies.services.items()
        if service.sensitive and entitlement(policies, facts, code).allowed
    ]


def second_factor_required(policies: Policies, facts: PersonFacts) -> bool:
    """Admins and everyone entitled to a sensitive service need a second factor."""
    return has_admin_rights(policies, facts) or bool(sensitive_services(policies, facts))


def decided_by_roles(policies: Policies, roles: Iterable[RoleAt]) -> bool | None:
    """The same answer from the roles alone, where they suffice; None where they do not.

    An admin role means yes; no role matching any sensitive service's rules means no. Only in
    between (a matching rule, but opt-outs or a school's activation might still say no) do the
    full facts have to be read. Logins ask this first: most people are learners.
    """
    roles = list(roles)
    if any(policies.roles[rolle].is_admin for rolle, _ in roles):
        return True
    for service in policies.services.values():
        if not service.sensitive:
            continue
        for rule in service.entitled:
            for rolle, org_typ in roles:
                if (
                    policies.roles[rolle].rollenart in rule.rollenarten
                    and org_typ in rule.org_types
                ):
                    return None
    return False
