"""The one answer to "may person P use service S" and "what may S receive".

Every part that lets people in or provisions accounts (OIDC, SAML, connectors, console) asks
these functions; none re-implements the rules. They work on plain facts (`PersonFacts`), so
the same rules serve a single login and a bulk run over the whole state.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field

from idp.models.service import ActivationState
from idp.policy.loader import Policies
from idp.policy.services import EntitlementRule, ServiceDef


@dataclass(frozen=True)
class KontextFacts:
    """One Personenkontext, active on the day the facts were taken."""

    rolle: str
    rollenart: str
    org_typ: str
    org_kennung: str
    org_name: str
    schule_id: uuid.UUID | None = None  # the school (for a Klasse: its parent)
    klasse: str | None = None
    schulart: str | None = None


@dataclass(frozen=True)
class PersonFacts:
    person_id: uuid.UUID
    status: str
    kontexte: tuple[KontextFacts, ...]
    opt_outs: frozenset[str] = frozenset()
    # (schule_id, service code) -> state of that school's application
    activations: dict[tuple[uuid.UUID, str], ActivationState] = field(default_factory=dict)
    attributes: dict[str, object] = field(default_factory=dict)


class Reason(enum.StrEnum):
    ERLAUBT = "erlaubt"
    UNBEKANNTER_DIENST = "unbekannter_dienst"
    KONTO_NICHT_AKTIV = "konto_nicht_aktiv"
    KEINE_AKTIVEN_KONTEXTE = "keine_aktiven_kontexte"
    WIDERSPRUCH = "widerspruch"
    SCHULE_NICHT_FREIGESCHALTET = "schule_nicht_freigeschaltet"
    KEINE_BERECHTIGUNG = "keine_berechtigung"


MESSAGES = {
    Reason.ERLAUBT: "Sie dürfen diesen Dienst nutzen.",
    Reason.UNBEKANNTER_DIENST: "Dieser Dienst ist nicht bekannt.",
    Reason.KONTO_NICHT_AKTIV: "Ihr Zugang ist gesperrt.",
    Reason.KEINE_AKTIVEN_KONTEXTE: "Sie sind derzeit keiner Schule oder Dienststelle zugeordnet.",
    Reason.WIDERSPRUCH: "Sie haben der Nutzung dieses Dienstes widersprochen.",
    Reason.SCHULE_NICHT_FREIGESCHALTET: "Ihre Schule hat diesen Dienst noch nicht freigeschaltet.",
    Reason.KEINE_BERECHTIGUNG: "Ihre Rolle berechtigt nicht zur Nutzung dieses Dienstes.",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason
    kontexte: tuple[KontextFacts, ...] = ()  # the contexts that grant it

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]


def entitlement(policies: Policies, facts: PersonFacts, service_code: str) -> Decision:
    """Decide whether the person may use the service, and through which contexts."""
    service = policies.services.get(service_code)
    if service is None:
        return Decision(False, Reason.UNBEKANNTER_DIENST)
    if facts.status != "aktiv":
        return Decision(False, Reason.KONTO_NICHT_AKTIV)
    if not facts.kontexte:
        return Decision(False, Reason.KEINE_AKTIVEN_KONTEXTE)
    if service_code in facts.opt_outs:
        return Decision(False, Reason.WIDERSPRUCH)
    granting: list[KontextFacts] = []
    waiting_for_school = False
    for kontext in facts.kontexte:
        for rule in service.entitled:
            if not _rule_matches(rule, kontext):
                continue
            if _activation_reached(rule, service, kontext, facts):
                granting.append(kontext)
                break
            waiting_for_school = True
    if granting:
        return Decision(True, Reason.ERLAUBT, tuple(granting))
    if waiting_for_school:
        return Decision(False, Reason.SCHULE_NICHT_FREIGESCHALTET)
    return Decision(False, Reason.KEINE_BERECHTIGUNG)


def possible_roles(policies: Policies, service_codes) -> frozenset[str]:
    """The roles whose contexts could grant one of the services. A person with no context of
    these roles is not entitled to any of them, whatever else is true (a cheap pre-filter
    for work over many persons)."""
    rollenarten = {
        rollenart
        for code in service_codes
        if code in policies.services
        for rule in policies.services[code].entitled
        for rollenart in rule.rollenarten
    }
    return frozenset(code for code, role in policies.roles.items() if role.rollenart in rollenarten)


def released_attributes(policies: Policies, service_code: str) -> frozenset[str]:
    """The attribute names the service may receive (its pseudonymous id is always sent)."""
    return frozenset(policies.services[service_code].attributes)


def release(
    policies: Policies, facts: PersonFacts, service_code: str, decision: Decision | None = None
) -> dict[str, object]:
    """The person's attributes, cut down to what the service may receive.

    Context attributes (rollenart, organisation, klasse) come only from the contexts that
    grant the service, so a teacher's second school does not leak to the first's services.
    `decision`: the entitlement to the service, if the caller has it already.
    """
    if decision is None:
        decision = entitlement(policies, facts, service_code)
    if not decision.allowed:
        return {}
    allowed = released_attributes(policies, service_code)
    values: dict[str, object] = {k: v for k, v in facts.attributes.items() if k in allowed}
    per_kontext = {
        "rollenart": lambda k: k.rollenart,
        "rolle": lambda k: k.rolle,
        "organisation_kennung": lambda k: k.org_kennung,
        "organisation_name": lambda k: k.org_name,
        "klasse": lambda k: k.klasse,
        "schulart": lambda k: k.schulart,
    }
    relevant = _relevant_kontexte(decision.kontexte, facts.kontexte)
    for name, pick in per_kontext.items():
        if name in allowed:
            found = sorted({v for v in (pick(k) for k in relevant) if v})
            if found:
                values[name] = found
    return values


def _relevant_kontexte(
    granting: tuple[KontextFacts, ...], all_kontexte: tuple[KontextFacts, ...]
) -> list[KontextFacts]:
    """The granting contexts plus the classes the person has at the granting schools."""
    schools = {k.schule_id for k in granting if k.schule_id is not None}
    granted = {id(k) for k in granting}  # the same objects: no field-by-field comparison
    return [
        *granting,
        *(
            k
            for k in all_kontexte
            if k.org_typ == "KLASSE" and k.schule_id in schools and id(k) not in granted
        ),
    ]


def _rule_matches(rule: EntitlementRule, kontext: KontextFacts) -> bool:
    return kontext.rollenart in rule.rollenarten and kontext.org_typ in rule.org_types


def _activation_reached(
    rule: EntitlementRule, service: ServiceDef, kontext: KontextFacts, facts: PersonFacts
) -> bool:
    if rule.activation_from is None:
        return True
    if kontext.schule_id is None:
        return False
    state = facts.activations.get((kontext.schule_id, service.code))
    return state is not None and state.rank >= rule.activation_from.rank
