"""The LDAP import source against a real slapd: records, paging, attribute economy, problems."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE

from idp.config import load_config
from idp.imports.problems import ImportRejected
from idp.imports.records import KontextRecord, Origin, PersonRecord, SourceData
from idp.imports.sources.ldap import (
    DEFAULT_ATTRIBUTES,
    DEFAULT_ROLES,
    LdapSettings,
    parse_date,
    read_ldap,
)
from tests.slapd_server import SlapdServer

PEOPLE = "ou=people,dc=schule-mv,dc=de"
FEHLER = "ou=fehler,dc=schule-mv,dc=de"
AD = "ou=ad,dc=schule-mv,dc=de"
SERVICE_DN = "cn=idp-import,dc=schule-mv,dc=de"
SERVICE_PASSWORD = "import-geheim-4711"

# Attributes the state's directory has and inetOrgPerson lacks: a birth date as text, an end
# date as GeneralizedTime, and AD's binary objectGUID. OIDs from RFC 5612's example arc.
TEST_SCHEMA = """\
dn: cn=schulidp,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schulidp
olcAttributeTypes: ( 1.3.6.1.4.1.32473.1.1 NAME 'schulGeburtsdatum'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.32473.1.2 NAME 'schulGueltigBis'
  EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
olcAttributeTypes: ( 1.3.6.1.4.1.32473.1.3 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
olcObjectClasses: ( 1.3.6.1.4.1.32473.2.1 NAME 'schulIdpPerson' AUXILIARY
  MAY ( schulGeburtsdatum $ schulGueltigBis $ objectGUID ) )
"""

PERSON = ["inetOrgPerson", "schulIdpPerson"]
SENSITIVE = {
    "homePostalAddress": "Geheimweg 7$17033 Neubrandenburg",
    "telephoneNumber": "+49 395 5550123",
    "mail": "tim.vogel@privat.example",
    "userPassword": "kinderpasswort",
}

# (dn, attributes) of the persons whose records the tests spell out by hand.
SPECIAL = [
    (
        r"cn=O'Brien\, Sean," + PEOPLE,
        {
            "cn": "O'Brien, Sean",
            "givenName": "Sean",
            "sn": "O'Brien",
            "employeeType": "Lehrer",
            "departmentNumber": ["75001", "75002"],
        },
    ),
    (
        "uid=mueller.juergen," + PEOPLE,
        {
            "cn": "Jürgen Müller-Lüdenscheidt",
            "givenName": "Jürgen",
            "sn": "Müller-Lüdenscheidt",
            "employeeType": "Lehrer",
            "departmentNumber": "75001",
        },
    ),
    (
        "uid=weiss.joerg," + PEOPLE,
        {
            "cn": "Jörg Weiß",
            "givenName": "Jörg",
            "sn": "Weiß",
            "employeeType": ["Lehrer", "Schulleitung"],
            "departmentNumber": "75002",
        },
    ),
    (
        r"cn=Öztürk\, Ayşe," + PEOPLE,
        {
            "cn": "Öztürk, Ayşe",
            "givenName": "Ayşe",
            "sn": "Öztürk",
            "employeeType": "Paedagogische Fachkraft",
            "departmentNumber": "75003",
        },
    ),
    (
        "uid=dalessandro.doerte," + PEOPLE,
        {
            "cn": "Dörte D'Alessandro-Groß",
            "givenName": "Dörte",
            "sn": "D'Alessandro-Groß",
            "employeeType": "Referendar",
            "departmentNumber": "75001",
            "schulGueltigBis": "20270731000000Z",
        },
    ),
    (
        "uid=kowalczyk.zoe," + PEOPLE,
        {
            "cn": "Zoë Kowalczyk",
            "givenName": "Zoë",
            "sn": "Kowalczyk",
            "employeeType": "Schueler",
            "departmentNumber": "75003",
            "schulGeburtsdatum": "20120315000000Z",
        },
    ),
    (
        "uid=vogel.tim," + PEOPLE,
        {
            "cn": "Tim Vogel",
            "givenName": "Tim",
            "sn": "Vogel",
            "employeeType": "Schueler",
            "departmentNumber": "75002",
            "schulGeburtsdatum": "2011-11-30",
            **SENSITIVE,
        },
    ),
    (
        "uid=strasser.maenne," + PEOPLE,
        {
            "cn": "Männe Straßer",
            "givenName": "Männe",
            "sn": "Straßer",
            "employeeType": "Schueler",
            "departmentNumber": "75001",
            "schulGeburtsdatum": "2013-02-28",
        },
    ),
]
LEARNERS = 22  # generated learners, uid=lern01.., to make 30 persons in all
SCHOOLS = ["75001", "75002", "75003"]
VORNAMEN = ["Emma", "Ben", "Mia", "Paul", "Hannah", "Jonas", "Lea", "Finn", "Lina", "Elias", "Ida"]
FAMILIENNAMEN = ["Schröder", "Köhler", "Krüger", "Meißner", "Lange", "Böhm", "Jäger", "Voß"]


def learner(i: int) -> tuple[str, dict]:
    vorname, familienname = VORNAMEN[i % len(VORNAMEN)], FAMILIENNAMEN[i % len(FAMILIENNAMEN)]
    return (
        f"uid=lern{i:02d},{PEOPLE}",
        {
            "cn": f"{vorname} {familienname}",
            "givenName": vorname,
            "sn": familienname,
            "employeeType": "Schueler",
            "departmentNumber": SCHOOLS[i % 3],
            "schulGeburtsdatum": f"2010-{i % 12 + 1:02d}-{i + 1:02d}",
        },
    )


BAD = [
    (
        "uid=hausmeister," + FEHLER,
        {
            "cn": "Hans Hauser",
            "givenName": "Hans",
            "sn": "Hauser",
            "employeeNumber": "F1",
            "employeeType": "Hausmeister",
            "departmentNumber": "75001",
        },
    ),
    (
        "uid=ohne.schule," + FEHLER,
        {
            "cn": "Olga Ohneschule",
            "givenName": "Olga",
            "sn": "Ohneschule",
            "employeeNumber": "F2",
            "employeeType": "Lehrer",
        },
    ),
    (
        "uid=ohne.vorname," + FEHLER,
        {
            "cn": "Nachname",
            "sn": "Nurnachname",
            "employeeNumber": "F3",
            "employeeType": "Schueler",
            "departmentNumber": "75002",
        },
    ),
    (
        "uid=falsches.datum," + FEHLER,
        {
            "cn": "Fritz Februar",
            "givenName": "Fritz",
            "sn": "Februar",
            "employeeNumber": "F4",
            "employeeType": "Schueler",
            "departmentNumber": "75002",
            "schulGeburtsdatum": "2010-02-30",
        },
    ),
    (
        "uid=zwilling.a," + FEHLER,
        {
            "cn": "Anna Zwilling",
            "givenName": "Anna",
            "sn": "Zwilling",
            "employeeNumber": "F5",
            "employeeType": "Schueler",
            "departmentNumber": "75003",
        },
    ),
    (
        "uid=zwilling.b," + FEHLER,
        {
            "cn": "Berta Zwilling",
            "givenName": "Berta",
            "sn": "Zwilling",
            "employeeNumber": "F5",
            "employeeType": "Schueler",
            "departmentNumber": "75003",
        },
    ),
    (
        "uid=ok," + FEHLER,
        {
            "cn": "Otto Korrekt",
            "givenName": "Otto",
            "sn": "Korrekt",
            "employeeNumber": "F6",
            "employeeType": "Lehrer",
            "departmentNumber": "75001",
        },
    ),
]
AD_GUID = uuid.UUID("6f1c3f0e-2b7a-4d55-9a8e-0c1d2e3f4a5b")


@pytest.fixture(scope="session")
def slapd() -> Iterator[SlapdServer]:
    server = SlapdServer(schema=TEST_SCHEMA).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uuids(slapd: SlapdServer) -> dict[str, str]:
    """Load the directory once; the entryUUID of every person in ou=people, by DN."""
    conn = slapd.connect()
    conn.add(
        SERVICE_DN,
        ["organizationalRole", "simpleSecurityObject"],
        {"userPassword": SERVICE_PASSWORD},
    )
    for ou in ("fehler", "ad"):
        conn.add(f"ou={ou},dc=schule-mv,dc=de", ["organizationalUnit"])
    for dn, attributes in [*SPECIAL, *(learner(i) for i in range(1, LEARNERS + 1)), *BAD]:
        conn.add(dn, PERSON, attributes)
    conn.add(
        "cn=Ahmet Yılmaz," + AD,
        PERSON,
        {
            "givenName": "Ahmet",
            "sn": "Yılmaz",
            "employeeType": "Lehrer",
            "departmentNumber": "75003",
            "objectGUID": AD_GUID.bytes_le,
        },
    )
    conn.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["entryUUID"])
    found = {entry.entry_dn: str(entry.entryUUID.value) for entry in conn.entries}
    conn.unbind()
    return found


def settings(slapd: SlapdServer, **changes) -> LdapSettings:
    """The service account reading ou=people, with the test schema's dates mapped."""
    values = {
        "url": slapd.url,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "base": PEOPLE,
        "attributes": {
            **DEFAULT_ATTRIBUTES,
            "geburtsdatum": "schulGeburtsdatum",
            "valid_until": "schulGueltigBis",
        },
        **changes,
    }
    return LdapSettings(**values)


def record(
    slapd: SlapdServer,
    uuids: dict[str, str],
    dn: str,
    vorname: str,
    familienname: str,
    *kontexte: KontextRecord,
    geburtsdatum: dt.date | None = None,
) -> PersonRecord:
    return PersonRecord(
        external_id=uuids[dn],
        vorname=vorname,
        familienname=familienname,
        origin=Origin(f"{slapd.url}/{dn}", None),
        geburtsdatum=geburtsdatum,
        kontexte=kontexte,
    )


def schule(rolle: str, kennung: str, valid_until: dt.date | None = None) -> KontextRecord:
    return KontextRecord(rolle, "SCHULE", kennung, valid_until=valid_until)


def by_origin(data: SourceData) -> dict[str, PersonRecord]:
    return {person.origin.file: person for person in data.persons}


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every search the reader sends (one per page), with the attributes it asked for."""
    sent: list[dict] = []
    original = ldap3.Connection.search

    def search(self, search_base, search_filter, *args, **kwargs):
        sent.append({"base": search_base, "attributes": args[2] if len(args) > 2 else None})
        return original(self, search_base, search_filter, *args, **kwargs)

    monkeypatch.setattr(ldap3.Connection, "search", search)
    return sent


def test_reads_every_person_exactly(slapd: SlapdServer, uuids: dict[str, str]) -> None:
    data = read_ldap(settings(slapd), "verzeichnis")

    assert data.source == "ldap:verzeichnis"
    assert data.scope == {"75001", "75002", "75003"}
    assert data.orgs == [] and data.links == []
    assert list(data.files) == ["ldap"] and len(data.files["ldap"]) == 64
    assert [p.origin.file for p in data.persons] == sorted(p.origin.file for p in data.persons)
    expected = [
        # slapd returns an escaped comma in its hex form.
        record(
            slapd,
            uuids,
            r"cn=O'Brien\2C Sean," + PEOPLE,
            "Sean",
            "O'Brien",
            schule("LEHR", "75001"),
            schule("LEHR", "75002"),
        ),
        record(
            slapd,
            uuids,
            "uid=mueller.juergen," + PEOPLE,
            "Jürgen",
            "Müller-Lüdenscheidt",
            schule("LEHR", "75001"),
        ),
        record(
            slapd,
            uuids,
            "uid=weiss.joerg," + PEOPLE,
            "Jörg",
            "Weiß",
            schule("LEHR", "75002"),
            schule("SCHULLEITUNG", "75002"),
        ),
        record(
            slapd,
            uuids,
            r"cn=Öztürk\2C Ayşe," + PEOPLE,
            "Ayşe",
            "Öztürk",
            schule("PAEDFK", "75003"),
        ),
        record(
            slapd,
            uuids,
            "uid=dalessandro.doerte," + PEOPLE,
            "Dörte",
            "D'Alessandro-Groß",
            schule("REFERENDAR", "75001", valid_until=dt.date(2027, 7, 31)),
        ),
        record(
            slapd,
            uuids,
            "uid=kowalczyk.zoe," + PEOPLE,
            "Zoë",
            "Kowalczyk",
            schule("LERN", "75003"),
            geburtsdatum=dt.date(2012, 3, 15),
        ),
        record(
            slapd,
            uuids,
            "uid=vogel.tim," + PEOPLE,
            "Tim",
            "Vogel",
            schule("LERN", "75002"),
            geburtsdatum=dt.date(2011, 11, 30),
        ),
        record(
            slapd,
            uuids,
            "uid=strasser.maenne," + PEOPLE,
            "Männe",
            "Straßer",
            schule("LERN", "75001"),
            geburtsdatum=dt.date(2013, 2, 28),
        ),
    ]
    for i in range(1, LEARNERS + 1):
        dn, attrs = learner(i)
        expected.append(
            record(
                slapd,
                uuids,
                dn,
                attrs["givenName"],
                attrs["sn"],
                schule("LERN", attrs["departmentNumber"]),
                geburtsdatum=dt.date(2010, i % 12 + 1, i + 1),
            )
        )
    assert by_origin(data) == {p.origin.file: p for p in expected}
    assert len(data.persons) == 30


def test_pages_smaller_than_the_directory_read_the_same(
    slapd: SlapdServer, uuids: dict[str, str], searches: list[dict]
) -> None:
    whole = read_ldap(settings(slapd))
    searches.clear()

    paged = read_ldap(settings(slapd, page_size=7))

    assert len(searches) == 5  # 30 entries in pages of 7
    assert paged.persons == whole.persons
    assert paged.files == whole.files


def test_requests_only_the_mapped_attributes(
    slapd: SlapdServer, uuids: dict[str, str], searches: list[dict]
) -> None:
    data = read_ldap(settings(slapd))

    assert searches[0]["attributes"] == sorted(
        [
            "entryUUID",
            "givenName",
            "sn",
            "schulGeburtsdatum",
            "departmentNumber",
            "employeeType",
            "schulGueltigBis",
        ]
    )
    dumped = repr(data)
    for value in SENSITIVE.values():
        assert value not in dumped


def test_hash_follows_the_mapped_values_only(slapd: SlapdServer, uuids: dict[str, str]) -> None:
    before = read_ldap(settings(slapd)).files["ldap"]
    conn = slapd.connect()
    dn = "uid=vogel.tim," + PEOPLE
    try:
        conn.modify(dn, {"telephoneNumber": [(MODIFY_REPLACE, ["+49 395 5550999"])]})
        unmapped_changed = read_ldap(settings(slapd)).files["ldap"]
        conn.modify(dn, {"departmentNumber": [(MODIFY_ADD, ["75003"])]})
        mapped_changed = read_ldap(settings(slapd)).files["ldap"]
    finally:
        conn.modify(dn, {"telephoneNumber": [(MODIFY_REPLACE, [SENSITIVE["telephoneNumber"]])]})
        conn.modify(dn, {"departmentNumber": [(MODIFY_DELETE, ["75003"])]})
        conn.unbind()

    assert unmapped_changed == before
    assert mapped_changed != before
    assert read_ldap(settings(slapd)).files["ldap"] == before


def test_every_bad_entry_is_reported_with_dn_and_field(
    slapd: SlapdServer, uuids: dict[str, str]
) -> None:
    attributes = {**settings(slapd).attributes, "external_id": "employeeNumber"}

    with pytest.raises(ImportRejected) as caught:
        read_ldap(settings(slapd, base=FEHLER, attributes=attributes))

    where = f"{slapd.url}/{{}},{FEHLER}".format
    found = {(p.file, p.line, p.field): p.message for p in caught.value.problems}
    assert set(found) == {
        (where("uid=hausmeister"), None, "rolle"),
        (where("uid=ohne.schule"), None, "schulnummer"),
        (where("uid=ohne.vorname"), None, "vorname"),
        (where("uid=falsches.datum"), None, "geburtsdatum"),
        (where("uid=zwilling.b"), None, "external_id"),
    }
    assert "Hausmeister" in found[(where("uid=hausmeister"), None, "rolle")]
    assert "givenName" in found[(where("uid=ohne.vorname"), None, "vorname")]
    assert "departmentNumber" in found[(where("uid=ohne.schule"), None, "schulnummer")]
    assert "2010-02-30" in found[(where("uid=falsches.datum"), None, "geburtsdatum")]
    assert "uid=zwilling.a" in found[(where("uid=zwilling.b"), None, "external_id")]


def test_reads_active_directory_object_guid_as_uuid(
    slapd: SlapdServer, uuids: dict[str, str]
) -> None:
    attributes = {**settings(slapd).attributes, "external_id": "objectGUID"}

    data = read_ldap(settings(slapd, base=AD, attributes=attributes))

    assert [(p.external_id, p.vorname, p.familienname) for p in data.persons] == [
        (str(AD_GUID), "Ahmet", "Yılmaz")
    ]


def test_wrong_password_is_one_clear_problem(slapd: SlapdServer, uuids: dict[str, str]) -> None:
    with pytest.raises(ImportRejected) as caught:
        read_ldap(settings(slapd, bind_password="falsch-und-geheim"))

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (slapd.url, None, None)
    assert problem.message == (
        f"Anmeldung als {SERVICE_DN} abgelehnt: bind_dn oder Passwort falsch"
    )
    assert "falsch-und-geheim" not in str(caught.value)


def test_stopped_server_is_one_clear_problem() -> None:
    stopped = SlapdServer().start()
    stopped.stop()

    with pytest.raises(ImportRejected) as caught:
        read_ldap(settings(stopped, timeout=2))

    [problem] = caught.value.problems
    assert problem.file == stopped.url
    assert problem.message.startswith("LDAP-Server nicht erreichbar")
    assert SERVICE_PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"base": "ou=gibtsnicht,dc=schule-mv,dc=de"},
            "Suchbasis ou=gibtsnicht,dc=schule-mv,dc=de existiert nicht",
        ),
        (
            {"filter": "(objectClass=inetOrgPerson"},
            "Suchfilter ungültig: (objectClass=inetOrgPerson",
        ),
    ],
)
def test_bad_search_is_one_clear_problem(
    slapd: SlapdServer, uuids: dict[str, str], change: dict, message: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        read_ldap(settings(slapd, **change))

    assert [p.message for p in caught.value.problems] == [message]


def test_start_tls_refused_is_one_clear_problem(slapd: SlapdServer, uuids: dict[str, str]) -> None:
    with pytest.raises(ImportRejected) as caught:
        read_ldap(settings(slapd, start_tls=True))

    [problem] = caught.value.problems
    assert problem.message.startswith("StartTLS fehlgeschlagen")


def test_size_limit_rejects_the_partial_read(slapd: SlapdServer, uuids: dict[str, str]) -> None:
    # The admin is also the rootdn of cn=config, so the limit can be set on the live server.
    conn = slapd.connect()
    database = "olcDatabase={1}mdb,cn=config"
    limit = f'dn.exact="{SERVICE_DN}" size.prtotal=10'
    conn.modify(database, {"olcLimits": [(MODIFY_ADD, [limit])]})
    try:
        with pytest.raises(ImportRejected) as caught:
            read_ldap(settings(slapd, page_size=7))
    finally:
        conn.modify(database, {"olcLimits": [(MODIFY_DELETE, [limit])]})
        conn.unbind()

    [problem] = caught.value.problems
    assert "nicht vollständig" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20120315000000Z", dt.date(2012, 3, 15)),
        ("20120315000000.0Z", dt.date(2012, 3, 15)),
        ("201203150000+0100", dt.date(2012, 3, 15)),
        ("2012-03-15", dt.date(2012, 3, 15)),
    ],
)
def test_parse_date_accepts_generalized_time_and_iso(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["15.03.2012", "20120315", "2012-02-30", "2012-3-15", ""])
def test_parse_date_rejects_other_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_from_config_reads_the_import_ldap_table(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(
        '[import.ldap]\nurl = "ldaps://ad.schule-mv.de"\nbind_dn = "cn=idp,dc=schule-mv,dc=de"\n'
        'base = "ou=people,dc=schule-mv,dc=de"\npage_size = 200\n'
        '[import.ldap.attributes]\nexternal_id = "objectGUID"\ngeburtsdatum = "birthDate"\n'
        '[import.ldap.roles]\nLehrkraft = "LEHR"\n',
        encoding="utf-8",
    )
    table = load_config(path, env={"IDP_SECRET_KEY": "x"})["import"]["ldap"]

    result = LdapSettings.from_config(table, "pw-aus-datei")

    assert result == LdapSettings(
        url="ldaps://ad.schule-mv.de",
        bind_dn="cn=idp,dc=schule-mv,dc=de",
        bind_password="pw-aus-datei",
        base="ou=people,dc=schule-mv,dc=de",
        page_size=200,
        attributes={**DEFAULT_ATTRIBUTES, "external_id": "objectGUID", "geburtsdatum": "birthDate"},
        roles={"Lehrkraft": "LEHR"},
    )
    assert "pw-aus-datei" not in repr(result)


def test_from_config_keeps_the_default_roles() -> None:
    table = {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=a", "base": "dc=b", "roles": {}}

    assert LdapSettings.from_config(table, "pw").roles == DEFAULT_ROLES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 389}, r"import\.ldap\.port: unknown key"),
        ({"bind_password": "x"}, r"import\.ldap\.bind_password: not in the config file"),
        ({"page_size": "viel"}, r"import\.ldap\.page_size: wrong type str"),
        ({"start_tls": 1}, r"import\.ldap\.start_tls: wrong type int"),
        ({"page_size": True}, r"import\.ldap\.page_size: wrong type bool"),
        ({"page_size": 0}, r"import\.ldap\.page_size: must be at least 1"),
        ({"url": ""}, r"import\.ldap\.url: required"),
        ({"url": "http://ad"}, r"import\.ldap\.url: must start with ldap://"),
        ({"attributes": {"klasse": "ou"}}, r"import\.ldap\.attributes\.klasse: unknown field"),
        ({"attributes": {"vorname": ""}}, r"import\.ldap\.attributes\.vorname: required"),
        ({"attributes": {"vorname": 1}}, r"import\.ldap\.attributes\.vorname: expected a string"),
        ({"roles": {"Lehrer": ""}}, r"import\.ldap\.roles\.Lehrer: empty rolle code"),
    ],
)
def test_from_config_names_the_bad_key(change: dict, message: str) -> None:
    table = {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=a", "base": "dc=b", **change}

    with pytest.raises(ValueError, match=message):
        LdapSettings.from_config(table, "pw")


def test_from_config_refuses_an_empty_password() -> None:
    table = {"url": "ldap://127.0.0.1:389", "bind_dn": "cn=a", "base": "dc=b"}

    with pytest.raises(ValueError, match="bind password is empty"):
        LdapSettings.from_config(table, "")
