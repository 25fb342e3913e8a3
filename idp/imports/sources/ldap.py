"""Import source: persons from an LDAP directory (today the state's Active Directory).

The search requests only the attributes the mapping names, so nothing else of an entry
(addresses, phone numbers, group memberships) ever reaches the import. Every entry becomes one
`PersonRecord` with one Personenkontext per role and Schulnummer; every bad entry becomes a
`Problem`, and any problem rejects the whole read, as a partial directory would make the
planner end the contexts of everyone it did not see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ldap3 import (
    AUTO_BIND_NO_TLS,
    AUTO_BIND_TLS_BEFORE_BIND,
    NONE,
    SIMPLE,
    SUBTREE,
    SYNC,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import (
    LDAPBindError,
    LDAPCommunicationError,
    LDAPException,
    LDAPInvalidCredentialsResult,
    LDAPInvalidFilterError,
    LDAPNoSuchObjectResult,
    LDAPOperationResult,
    LDAPStartTLSError,
)
from ldap3.core.results import RESULT_SUCCESS

from idp.imports.problems import ImportRejected, Problem
from idp.imports.records import KontextRecord, Origin, PersonRecord, SourceData

CONFIG_TABLE = "import.ldap"
DEFAULT_FILTER = "(objectClass=inetOrgPerson)"

# Our field -> LDAP attribute; "" means the field is not read.
DEFAULT_ATTRIBUTES: dict[str, str] = {
    "external_id": "entryUUID",
    "vorname": "givenName",
    "familienname": "sn",
    "geburtsdatum": "",
    "schulnummer": "departmentNumber",
    "rolle": "employeeType",
    "valid_until": "",
}
REQUIRED_FIELDS = ("external_id", "vorname", "familienname", "schulnummer", "rolle")

# LDAP role value -> rolle code of policies/roles.toml.
DEFAULT_ROLES: dict[str, str] = {
    "Lehrer": "LEHR",
    "Schueler": "LERN",
    "Referendar": "REFERENDAR",
    "Paedagogische Fachkraft": "PAEDFK",
    "Schulleitung": "SCHULLEITUNG",
}

_CONFIG_TYPES: dict[str, type | tuple[type, ...]] = {
    "url": str,
    "bind_dn": str,
    "base": str,
    "filter": str,
    "page_size": int,
    "start_tls": bool,
    "timeout": (int, float),
    "attributes": dict,
    "roles": dict,
}
# Keys of [import.ldap] that the caller resolves before calling from_config.
_CALLER_KEYS = {"name", "bind_password_file"}

# Active Directory's objectGUID is 16 raw bytes in Microsoft's byte order; as an external id
# it is read as the UUID string that AD's own tools show.
_BINARY_GUID_ATTRIBUTES = {"objectguid"}

_GENERALIZED_TIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2})?)?)?(?:[.,]\d+)?(?:Z|[+-]\d{2}(?:\d{2})?)"
)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class LdapSettings:
    """Where and how to read the directory; values are checked on creation (ValueError)."""

    url: str
    bind_dn: str
    bind_password: str = field(repr=False)
    base: str
    filter: str = DEFAULT_FILTER
    page_size: int = 500
    start_tls: bool = False
    timeout: float = 10
    attributes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTES))
    roles: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ROLES))

    def __post_init__(self) -> None:
        for name in ("url", "bind_dn", "base"):
            if not getattr(self, name):
                raise ValueError(f"{_key(name)}: required")
        if not self.url.startswith(("ldap://", "ldaps://")):
            raise ValueError(f"{_key('url')}: must start with ldap:// or ldaps://")
        if not self.bind_password:
            # A simple bind with a DN and no password is an anonymous bind that many servers
            # accept; it must never pass for a login.
            raise ValueError(f"{CONFIG_TABLE}: the bind password is empty")
        if self.page_size < 1:
            raise ValueError(f"{_key('page_size')}: must be at least 1")
        if self.timeout <= 0:
            raise ValueError(f"{_key('timeout')}: must be positive")
        for name in self.attributes.keys() - DEFAULT_ATTRIBUTES.keys():
            raise ValueError(f"{_key('attributes')}.{name}: unknown field")
        for name in DEFAULT_ATTRIBUTES.keys() - self.attributes.keys():
            raise ValueError(f"{_key('attributes')}.{name}: missing")
        for name in REQUIRED_FIELDS:
            if not self.attributes[name]:
                raise ValueError(f"{_key('attributes')}.{name}: required")
        if not self.roles:
            raise ValueError(f"{_key('roles')}: no role mapped")
        for value, code in self.roles.items():
            if not code:
                raise ValueError(f"{_key('roles')}.{value}: empty rolle code")

    @classmethod
    def from_config(cls, table: Mapping[str, Any], password: str) -> LdapSettings:
        """Settings from the `[import.ldap]` table; empty `attributes`/`roles` keep the defaults."""
        for key, value in table.items():
            if key in _CALLER_KEYS:
                continue
            if key == "bind_password":
                raise ValueError(f"{_key(key)}: not in the config file, use a password file")
            if key not in _CONFIG_TYPES:
                raise ValueError(f"{_key(key)}: unknown key")
            if not _has_type(value, _CONFIG_TYPES[key]):
                raise ValueError(f"{_key(key)}: wrong type {type(value).__name__}")
        given = {k: v for k, v in table.items() if k in _CONFIG_TYPES}
        attributes = _strings(given.pop("attributes", {}), "attributes")
        roles = _strings(given.pop("roles", {}), "roles")
        for name in ("url", "bind_dn", "base"):
            given.setdefault(name, "")
        return cls(
            bind_password=password,
            attributes={**DEFAULT_ATTRIBUTES, **attributes},
            roles=roles or dict(DEFAULT_ROLES),
            **given,
        )


def read_ldap(settings: LdapSettings, source_name: str = "ldap") -> SourceData:
    """Read every person under `settings.base`; ImportRejected lists every problem found."""
    entries = sorted(_fetch(settings), key=lambda entry: entry[0])
    data = SourceData(source=f"ldap:{source_name}", files={"ldap": _digest(entries)})
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    for dn, values in entries:
        where = f"{settings.url.rstrip('/')}/{dn}"
        person = _EntryReader(settings, where, values, problems).person()
        if person is None:
            continue
        if person.external_id in first_seen:
            problems.append(
                Problem(
                    where,
                    None,
                    "external_id",
                    f"{person.external_id} kommt doppelt vor, auch bei "
                    f"{first_seen[person.external_id]}",
                )
            )
            continue
        first_seen[person.external_id] = dn
        data.persons.append(person)
        data.scope.update(k.org_kennung for k in person.kontexte)
    if problems:
        raise ImportRejected(problems)
    return data


def parse_date(text: str) -> dt.date:
    """A calendar date from LDAP GeneralizedTime (`YYYYMMDD...Z`) or ISO (`YYYY-MM-DD`).

    The time part (usually 000000Z) is dropped rather than shifted across time zones: a birth
    or end date means a day, not an instant.
    """
    match = _GENERALIZED_TIME.fullmatch(text) or _ISO_DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a date: {text!r}")
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


_RawEntry = tuple[str, dict[str, list[bytes]]]


def _fetch(settings: LdapSettings) -> list[_RawEntry]:
    wanted = sorted({name for name in settings.attributes.values() if name})
    try:
        connection = _connect(settings)
        try:
            responses = connection.extend.standard.paged_search(
                settings.base,
                settings.filter,
                SUBTREE,
                attributes=wanted,
                paged_size=settings.page_size,
                paged_criticality=True,
                generator=True,
            )
            # searchResRef answers (AD's pointers to other partitions) are not persons.
            entries = [
                (r["dn"], {k.lower(): list(v) for k, v in r["raw_attributes"].items()})
                for r in responses
                if r["type"] == "searchResEntry"
            ]
            outcome = connection.result
        finally:
            connection.unbind()
    except LDAPException as exc:
        raise _rejected(settings, _explain(exc, settings)) from None
    # ldap3 does not raise on a size or time limit: the entries so far would look complete.
    if outcome["result"] != RESULT_SUCCESS:
        raise _rejected(
            settings,
            f"Suche abgebrochen ({outcome['description']}), Verzeichnis nicht vollständig gelesen",
        )
    return entries


def _connect(settings: LdapSettings) -> Connection:
    server = Server(
        settings.url,
        get_info=NONE,
        connect_timeout=settings.timeout,
        tls=Tls(validate=ssl.CERT_REQUIRED),
    )
    return Connection(
        server,
        user=settings.bind_dn,
        password=settings.bind_password,
        authentication=SIMPLE,
        client_strategy=SYNC,
        auto_bind=AUTO_BIND_TLS_BEFORE_BIND if settings.start_tls else AUTO_BIND_NO_TLS,
        receive_timeout=settings.timeout,
        raise_exceptions=True,
        read_only=True,
        # A referral would send our bind password to whatever server it names.
        auto_referrals=False,
    )


def _rejected(settings: LdapSettings, message: str) -> ImportRejected:
    return ImportRejected([Problem(settings.url, None, None, message)])


def _explain(exc: LDAPException, settings: LdapSettings) -> str:
    if isinstance(exc, LDAPInvalidCredentialsResult | LDAPBindError):
        return f"Anmeldung als {settings.bind_dn} abgelehnt: bind_dn oder Passwort falsch"
    if isinstance(exc, LDAPStartTLSError):
        return f"StartTLS fehlgeschlagen: {exc}"
    # StartTLS is the only extended operation the reader sends; a server without TLS refuses it.
    if isinstance(exc, LDAPOperationResult) and exc.type == "extendedResp":
        return f"StartTLS fehlgeschlagen: {exc.description}: {exc.message}"
    if isinstance(exc, LDAPCommunicationError):
        return f"LDAP-Server nicht erreichbar oder Verbindung abgebrochen: {exc}"
    if isinstance(exc, LDAPNoSuchObjectResult):
        return f"Suchbasis {settings.base} existiert nicht"
    if isinstance(exc, LDAPInvalidFilterError):
        return f"Suchfilter ungültig: {settings.filter}"
    if isinstance(exc, LDAPOperationResult):
        return f"LDAP-Server meldet {exc.description}: {exc.message}".rstrip(": ")
    return f"LDAP-Fehler: {exc}"


def _digest(entries: list[_RawEntry]) -> str:
    canonical = [
        [dn, sorted([name, sorted(v.hex() for v in values)] for name, values in attrs.items())]
        for dn, attrs in entries
    ]
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class _EntryReader:
    """Reads one entry by our field names; problems go to the shared list."""

    def __init__(
        self,
        settings: LdapSettings,
        where: str,
        values: dict[str, list[bytes]],
        problems: list[Problem],
    ) -> None:
        self.settings = settings
        self.where = where
        self.values = values
        self.problems = problems

    def person(self) -> PersonRecord | None:
        before = len(self.problems)
        external_id = self._one("external_id")
        vorname = self._one("vorname")
        familienname = self._one("familienname")
        geburtsdatum = self._date("geburtsdatum")
        valid_until = self._date("valid_until")
        rollen = self._rollen()
        schulen = self._all("schulnummer")
        if not schulen:
            attribute = self.settings.attributes["schulnummer"]
            self._problem("schulnummer", f"Attribut {attribute} fehlt (keine Schulnummer)")
        if len(self.problems) > before or not (external_id and vorname and familienname):
            return None
        kontexte = tuple(
            KontextRecord(rolle, "SCHULE", schule, valid_until=valid_until)
            for schule in schulen
            for rolle in rollen
        )
        return PersonRecord(
            external_id=external_id,
            vorname=vorname,
            familienname=familienname,
            origin=Origin(file=self.where, line=None),
            geburtsdatum=geburtsdatum,
            kontexte=kontexte,
        )

    def _all(self, name: str) -> list[str]:
        """The field's distinct non-blank values, sorted: LDAP values have no order."""
        attribute = self.settings.attributes[name]
        texts = set()
        for raw in self.values.get(attribute.lower(), []):
            text = self._text(name, attribute, raw)
            if text:
                texts.add(text)
        return sorted(texts)

    def _one(self, name: str) -> str | None:
        values = self._all(name)
        if len(values) > 1:
            self._problem(
                name,
                f"{len(values)} Werte in {self.settings.attributes[name]}, erwartet genau einer",
            )
            return None
        if not values and name in REQUIRED_FIELDS:
            self._problem(name, f"Attribut {self.settings.attributes[name]} fehlt")
            return None
        return values[0] if values else None

    def _date(self, name: str) -> dt.date | None:
        if not self.settings.attributes[name]:
            return None
        text = self._one(name)
        if text is None:
            return None
        try:
            return parse_date(text)
        except ValueError:
            self._problem(name, f"ungültiges Datum {text!r}, erwartet JJJJMMTT…Z oder JJJJ-MM-TT")
            return None

    def _rollen(self) -> list[str]:
        codes = set()
        values = self._all("rolle")
        if not values:
            self._problem("rolle", f"Attribut {self.settings.attributes['rolle']} fehlt")
        for value in values:
            if value in self.settings.roles:
                codes.add(self.settings.roles[value])
            else:
                known = ", ".join(sorted(self.settings.roles))
                self._problem("rolle", f"unbekannte Rolle {value!r} (bekannt: {known})")
        return sorted(codes)

    def _text(self, name: str, attribute: str, raw: bytes) -> str:
        if name == "external_id" and attribute.lower() in _BINARY_GUID_ATTRIBUTES:
            if len(raw) == 16:
                return str(uuid.UUID(bytes_le=raw))
            self._problem(name, f"{attribute} ist keine GUID (16 Bytes)")
            return ""
        try:
            return raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            self._problem(name, f"{attribute} ist kein UTF-8-Text")
            return ""

    def _problem(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.where, None, name, message))


def _key(name: str) -> str:
    return f"{CONFIG_TABLE}.{name}"


def _has_type(value: object, typ: type | tuple[type, ...]) -> bool:
    # bool is an int in Python; `page_size = true` is still wrong.
    if isinstance(value, bool) and typ is not bool:
        return False
    return isinstance(value, typ)


def _strings(table: dict, name: str) -> dict[str, str]:
    for key, value in table.items():
        if not isinstance(value, str):
            raise ValueError(f"{_key(name)}.{key}: expected a string, got {type(value).__name__}")
    return dict(table)
