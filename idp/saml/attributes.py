"""What a SAML service provider learns: the attributes its service's policy releases, under
the names education federations use (eduPerson, SCHAC) and the SchulConneX URNs.

The policy (`idp.policy.entitlement.release`) decides what; this module only names it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from idp.policy.entitlement import PersonFacts, release
from idp.saml.attributemaps.schul_idp import MAP

MAP_DIR = str(Path(__file__).with_name("attributemaps"))

# SchulConneX rollenart -> eduPersonAffiliation values.
AFFILIATIONS = {
    "LERN": ("student", "member"),
    "LEHR": ("faculty", "member"),
    "LEIT": ("faculty", "staff", "member"),
    "NLEHR": ("staff", "member"),
    "ORGADMIN": ("staff", "member"),
    "SYSADMIN": ("staff", "member"),
    "SORGBER": ("affiliate",),
}
# policy attribute -> SAML attribute (FriendlyName) carrying the same values
DIRECT = {
    "vorname": "givenName",
    "familienname": "sn",
    "mail": "mail",
    "rollenart": "schulconnexRolle",
    "rolle": "schulconnexRollenbezeichnung",
    "organisation_kennung": "schulconnexOrganisationKennung",
    "organisation_name": "schulconnexOrganisationName",
    "klasse": "schulconnexKlasse",
    "schulart": "schulconnexSchulart",
}
# Every name we may send, in the order a reader of the metadata expects them.
SUPPORTED = tuple(MAP["to"])


def saml_attributes(policies, facts: PersonFacts, service: str, scope: str) -> dict[str, list[str]]:
    """The attributes for `service`, as {FriendlyName: [values]} (empty ones left out)."""
    released = release(policies, facts, service)
    values: dict[str, list[str]] = {}
    for attribute, value in released.items():
        if value in (None, "", []):
            continue
        items = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        if attribute in DIRECT:
            values[DIRECT[attribute]] = items
        if attribute == "username":
            values["uid"] = items
            values["eduPersonPrincipalName"] = [f"{items[0]}@{scope}"]
        elif attribute == "geburtsdatum":
            values["schacDateOfBirth"] = [_compact_date(value)]
        elif attribute == "rollenart":
            affiliations = sorted({a for kind in items for a in AFFILIATIONS.get(kind, ())})
            if affiliations:
                values["eduPersonAffiliation"] = affiliations
                values["eduPersonScopedAffiliation"] = [f"{a}@{scope}" for a in affiliations]
    if "givenName" in values and "sn" in values:
        values["displayName"] = [f"{values['givenName'][0]} {values['sn'][0]}"]
    return values


def _compact_date(value: object) -> str:
    """SCHAC's YYYYMMDD."""
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    return str(value).replace("-", "")[:8]
