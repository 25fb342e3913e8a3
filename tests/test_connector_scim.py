"""The SCIM connector against a real SCIM 2.0 server (scim2-server, in memory, on 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from connectors import scim
from connectors.base import (
    INSTRUCTOR,
    LEARNER,
    MEMBER,
    Account,
    Group,
    Membership,
    RecordRejected,
    TargetUnavailable,
)
from connectors.scim import EXTENSION, ScimConnector, from_config
from connectors.settings import ConnectorConfigError
from idp.config import load_config
from tests.scim_server import TOKEN, ScimServer

SCHULE = Group("750001", "Gymnasium am See", "schule")
KLASSE_7B = Group("750001/7b", "7b", "klasse", "750001")
KLASSE_7C = Group("750001/7c", "7c", "klasse", "750001")


def learner(key: str = "sub-anna", **changes: object) -> Account:
    attributes = {
        "username": "anna.schmidt",
        "vorname": "Anna",
        "familienname": "Schmidt",
        "mail": "anna.schmidt@schule-mv.de",
        "rollenart": ["LERN"],
        "organisation_kennung": ["750001"],
        "klasse": ["7b"],
    }
    attributes.update(changes)
    memberships = (Membership(SCHULE.key, LEARNER), Membership(KLASSE_7B.key, LEARNER))
    return Account(key, {k: v for k, v in attributes.items() if v is not None}, True, memberships)


class Target:
    """One empty tenant of the shared server: its URL and direct reads past the connector."""

    def __init__(self, server: ScimServer, name: str) -> None:
        self.server = server
        self.name = name
        self.url = server.tenant(name)

    def users(self) -> list[dict]:
        return self.server.get(f"/{self.name}/Users").get("Resources", [])

    def groups(self) -> dict[str, dict]:
        found = self.server.get(f"/{self.name}/Groups").get("Resources", [])
        return {g["externalId"]: g for g in found}

    def members(self, group_key: str) -> set[str]:
        return {m["value"] for m in self.groups()[group_key].get("members", [])}


@pytest.fixture(scope="module")
def scim_server() -> Iterator[ScimServer]:
    server = ScimServer().start()
    yield server
    server.close()


@pytest.fixture
def target(scim_server: ScimServer) -> Target:
    return Target(scim_server, uuid.uuid4().hex)


@pytest.fixture
def connector(target: Target) -> Iterator[ScimConnector]:
    connector = ScimConnector("stundenplan", target.url, TOKEN, timeout=5)
    yield connector
    connector.close()


@pytest.fixture
def plain_server() -> Iterator[ScimServer]:
    """A server of its own, without our extension and without tenants, to stop and restart."""
    server = ScimServer(extension=False, dynamic_tenants=False).start()
    yield server
    server.close()


def test_create_writes_the_released_fields(connector: ScimConnector, target: Target) -> None:
    connector.upsert_group(SCHULE)
    connector.upsert_group(KLASSE_7B)

    connector.upsert_account(learner())

    [user] = target.users()
    assert user["externalId"] == "sub-anna"
    assert user["userName"] == "anna.schmidt"
    assert user["name"] == {"givenName": "Anna", "familyName": "Schmidt"}
    assert user["displayName"] == "Anna Schmidt"
    assert user["emails"] == [
        {"value": "anna.schmidt@schule-mv.de", "type": "work", "primary": True}
    ]
    assert user["active"] is True
    assert user[EXTENSION] == {
        "rollenart": ["LERN"],
        "organisation_kennung": ["750001"],
        "klasse": ["7b"],
    }


def test_update_replaces_what_changed(connector: ScimConnector, target: Target) -> None:
    connector.upsert_account(Account("sub-anna", {"username": "a", "familienname": "Schmidt"}))

    connector.upsert_account(Account("sub-anna", {"username": "a", "familienname": "Meyer"}))

    [user] = target.users()
    assert user["name"] == {"familyName": "Meyer"}


def test_disable_keeps_the_user_inactive(connector: ScimConnector, target: Target) -> None:
    connector.upsert_account(Account("sub-anna", {"username": "anna"}))

    connector.upsert_account(Account("sub-anna", {"username": "anna"}, active=False))

    [user] = target.users()
    assert user["active"] is False


def test_delete_removes_the_user_and_tolerates_absence(
    connector: ScimConnector, target: Target
) -> None:
    connector.upsert_group(SCHULE)
    connector.upsert_account(Account("sub-anna", {}, memberships=(Membership(SCHULE.key, MEMBER),)))

    connector.delete_account("sub-anna")
    connector.delete_account("sub-anna")
    connector.delete_account("never-there")

    assert target.users() == []
    assert target.members(SCHULE.key) == set()


def test_upsert_twice_is_one_unchanged_user(connector: ScimConnector, target: Target) -> None:
    connector.upsert_group(SCHULE)
    connector.upsert_group(KLASSE_7B)
    connector.upsert_account(learner())
    [first] = target.users()

    connector.upsert_account(learner())
    ScimConnector("stundenplan", target.url, TOKEN).upsert_account(learner())  # no id cache

    [again] = target.users()
    assert again["id"] == first["id"]
    assert again["meta"]["version"] == first["meta"]["version"]  # not even rewritten


def test_groups_and_memberships_of_a_class(connector: ScimConnector, target: Target) -> None:
    for group in (SCHULE, KLASSE_7B, KLASSE_7C):
        connector.upsert_group(group)
    teacher = Account(
        "sub-lehrer",
        {"username": "k.berg"},
        memberships=(Membership(SCHULE.key, INSTRUCTOR), Membership(KLASSE_7B.key, INSTRUCTOR)),
    )
    connector.upsert_account(learner())
    connector.upsert_account(teacher)
    ids = {u["externalId"]: u["id"] for u in target.users()}

    assert target.groups()[KLASSE_7B.key]["displayName"] == "7b"
    assert target.members(KLASSE_7B.key) == {ids["sub-anna"], ids["sub-lehrer"]}
    assert target.members(SCHULE.key) == {ids["sub-anna"], ids["sub-lehrer"]}

    moved = Account(
        "sub-anna",
        learner().attributes,
        memberships=(Membership(SCHULE.key, LEARNER), Membership(KLASSE_7C.key, LEARNER)),
    )
    connector.upsert_account(moved)
    connector.upsert_account(Account("sub-lehrer", {"username": "k.berg"}, active=False))

    assert target.members(KLASSE_7B.key) == set()
    assert target.members(KLASSE_7C.key) == {ids["sub-anna"]}
    assert target.members(SCHULE.key) == {ids["sub-anna"]}


def test_renamed_group_keeps_its_members(connector: ScimConnector, target: Target) -> None:
    connector.upsert_group(SCHULE)
    connector.upsert_account(Account("sub-a", {}, memberships=(Membership(SCHULE.key, MEMBER),)))

    connector.upsert_group(Group(SCHULE.key, "Gymnasium am Schloss", "schule"))

    assert target.groups()[SCHULE.key]["displayName"] == "Gymnasium am Schloss"
    assert len(target.members(SCHULE.key)) == 1


def test_only_released_fields_reach_the_target(connector: ScimConnector, target: Target) -> None:
    connector.upsert_account(Account("sub-bob", {"vorname": "Bob"}))

    [user] = target.users()
    assert user["userName"] == "sub-bob"  # no username released: the pairwise key
    assert user["name"] == {"givenName": "Bob"}
    assert "emails" not in user
    assert "displayName" not in user
    assert EXTENSION not in user
    assert user["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]


def test_extension_is_left_out_where_the_target_does_not_serve_it(
    plain_server: ScimServer,
) -> None:
    connector = ScimConnector("stundenplan", plain_server.url, TOKEN)

    connector.upsert_account(Account("sub-anna", learner().attributes))

    [user] = plain_server.get("/Users")["Resources"]
    assert user["userName"] == "anna.schmidt"
    assert EXTENSION not in user


def test_duplicate_username_parks_only_that_account(
    connector: ScimConnector, target: Target
) -> None:
    connector.upsert_account(Account("sub-1", {"username": "max.mustermann"}))

    with pytest.raises(RecordRejected, match="uniqueness"):
        connector.upsert_account(Account("sub-2", {"username": "max.mustermann"}))
    connector.upsert_account(Account("sub-3", {"username": "max.mustermann2"}))

    assert sorted(u["externalId"] for u in target.users()) == ["sub-1", "sub-3"]


def test_membership_of_a_group_not_at_the_target_is_rejected(connector: ScimConnector) -> None:
    with pytest.raises(RecordRejected, match="group 750001 is not at the target"):
        connector.upsert_account(learner())


def test_stopped_server_is_unavailable_and_a_restart_is_reconciled(
    plain_server: ScimServer,
) -> None:
    connector = ScimConnector("stundenplan", plain_server.url, TOKEN, timeout=2)
    connector.upsert_account(Account("sub-anna", {"username": "anna"}))
    plain_server.stop()

    with pytest.raises(TargetUnavailable):
        connector.upsert_account(Account("sub-anna", {"username": "anna"}))

    plain_server.start()  # same port, empty store
    assert list(connector.read_accounts()) == []
    connector.upsert_account(Account("sub-anna", {"username": "anna"}))  # stale id cache
    assert [a.key for a in connector.read_accounts()] == ["sub-anna"]


def test_wrong_token_is_unavailable_with_a_hint(target: Target) -> None:
    connector = ScimConnector("stundenplan", target.url, "wrong-token")

    with pytest.raises(TargetUnavailable, match="IDP_CONNECTOR_SCIM_STUNDENPLAN_TOKEN"):
        connector.upsert_account(Account("sub-anna", {}))


def test_read_back_what_was_written(
    connector: ScimConnector, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scim, "PAGE_SIZE", 2)  # several pages
    for group in (SCHULE, KLASSE_7B):
        connector.upsert_group(group)
    written = [learner(f"sub-{n}", username=f"user{n}", mail=None) for n in range(5)]
    written.append(Account("sub-off", {"vorname": "Olaf"}, active=False))
    for account in written:
        connector.upsert_account(account)

    read = {a.key: a for a in ScimConnector("stundenplan", target.url, TOKEN).read_accounts()}

    assert set(read) == {a.key for a in written}
    assert read["sub-0"].attributes == written[0].attributes
    assert read["sub-0"].memberships == (
        Membership(SCHULE.key, MEMBER),
        Membership(KLASSE_7B.key, MEMBER),
    )
    assert read["sub-off"].active is False
    assert read["sub-off"].attributes == {"vorname": "Olaf"}
    assert sorted(connector.read_groups(), key=lambda g: g.key) == [SCHULE, KLASSE_7B]


def test_from_config_reads_the_token_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "stundenplan.token"
    token_file.write_text("file-token\n", encoding="utf-8")
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        "[connectors.scim.stundenplan]\n"
        'url = "https://stundenplan.example/scim/v2/"\n'
        f'token_file = "{token_file}"\n'
        "timeout = 7\n",
        encoding="utf-8",
    )
    config = load_config(config_file, env={"IDP_SECRET_KEY": "x" * 32})

    connector = from_config(config, "stundenplan")

    assert connector.service == "stundenplan"
    assert connector.url == "https://stundenplan.example/scim/v2"
    assert connector.timeout == 7
    assert connector.session.headers["Authorization"] == "Bearer file-token"


def test_from_config_takes_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDP_CONNECTOR_SCIM_KLASSENBUCH_TOKEN", "env-token")
    config = {"connectors": {"scim": {"klassenbuch": {"url": "https://kb.example/scim"}}}}

    connector = from_config(config, "klassenbuch")

    assert connector.session.headers["Authorization"] == "Bearer env-token"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (None, r"\[connectors.scim.notenbuch\] is missing"),
        ({"token_file": "/x"}, "url"),
        ({"url": "https://nb.example", "tokenfile": "/x"}, "unknown key tokenfile"),
        ({"url": "https://nb.example", "timeout": 0}, "timeout"),
        ({"url": "https://nb.example"}, "IDP_CONNECTOR_SCIM_NOTENBUCH_TOKEN"),
    ],
)
def test_from_config_names_the_bad_key(
    table: dict | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDP_CONNECTOR_SCIM_NOTENBUCH_TOKEN", raising=False)
    config = {"connectors": {"scim": {} if table is None else {"notenbuch": table}}}

    with pytest.raises(ConnectorConfigError, match=message):
        from_config(config, "notenbuch")
