"""The itslearning connector against the strict local IMS ES endpoint (tests/itslearning_endpoint).

Every write goes over real HTTP into the endpoint, whose state is then checked; the invalid
cases are the ones itslearning documents (missing mandatory fields, unknown ids, duplicates).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from functools import partial
from xml.etree.ElementTree import Element

import pytest

from connectors import ims_enterprise as ims
from connectors.base import (
    INSTRUCTOR,
    LEARNER,
    Account,
    Group,
    Membership,
    RecordRejected,
    TargetUnavailable,
)
from connectors.itslearning import ItslearningConnector, export_enterprise_xml, from_config
from connectors.settings import ConnectorConfigError
from idp.config import load_config
from tests.itslearning_endpoint import ItslearningEndpoint

SCHOOL = Group("750001", "750001 Gymnasium Am Goetheplatz", "schule")
CLASS_7B = Group("750001/7b", "7b", "klasse", parent="750001")


def teacher(**attributes) -> Account:
    released = {
        "username": "anna.schulz",
        "vorname": "Anna",
        "familienname": "Schulz",
        "mail": "anna.schulz@schule-mv.de",
        "rollenart": ["LEHR"],
        **attributes,
    }
    return Account(
        "sub-teacher",
        {k: v for k, v in released.items() if v is not None},
        memberships=(Membership("750001", INSTRUCTOR), Membership("750001/7b", INSTRUCTOR)),
    )


def learner(key: str = "sub-learner", username: str = "ben.meyer", **changes) -> Account:
    fields = {
        "attributes": {
            "username": username,
            "vorname": "Ben",
            "familienname": "Meyer",
            "rollenart": ["LERN"],
        },
        "memberships": (Membership("750001", LEARNER), Membership("750001/7b", LEARNER)),
        **changes,
    }
    return Account(key, **fields)


@pytest.fixture
def endpoint() -> Iterator[ItslearningEndpoint]:
    server = ItslearningEndpoint(root="MV").start()
    yield server
    server.stop()


@pytest.fixture
def connector(endpoint: ItslearningEndpoint) -> Iterator[ItslearningConnector]:
    conn = ItslearningConnector(
        endpoint.url, endpoint.username, endpoint.password, root="MV", timeout=5
    )
    yield conn
    conn.close()


@pytest.fixture
def school(connector: ItslearningConnector) -> None:
    connector.upsert_group(SCHOOL)
    connector.upsert_group(CLASS_7B)


# --- writes ---------------------------------------------------------------------------------


def test_school_and_class_become_groups_under_the_site(connector, endpoint):
    connector.upsert_group(SCHOOL)
    connector.upsert_group(CLASS_7B)

    assert endpoint.groups["750001"] == ims.GroupRecord(
        "750001", "750001 Gymnasium Am Goetheplatz", "School", "MV"
    )
    assert endpoint.groups["750001/7b"] == ims.GroupRecord(
        "750001/7b", "7b", "Unspecified", "750001"
    )


def test_teacher_and_learner_become_persons_with_memberships(connector, endpoint, school):
    connector.upsert_account(teacher())
    connector.upsert_account(learner())

    assert endpoint.persons["sub-teacher"] == ims.PersonRecord(
        "sub-teacher", "Anna", "Schulz", "anna.schulz", "Staff", "anna.schulz@schule-mv.de"
    )
    assert endpoint.persons["sub-learner"] == ims.PersonRecord(
        "sub-learner", "Ben", "Meyer", "ben.meyer", "Student", None
    )
    held = {(m.group, m.person, m.role) for m in endpoint.memberships.values()}
    assert held == {
        ("750001", "sub-teacher", "Instructor"),
        ("750001/7b", "sub-teacher", "Instructor"),
        ("750001", "sub-learner", "Learner"),
        ("750001/7b", "sub-learner", "Learner"),
    }


def test_upserts_are_idempotent(connector, endpoint, school):
    connector.upsert_account(teacher())
    writes = endpoint.writes()

    connector.upsert_group(SCHOOL)
    connector.upsert_group(CLASS_7B)
    connector.upsert_account(teacher())

    assert endpoint.writes() == writes  # only reads the second time


def test_changes_are_updates(connector, endpoint, school):
    connector.upsert_account(teacher())

    connector.upsert_group(Group("750001/7b", "7b (Goethe)", "klasse", parent="750001"))
    moved = Account(
        "sub-teacher",
        {
            "username": "anna.schulz",
            "vorname": "Anna",
            "familienname": "Schulz-Berg",
            "rollenart": ["LEHR"],
        },
        memberships=(Membership("750001", INSTRUCTOR), Membership("750001/7b", LEARNER)),
    )
    connector.upsert_account(moved)

    assert endpoint.groups["750001/7b"].name == "7b (Goethe)"
    person = endpoint.persons["sub-teacher"]
    assert (person.family, person.email) == ("Schulz-Berg", None)  # mail no longer released
    assert {(m.group, m.role) for m in endpoint.memberships.values()} == {
        ("750001", "Instructor"),
        ("750001/7b", "Learner"),
    }
    assert endpoint.writes()[-3:] == ["updateGroup", "updatePerson", "updateMembership"]


def test_leaving_a_class_deletes_that_membership(connector, endpoint, school):
    connector.upsert_account(learner())

    connector.upsert_account(learner(memberships=(Membership("750001", LEARNER),)))

    assert [m.group for m in endpoint.memberships.values()] == ["750001"]
    assert endpoint.writes()[-1] == "deleteMembership"


def test_inactive_account_keeps_its_person_without_memberships(connector, endpoint, school):
    connector.upsert_account(learner())

    connector.upsert_account(learner(active=False))

    assert "sub-learner" in endpoint.persons
    assert endpoint.memberships == {}


def test_delete_account_and_group(connector, endpoint, school):
    connector.upsert_account(learner())

    connector.delete_account("sub-learner")
    connector.delete_group("750001/7b")

    assert "sub-learner" not in endpoint.persons
    assert endpoint.memberships == {}
    assert "750001/7b" not in endpoint.groups
    writes = endpoint.writes()
    connector.delete_account("sub-learner")  # absent: no error, nothing sent
    connector.delete_group("750001/7b")
    assert endpoint.writes() == writes


def test_only_released_fields_reach_itslearning(connector, endpoint, school):
    account = learner()
    account = Account(
        account.key,
        {**account.attributes, "geburtsdatum": "2012-04-01", "klasse": ["7b"]},
        memberships=account.memberships,
    )

    connector.upsert_account(account)

    sent = next(e.body for e in endpoint.log if e.operation == "createPerson")
    person = ims.parse_envelope(sent).body.find(ims.q(ims.PMS, "person"))
    assert person.find(ims.q(ims.COMMON, "email")) is None
    assert {child.tag.rpartition("}")[2] for child in person} == {
        "formatName",
        "name",
        "userId",
        "institutionRole",
    }
    assert b"2012-04-01" not in sent


def test_request_carries_ws_security_and_message_identifier(connector, endpoint):
    connector.upsert_group(SCHOOL)

    envelope = ims.parse_envelope(endpoint.log[-1].body)
    assert (envelope.username, envelope.password) == ("idp-sync", "s3cret")
    assert envelope.password_type == ims.PASSWORD_TEXT
    assert envelope.message_id


# --- invalid records --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        (Account("", learner().attributes, memberships=()), "sourcedId"),
        (learner(attributes={"username": "ben.meyer", "rollenart": ["LERN"]}), "name"),
        (learner(attributes={"vorname": "B", "familienname": "M", "rollenart": "LERN"}), "userId"),
        (
            learner(attributes={"username": "ben.meyer", "vorname": "Ben", "familienname": "M"}),
            "institutionRoleType",
        ),
        (learner(key="sub-other", username="anna.schulz"), "taken"),
    ],
    ids=["no-sourcedid", "no-name", "no-userid", "no-institutionrole", "duplicate-username"],
)
def test_invalid_person_is_rejected_and_the_connector_goes_on(
    connector, endpoint, school, account, reason
):
    connector.upsert_account(teacher())

    with pytest.raises(RecordRejected, match=reason):
        connector.upsert_account(account)

    connector.upsert_account(learner(key="sub-next", username="next.one"))
    assert "sub-next" in endpoint.persons


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        (Group("750002/5a", "5a", "klasse", parent=None), "Parent"),
        (Group("750002/5a", "5a", "klasse", parent="750002"), "no parent group 750002"),
        (Group("750002", "", "schule"), "descShort"),
        (Group("750002", "Schule", "hort"), "groupType"),
    ],
    ids=["class-without-parent", "unknown-parent", "no-name", "no-type"],
)
def test_invalid_group_is_rejected_and_the_connector_goes_on(connector, endpoint, group, reason):
    with pytest.raises(RecordRejected, match=reason):
        connector.upsert_group(group)

    connector.upsert_group(SCHOOL)
    assert "750001" in endpoint.groups


def test_membership_in_unknown_group_is_rejected_but_the_others_are_made(
    connector, endpoint, school
):
    account = learner(memberships=(Membership("750001", LEARNER), Membership("750099", LEARNER)))

    with pytest.raises(RecordRejected, match="no group 750099"):
        connector.upsert_account(account)

    assert [m.group for m in endpoint.memberships.values()] == ["750001"]


def _create_membership(**fields) -> Element:
    values = {"id": "750001:sub-learner", "group": "750001", "person": "sub-learner"}
    record = ims.MembershipRecord(**{"role": "Learner", **values, **fields})
    return ims.membership_request("createMembership", record)


def _create_group_again() -> Element:
    return ims.group_request("createGroup", ims.GroupRecord("750001", "x", "School", "MV"))


def _create_person_again() -> Element:
    person = ims.PersonRecord("sub-learner", "B", "M", "b.m", "Student")
    return ims.person_request("createPerson", person)


def _update_unknown_person() -> Element:
    return ims.person_request("updatePerson", ims.PersonRecord("sub-nobody", "B"))


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        (partial(_create_membership, role=None), "roleType"),
        (partial(_create_membership, group=None), "groupSourcedId"),
        (partial(_create_membership, person=None), "memberSourcedId"),
        (partial(_create_membership, id=None), "sourcedId"),
        (partial(_create_membership, person="sub-nobody"), "no person"),
        (partial(_create_membership, role="Pupil"), "roleType"),
        (partial(_create_membership, id="another-id"), "is in"),
        (_create_membership, "exists"),
        (_create_group_again, "exists"),
        (_create_person_again, "exists"),
        (partial(ims.id_request, "pms", "deletePerson", "sub-nobody"), "no person"),
        (partial(ims.id_request, "mms", "deleteMembership", "nothing"), "no membership"),
        (_update_unknown_person, "no person"),
    ],
    ids=[
        "membership-no-roletype",
        "membership-no-group",
        "membership-no-member",
        "membership-no-id",
        "membership-unknown-person",
        "membership-unknown-roletype",
        "membership-twice-other-id",
        "membership-duplicate",
        "group-duplicate",
        "person-duplicate",
        "delete-unknown-person",
        "delete-unknown-membership",
        "update-unknown-person",
    ],
)
def test_endpoint_refuses_what_itslearning_refuses(connector, school, request_body, reason):
    connector.upsert_account(learner())
    body = request_body()
    service = {ims.PMS: "pms", ims.GMS: "gms", ims.MMS: "mms"}[body.tag[1:].partition("}")[0]]
    operation = body.tag.rpartition("}")[2].removesuffix("Request")

    with pytest.raises(RecordRejected, match=reason):
        connector.call(service, operation, body)


def test_wrong_namespace_is_a_client_fault(connector, endpoint):
    body = ims.group_request("createGroup", ims.GroupRecord("750002", "S", "School", "MV"))
    description = body.find(f"{ims.q(ims.GMS, 'group')}/{ims.q(ims.GMS_DATA, 'description')}")
    description.tag = ims.q(ims.PMS_DATA, "description")

    with pytest.raises(RecordRejected, match="not allowed"):
        connector.call("gms", "createGroup", body)
    assert "750002" not in endpoint.groups


def test_soap_action_must_match_the_body(connector):
    body = ims.id_request("gms", "readGroup", "MV")

    with pytest.raises(RecordRejected, match="SOAPAction"):
        connector.call("gms", "deleteGroup", body)


# --- the target is away -----------------------------------------------------------------------


def test_wrong_password_is_target_unavailable_with_a_clear_message(endpoint):
    connector = ItslearningConnector(endpoint.url, endpoint.username, "wrong", root="MV")

    with pytest.raises(TargetUnavailable, match="refused the credentials of 'idp-sync'"):
        connector.upsert_group(SCHOOL)
    assert endpoint.groups.keys() == {"MV"}


def test_stopped_endpoint_is_target_unavailable_until_it_is_back(connector, endpoint):
    connector.upsert_group(SCHOOL)
    endpoint.stop()

    with pytest.raises(TargetUnavailable):
        connector.upsert_group(CLASS_7B)

    endpoint.restart()
    connector.upsert_group(CLASS_7B)
    assert {"750001", "750001/7b"} <= endpoint.groups.keys()


def test_server_error_is_target_unavailable(connector, endpoint):
    endpoint.fail_with = 503

    with pytest.raises(TargetUnavailable, match="503"):
        connector.upsert_group(SCHOOL)


def test_timeout_is_target_unavailable(endpoint):
    connector = ItslearningConnector(
        endpoint.url, endpoint.username, endpoint.password, timeout=0.3
    )
    endpoint.delay = 0.8

    with pytest.raises(TargetUnavailable):
        connector.upsert_group(SCHOOL)


def test_without_url_only_the_file_export_works(tmp_path):
    connector = ItslearningConnector("", export_dir=tmp_path)

    with pytest.raises(TargetUnavailable, match="url is empty"):
        connector.upsert_group(SCHOOL)
    assert connector.export([learner()], [SCHOOL, CLASS_7B]).parent == tmp_path


# --- reconciliation ---------------------------------------------------------------------------


def test_read_back_for_reconciliation(connector, endpoint, school):
    connector.upsert_account(teacher())
    connector.upsert_account(learner(active=False))

    accounts = {a.key: a for a in connector.read_accounts()}
    groups = {g.key: g for g in connector.read_groups()}

    assert accounts["sub-teacher"] == Account(
        "sub-teacher",
        {
            "username": "anna.schulz",
            "vorname": "Anna",
            "familienname": "Schulz",
            "mail": "anna.schulz@schule-mv.de",
        },
        memberships=(Membership("750001", INSTRUCTOR), Membership("750001/7b", INSTRUCTOR)),
    )
    assert accounts["sub-learner"].active is False
    assert groups == {"750001": SCHOOL, "750001/7b": CLASS_7B}


def test_read_accounts_pages_through_all_persons(connector, endpoint, school, monkeypatch):
    monkeypatch.setattr("connectors.itslearning.PAGE_SIZE", 2)
    for n in range(5):
        connector.upsert_account(learner(key=f"sub-{n}", username=f"user{n}"))

    assert sorted(a.key for a in connector.read_accounts()) == [f"sub-{n}" for n in range(5)]


# --- IMS Enterprise 1.1 file ------------------------------------------------------------------


def test_export_file_parses_back_as_ims_enterprise_1_1(tmp_path):
    path = tmp_path / "export" / "itslearning.xml"

    export_enterprise_xml([teacher(), learner()], [SCHOOL, CLASS_7B], path, root="MV")

    parsed = ims.parse_enterprise(path.read_bytes())
    assert parsed.source == "schul-idp" and parsed.datetime
    assert parsed.persons["sub-teacher"] == (
        ims.PersonRecord(
            "sub-teacher", "Anna", "Schulz", "anna.schulz", "Staff", "anna.schulz@schule-mv.de"
        ),
        "add",
    )
    assert parsed.persons["sub-learner"][0].email is None
    assert parsed.groups["750001/7b"] == (
        ims.GroupRecord("750001/7b", "7b", "Unspecified", "750001"),
        "add",
    )
    assert parsed.groups["750001"][0].parent == "MV"
    assert {(m.group, m.person, m.role, s) for m, s in parsed.memberships} == {
        ("750001", "sub-teacher", "Instructor", "add"),
        ("750001/7b", "sub-teacher", "Instructor", "add"),
        ("750001", "sub-learner", "Learner", "add"),
        ("750001/7b", "sub-learner", "Learner", "add"),
    }


def test_export_is_atomic_and_private(tmp_path):
    path = tmp_path / "itslearning.xml"
    path.write_bytes(b"old")

    export_enterprise_xml([learner()], [SCHOOL], path)

    assert ims.parse_enterprise(path.read_bytes()).persons.keys() == {"sub-learner"}
    assert [p.name for p in tmp_path.iterdir()] == ["itslearning.xml"]  # no temp file left
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<enterprise><person recstatus='1'/></enterprise>", "properties"),
        (b"<enterprise><properties><datetime>x</datetime></properties></enterprise>", "datasource"),
        (
            b"<enterprise><properties><datasource>a</datasource><datetime>x</datetime></properties>"
            b"<person recstatus='4'><sourcedid><source>a</source><id>p</id></sourcedid>"
            b"<name><fn>P</fn></name></person></enterprise>",
            "recstatus",
        ),
        (
            b"<enterprise><properties><datasource>a</datasource><datetime>x</datetime></properties>"
            b"<group recstatus='1'><sourcedid><source>a</source><id>g</id></sourcedid></group>"
            b"</enterprise>",
            "description",
        ),
        (b"<!DOCTYPE enterprise [<!ENTITY x 'y'>]><enterprise/>", "XML"),
    ],
    ids=["properties-first", "datasource", "recstatus", "group-description", "no-dtd"],
)
def test_enterprise_parser_refuses_incomplete_files(document, reason):
    with pytest.raises(ims.ImsFormatError, match=reason):
        ims.parse_enterprise(document)


# --- configuration ----------------------------------------------------------------------------


def _config(tmp_path, body: str):
    path = tmp_path / "idp.toml"
    path.write_text(body, encoding="utf-8")
    return load_config(path, env={})


def test_from_config_reads_the_password_from_the_environment(tmp_path, monkeypatch):
    config = _config(
        tmp_path,
        '[connectors.itslearning]\nurl = "https://itslearning.example/ims"\n'
        'username = "idp-sync"\ntimeout = 7\n',
    )
    monkeypatch.setenv("IDP_CONNECTOR_ITSLEARNING_PASSWORD", "from-env")

    connector = from_config(config)

    assert (connector.url, connector.username, connector._password, connector.timeout) == (
        "https://itslearning.example/ims",
        "idp-sync",
        "from-env",
        7,
    )
    assert (connector.name, connector.service, connector.has_groups) == (
        "itslearning",
        "itslearning",
        True,
    )


def test_from_config_needs_a_password_only_with_a_url(tmp_path, monkeypatch):
    monkeypatch.delenv("IDP_CONNECTOR_ITSLEARNING_PASSWORD", raising=False)
    with_url = _config(
        tmp_path, '[connectors.itslearning]\nurl = "https://x.example"\nusername = "u"\n'
    )

    with pytest.raises(ConnectorConfigError, match="IDP_CONNECTOR_ITSLEARNING_PASSWORD"):
        from_config(with_url)
    export_only = from_config(
        _config(tmp_path, f'[connectors.itslearning]\nexport_dir = "{tmp_path}"\n')
    )
    assert export_only.url == "" and export_only.export_dir == tmp_path
