"""Who must log in with a second factor, and who needs the longer password."""

from __future__ import annotations

from idp.policy.entitlement import PersonFacts, entitlement
from idp.policy.loader import Policies


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
