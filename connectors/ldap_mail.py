"""The mail directory: an LDAP tree the mail servers read (ldap3).

Under `base_dn`:
  ou=personen   one inetOrgPerson per person entitled to a mailbox: uid (the username),
                cn, sn, givenName, mail, ou (the organisations' numbers), employeeNumber (our
                stable key for the person at this service, so a renamed person is found
                again), employeeType "aktiv" or "deaktiviert" (mail servers filter on it:
                `(&(objectClass=inetOrgPerson)(employeeType=aktiv))`)
  ou=gruppen    one groupOfNames per school and class (cn = its number, description = its
                name, businessCategory = schule or klasse); a group without members lists the
                ou=gruppen entry itself, as groupOfNames needs at least one member

Only attributes the service's policy releases are written; a disabled person keeps the entry
but leaves every group. A uid that belongs to another entry is refused (RecordRejected), an
unreachable server is TargetUnavailable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.dn import escape_rdn

from connectors.base import MEMBER, Account, Group, Membership, RecordRejected, TargetUnavailable
from connectors.settings import ConnectorConfigError, env_name, secret

ACTIVE, DISABLED = "aktiv", "deaktiviert"
PAGE = 500
# policy attribute -> LDAP attribute (single-valued ones first)
SINGLE = {"username": "uid", "vorname": "givenName", "familienname": "sn", "mail": "mail"}
MULTI = {"organisation_kennung": "ou"}
_UNREACHABLE = (
    ldap_errors.LDAPSocketOpenError,
    ldap_errors.LDAPSocketReceiveError,
    ldap_errors.LDAPSocketSendError,
    ldap_errors.LDAPSessionTerminatedByServerError,
    ldap_errors.LDAPBindError,
    ldap_errors.LDAPCommunicationError,
    ldap_errors.LDAPBusyResult,
    ldap_errors.LDAPUnavailableResult,
    ldap_errors.LDAPStartTLSError,
)


class _Entry:
    """One search result: its DN and its attributes as lists of strings (names in any case)."""

    def __init__(self, dn: str, attributes: dict):
        self.dn = dn
        self._values = {
            name.lower(): [str(v) for v in (value if isinstance(value, list) else [value])]
            for name, value in attributes.items()
        }

    def values(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


class LdapMailConnector:
    name = "ldap_mail"
    has_groups = True

    def __init__(
        self,
        service: str,
        url: str,
        bind_dn: str,
        password: str,
        base_dn: str,
        start_tls: bool = False,
        timeout: int = 10,
    ):
        self.service = service
        self.url, self.bind_dn, self.password = url, bind_dn, password
        self.base_dn, self.start_tls, self.timeout = base_dn, start_tls, timeout
        self.people = f"ou=personen,{base_dn}"
        self.groups = f"ou=gruppen,{base_dn}"
        self._connection: ldap3.Connection | None = None

    # -- accounts -----------------------------------------------------------------------
    def upsert_account(self, account: Account) -> None:
        uid = account.username
        if not uid:
            raise RecordRejected("ohne freigegebenen Benutzernamen (uid) gibt es keinen Eintrag")
        dn = f"uid={escape_rdn(uid)},{self.people}"
        wanted = self._attributes(account)
        current = self._find_account(account.key)
        members_now: set[str] | None = None
        if current is None:
            self._call("add", dn, ["inetOrgPerson"], wanted)
            members_now = set()  # a new entry is in no group yet: no need to search
        else:
            if current.dn.lower() != dn.lower():
                self._call("modify_dn", current.dn, f"uid={escape_rdn(uid)}")
            changes = {
                name: [(ldap3.MODIFY_REPLACE, values)]
                for name, values in wanted.items()
                if name != "uid" and sorted(current.values(name)) != sorted(values)
            }
            for name in ("mail", "ou"):
                if name not in wanted and current.values(name):
                    changes[name] = [(ldap3.MODIFY_REPLACE, [])]
            if changes:
                self._call("modify", dn, changes)
        groups = {m.group for m in account.memberships} if account.active else set()
        self._set_memberships(dn, groups, members_now)

    def delete_account(self, key: str) -> None:
        current = self._find_account(key)
        if current is None:
            return
        self._set_memberships(current.dn, set())
        self._call("delete", current.dn)

    def read_accounts(self) -> Iterable[Account]:
        members: dict[str, list[str]] = {}
        for group in self._search(self.groups, "(objectClass=groupOfNames)", ["cn", "member"]):
            for member in group.values("member"):
                members.setdefault(member.lower(), []).append(group.first("cn") or "")
        attributes = ["employeeNumber", "employeeType", *SINGLE.values(), *MULTI.values()]
        for entry in self._search(self.people, "(employeeNumber=*)", attributes):
            values: dict[str, object] = {}
            for name, ldap_name in SINGLE.items():
                if entry.first(ldap_name):
                    values[name] = entry.first(ldap_name)
            for name, ldap_name in MULTI.items():
                if entry.values(ldap_name):
                    values[name] = sorted(entry.values(ldap_name))
            yield Account(
                key=entry.first("employeeNumber") or "",
                attributes=values,
                active=entry.first("employeeType") != DISABLED,
                memberships=tuple(
                    Membership(g, MEMBER) for g in sorted(members.get(entry.dn.lower(), []))
                ),
            )

    def comparable(self, account: Account) -> Account:
        """What this target can hold of `account`: groupOfNames knows no roles, and only
        the attributes mapped here are stored."""
        kept = set(SINGLE) | set(MULTI)
        return Account(
            account.key,
            {k: v for k, v in account.attributes.items() if k in kept},
            account.active,
            tuple(Membership(m.group, MEMBER) for m in account.memberships)
            if account.active
            else (),
        )

    # -- groups -------------------------------------------------------------------------
    def upsert_group(self, group: Group) -> None:
        dn = self._group_dn(group.key)
        wanted = {"cn": [group.key], "description": [group.name], "businessCategory": [group.kind]}
        current = self._read(dn, ["description", "businessCategory"])
        if current is None:
            self._call("add", dn, ["groupOfNames"], {**wanted, "member": [self.groups]})
            return
        changes = {
            name: [(ldap3.MODIFY_REPLACE, values)]
            for name, values in wanted.items()
            if name != "cn" and current.values(name) != values
        }
        if changes:
            self._call("modify", dn, changes)

    def delete_group(self, key: str) -> None:
        if self._read(self._group_dn(key), ["cn"]) is not None:
            self._call("delete", self._group_dn(key))

    def read_groups(self) -> Iterable[Group]:
        wanted = ["cn", "description", "businessCategory"]
        for entry in self._search(self.groups, "(objectClass=groupOfNames)", wanted):
            key = entry.first("cn") or ""
            kind = entry.first("businessCategory") or ""
            parent = key.split("/", 1)[0] if kind == "klasse" and "/" in key else None
            yield Group(key, entry.first("description") or "", kind, parent)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(ldap_errors.LDAPException):
                self._connection.unbind()
            self._connection = None

    # -- helpers ------------------------------------------------------------------------
    def _attributes(self, account: Account) -> dict[str, list[str]]:
        values = account.attributes
        given, family = values.get("vorname"), values.get("familienname")
        wanted: dict[str, list[str]] = {
            "employeeNumber": [account.key],
            "employeeType": [ACTIVE if account.active else DISABLED],
            "cn": [" ".join(str(v) for v in (given, family) if v) or str(values["username"])],
            "sn": [str(family or values["username"])],
        }
        for name, ldap_name in SINGLE.items():
            if values.get(name) and ldap_name not in wanted:
                wanted[ldap_name] = [str(values[name])]
        for name, ldap_name in MULTI.items():
            if values.get(name):
                wanted[ldap_name] = sorted(str(v) for v in values[name])  # type: ignore[union-attr]
        return wanted

    def _set_memberships(self, dn: str, groups: set[str], current: set[str] | None = None) -> None:
        if current is None:
            current = {
                entry.first("cn") or ""
                for entry in self._search(
                    self.groups, f"(&(objectClass=groupOfNames)(member={_filter(dn)}))", ["cn"]
                )
            }
        for key in sorted(groups - current):
            self._call("modify", self._group_dn(key), {"member": [(ldap3.MODIFY_ADD, [dn])]})
            self._drop_placeholder(key)
        for key in sorted(current - groups):
            group_dn = self._group_dn(key)
            entry = self._read(group_dn, ["member"])
            if entry is not None and len(entry.values("member")) == 1:
                self._call("modify", group_dn, {"member": [(ldap3.MODIFY_ADD, [self.groups])]})
            self._call("modify", group_dn, {"member": [(ldap3.MODIFY_DELETE, [dn])]})

    def _drop_placeholder(self, key: str) -> None:
        entry = self._read(self._group_dn(key), ["member"])
        members = [m.lower() for m in entry.values("member")] if entry is not None else []
        if self.groups.lower() in members and len(members) > 1:
            self._call(
                "modify", self._group_dn(key), {"member": [(ldap3.MODIFY_DELETE, [self.groups])]}
            )

    def _group_dn(self, key: str) -> str:
        return f"cn={escape_rdn(key)},{self.groups}"

    def _find_account(self, key: str):
        found = list(
            self._search(self.people, f"(employeeNumber={_filter(key)})", ["*"], paged=False)
        )
        return found[0] if found else None

    def _read(self, dn: str, attributes: list[str]):
        try:
            found = list(
                self._search(dn, "(objectClass=*)", attributes, scope=ldap3.BASE, paged=False)
            )
        except RecordRejected:
            return None
        return found[0] if found else None

    def _search(self, base, search_filter, attributes, scope=ldap3.SUBTREE, paged=True):
        connection = self._bound()
        try:
            if paged:
                results = connection.extend.standard.paged_search(
                    base, search_filter, scope, attributes=attributes, paged_size=PAGE,
                    generator=True,
                )  # fmt: skip
            else:
                connection.search(base, search_filter, scope, attributes=attributes)
                results = list(connection.response or [])
            for result in results:
                if result.get("type") == "searchResEntry":
                    yield _Entry(result["dn"], result.get("attributes", {}))
        except ldap_errors.LDAPNoSuchObjectResult:
            return
        except _UNREACHABLE as exc:
            self._lost()
            raise TargetUnavailable(f"LDAP {self.url}: {exc}") from exc

    def _call(self, operation: str, *args) -> None:
        connection = self._bound()
        try:
            getattr(connection, operation)(*args)
        except ldap_errors.LDAPEntryAlreadyExistsResult as exc:
            raise RecordRejected(f"{args[0]}: gibt es schon (uid oder Gruppe doppelt)") from exc
        except _UNREACHABLE as exc:
            self._lost()
            raise TargetUnavailable(f"LDAP {self.url}: {exc}") from exc
        except ldap_errors.LDAPOperationResult as exc:
            raise RecordRejected(f"{args[0]}: {exc.description}: {exc.message}") from exc

    def _bound(self) -> ldap3.Connection:
        if self._connection is None or self._connection.closed:
            server = ldap3.Server(self.url, connect_timeout=self.timeout)
            try:
                connection = ldap3.Connection(
                    server,
                    user=self.bind_dn,
                    password=self.password,
                    raise_exceptions=True,
                    receive_timeout=self.timeout,
                )
                connection.open()
                if self.start_tls:
                    connection.start_tls()
                connection.bind()
            except (*_UNREACHABLE, ldap_errors.LDAPInvalidCredentialsResult) as exc:
                raise TargetUnavailable(f"LDAP {self.url}: {exc}") from exc
            self._connection = connection
            self._ensure_tree()
        return self._connection

    def _ensure_tree(self) -> None:
        assert self._connection is not None
        for dn, ou in ((self.people, "personen"), (self.groups, "gruppen")):
            with contextlib.suppress(ldap_errors.LDAPEntryAlreadyExistsResult):
                self._connection.add(dn, ["organizationalUnit"], {"ou": ou})

    def _lost(self) -> None:
        self._connection = None


def from_config(config) -> LdapMailConnector:
    table = config["connectors"]["ldap_mail"]
    for key in ("url", "bind_dn", "base_dn"):
        if not table.get(key):
            raise ConnectorConfigError(f"[connectors.ldap_mail] {key} is empty")
    password = secret(
        table, "bind_password_file", env_name("ldap_mail", "password"), "connectors.ldap_mail"
    )
    return LdapMailConnector(
        table["service"],
        table["url"],
        table["bind_dn"],
        password,
        table["base_dn"],
        table["start_tls"],
        table["timeout"],
    )


def _filter(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return escape_filter_chars(value)
