"""The fixed words the policy files may use: rollenarten, organisation types, rights, attributes."""

from __future__ import annotations

from idp.models.organisation import OrganisationTyp

# SchulConneX rollenarten.
ROLLENARTEN = ("LERN", "LEHR", "SORGBER", "NLEHR", "LEIT", "ORGADMIN", "SYSADMIN")

ORG_TYPES = tuple(t.value for t in OrganisationTyp)

# What an admin may do; each right is granted for a scope in policies/roles.toml.
RIGHTS = (
    "personen.lesen",
    "personen.bearbeiten",
    "kontexte.verwalten",
    "passwort.zuruecksetzen",
    "zweiter_faktor.zuruecksetzen",
    "sperren",
    "zugangsdaten.drucken",
    "optout.verwalten",
    "aktivierung.beantragen",
    "aktivierung.freigeben",
    "import.ausfuehren",
    "audit.lesen",
    "dienste.verwalten",
)
ALL_RIGHTS = "*"

SCOPES = ("organisation", "schultraeger", "land")

# What a service may be told about a person, besides its pseudonymous id.
ATTRIBUTES = (
    "username",
    "vorname",
    "familienname",
    "mail",
    "mail_aliases",
    "geburtsdatum",
    "rollenart",
    "rolle",
    "organisation_kennung",
    "organisation_name",
    "klasse",
    "schulart",
)

PROTOCOLS = ("oidc", "saml", "none")
CONNECTORS = ("ldap_mail", "itslearning", "scim")
