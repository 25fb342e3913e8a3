"""The attributes we send over SAML: eduPerson and friends by their OIDs, SchulConneX by URN.

pysaml2 loads this module as an attribute map (`attribute_map_dir`); `idp.saml.attributes`
decides which of them a service receives.
"""

SCHULCONNEX = "urn:schulconnex:de"

MAP = {
    "identifier": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
    "to": {
        "uid": "urn:oid:0.9.2342.19200300.100.1.1",
        "eduPersonPrincipalName": "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
        "eduPersonAffiliation": "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
        "eduPersonScopedAffiliation": "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "givenName": "urn:oid:2.5.4.42",
        "sn": "urn:oid:2.5.4.4",
        "displayName": "urn:oid:2.16.840.1.113730.3.1.241",
        "mail": "urn:oid:0.9.2342.19200300.100.1.3",
        "schacDateOfBirth": "urn:oid:1.3.6.1.4.1.25178.1.2.3",
        "schulconnexRolle": f"{SCHULCONNEX}:personenkontext:rolle",
        "schulconnexRollenbezeichnung": f"{SCHULCONNEX}:personenkontext:rollenbezeichnung",
        "schulconnexOrganisationKennung": f"{SCHULCONNEX}:organisation:kennung",
        "schulconnexOrganisationName": f"{SCHULCONNEX}:organisation:name",
        "schulconnexKlasse": f"{SCHULCONNEX}:gruppe:klasse",
        "schulconnexSchulart": f"{SCHULCONNEX}:organisation:schulart",
    },
}
