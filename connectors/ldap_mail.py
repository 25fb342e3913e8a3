"""The mail directory: an LDAP tree the mail servers read (python-ldap, i.e. OpenLDAP's libldap).

Under `base_dn`:
  ou=personen   one inetOrgPerson per person entitled to a mailbox: uid (the username),
                cn, sn, givenName, mail, ou (the organisations' numbers), employeeNumber (our
                stable key for the person at this service, so a renamed person is found
                again), employeeType "aktiv" or "deaktiviert" (mail servers filter on it:
                `(&(objectClass=inetOrgPerson)(employeeType=aktiv))`)
                The address comes first in `mail`, the person's aliases (earlier addresses
                that still deliver) after it, as further values of `mail`: mail servers
                that look up `(mail=%s)` deliver them to the same mailbox.
  ou=gruppen    one groupOfNames per school and class (cn = its number, description = its
                name, businessCategory = schule or klasse); a group without members lists the
                ou=gruppen entry itself, as groupOfNames needs at least one member

Only attributes the service's policy releases are written; a disabled person keeps the entry
but leaves every group. A uid that belongs to another entry is refused (RecordRejected), an
unreachable server is TargetUnavailable.

Why python-ldap and not ldap3 (which the import's LDAP source uses): the whole state's
mailboxes are written here, and ldap3 encodes each request in pure Python (pyasn1), which
costs more than slapd needs to store the entry; measured on the 2-core machine, ldap3 adds
about 850 entries/s where libldap (ldapadd, python-ldap) adds about 2,800/s.
`write_batch` also sends the adds of entries we never wrote without waiting for each answer.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Container, Iterable, Iterator, Sequence
from typing import TypeVar

import ldap
from ldap.controls import SimplePagedResultsControl
from ldap.dn import escape_dn_chars
from ldap.filter import escape_filter_chars

from connectors.base import (
    MEMBER,
    Account,
    Group,
    Membership,
    RecordRejected,
    TargetUnavailable,
    group_refusal,
)
from connectors.settings import ConnectorConfigError, env_name, secret

ACTIVE, DISABLED = "aktiv", "deaktiviert"
PAGE = 500
# Adds in flight at once in write_batch: enough for slapd to stay busy while the next
# thousand persons are read from the database.
WINDOW = 512
# policy attribute -> LDAP attribute (single-valued ones first)
SINGLE = {"username": "uid", "vorname": "givenName", "familienname": "sn", "mail": "mail"}
MULTI = {"organisation_kennung": "ou"}
T = TypeVar("T")
_UNREACHABLE = (
    ldap.SERVER_DOWN,
    ldap.TIMEOUT,
    ldap.CONNECT_ERROR,
    ldap.BUSY,
    ldap.UNAVAILABLE,
    ldap.INVALID_CREDENTIALS,
)


class _Entry:
    """One search result: its DN and its attributes as lists of strings (names in any case)."""

    def __init__(self, dn: str, attributes: dict[str, list[bytes]]):
        self.dn = dn
        self._values = {
            name.lower(): [v.decode("utf-8") for v in values] for name, values in attributes.items()
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
        self._connection = None
        # Whether a group lists the placeholder member, where we know it (we made or changed
        # it in this run); saves reading the group before each member is added.
        self._placeholder: dict[str, bool] = {}

    # -- accounts -----------------------------------------------------------------------
    def upsert_account(self, account: Account) -> None:
        dn = self._dn(account)
        wanted = self._attributes(account)
        current = self._find_account(account.key)
        members_now: set[str] | None = None
        if current is None:
            self._call("add_ext_s", dn, _modlist(wanted, "inetOrgPerson"))
            members_now = set()  # a new entry is in no group yet: no need to search
        else:
            if current.dn.lower() != dn.lower():
                self._call("rename_s", current.dn, dn.split(",", 1)[0])
            changes = [
                (ldap.MOD_REPLACE, name, _encoded(values))
                for name, values in wanted.items()
                if name != "uid" and sorted(current.values(name)) != sorted(values)
            ]
            for name in ("mail", "ou"):
                if name not in wanted and current.values(name):
                    changes.append((ldap.MOD_REPLACE, name, None))
            if changes:
                self._call("modify_ext_s", dn, changes)
        groups = {m.group for m in account.memberships} if account.active else set()
        self._set_memberships(dn, groups, members_now)

    def delete_account(self, key: str) -> None:
        current = self._find_account(key)
        if current is None:
            return
        self._set_memberships(current.dn, set())
        self._call("delete_ext_s", current.dn)

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
            if len(entry.values("mail")) > 1:  # the address first, then its aliases
                values["mail_aliases"] = sorted(entry.values("mail")[1:])
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
        kept = {*SINGLE, *MULTI, "mail_aliases"}
        return Account(
            account.key,
            {k: v for k, v in account.attributes.items() if k in kept},
            account.active,
            tuple(Membership(m.group, MEMBER) for m in account.memberships)
            if account.active
            else (),
        )

    # -- many at once -------------------------------------------------------------------
    def write_batch(
        self,
        groups: Sequence[Group],
        accounts: Iterable[Account],
        absent_accounts: Container[str],
        absent_groups: Container[str],
    ) -> dict[str, str]:
        """Write `accounts` (with their memberships) and `groups` in few round trips
        (connectors.base.write_batch says what the arguments mean).

        Accounts we never wrote are added straight away, many in flight at once, while the
        caller works out the next ones; groups we never wrote are then added with all their
        new members in one entry. Where a hint is wrong (the entry exists after all), the
        usual search-and-modify path runs. Returns the refused accounts' keys with the
        reason."""
        rejected: dict[str, str] = {}
        accounts, added = self._add_many(accounts, absent_accounts, rejected)
        joining: dict[str, list[str]] = {}
        for account in accounts:
            if account.key in added and account.active:
                for membership in account.memberships:
                    joining.setdefault(membership.group, []).append(added[account.key])
        refused_groups: dict[str, str] = {}
        made = self._add_groups(
            [group for group in groups if group.key in absent_groups], joining, refused_groups
        )
        for key in made:
            joining.pop(key, None)  # its members came with it
        for group in groups:
            if group.key in made or group.key in refused_groups:
                continue
            try:
                self.upsert_group(group)
            except RecordRejected as exc:
                refused_groups[group.key] = str(exc)
        for key, dns in joining.items():
            if key in refused_groups:
                continue
            try:
                self._add_members(key, dns)
            except RecordRejected as exc:
                refused_groups[key] = str(exc)
        for account in accounts:
            refused = group_refusal(account, refused_groups)
            if refused is not None:
                rejected[account.key] = refused
            elif account.key not in added and account.key not in rejected:
                try:
                    self.upsert_account(account)
                except RecordRejected as exc:
                    rejected[account.key] = str(exc)
        return rejected

    def _add_many(
        self, accounts: Iterable[Account], absent: Container[str], rejected: dict[str, str]
    ) -> tuple[list[Account], dict[str, str]]:
        """Take every account; add the absent ones without waiting for each answer. Returns
        all accounts taken, and key -> DN of those added. An entry that exists already is
        left to the caller's search-and-modify path."""
        taken: list[Account] = []
        added: dict[str, str] = {}

        def adds() -> Iterator[tuple[str, list, Account]]:
            for account in accounts:
                taken.append(account)
                if account.key not in absent:
                    continue
                try:
                    dn = self._dn(account)
                except RecordRejected as exc:
                    rejected[account.key] = str(exc)
                    continue
                yield dn, _modlist(self._attributes(account), "inetOrgPerson"), account

        for dn, account, error in self._pipelined_adds(adds()):
            if error is None:
                added[account.key] = dn
            elif not isinstance(error, ldap.ALREADY_EXISTS):
                rejected[account.key] = f"{dn}: {_describe(error)}"
        return taken, added

    def _add_groups(
        self, groups: Iterable[Group], members: dict[str, list[str]], refused: dict[str, str]
    ) -> set[str]:
        """Add groups we never wrote, each with its `members` (none: the placeholder), without
        waiting for each answer. Returns the keys of those added; one that exists after all
        is left to the caller."""
        added: set[str] = set()
        adds = (
            (
                self._group_dn(group.key),
                _modlist(
                    {**_group_attributes(group), "member": members.get(group.key) or [self.groups]},
                    "groupOfNames",
                ),
                group,
            )
            for group in groups
        )
        for dn, group, error in self._pipelined_adds(adds):
            if error is None:
                added.add(group.key)
                self._placeholder[group.key] = not members.get(group.key)
            elif not isinstance(error, ldap.ALREADY_EXISTS):
                refused[group.key] = f"{dn}: {_describe(error)}"
        return added

    def _pipelined_adds(
        self, adds: Iterable[tuple[str, list, T]]
    ) -> Iterator[tuple[str, T, Exception | None]]:
        """Send each add (DN, modlist, what it is for) without waiting for its answer, at most
        WINDOW in flight; yields (DN, what it is for, the LDAP error or None) as the answers
        come, in order. An unreachable server raises TargetUnavailable."""
        connection = self._bound()
        in_flight: collections.deque[tuple[int, str, T]] = collections.deque()

        def answer(message_id: int, dn: str, tag: T) -> tuple[str, T, Exception | None]:
            try:
                connection.result3(message_id)
            except _UNREACHABLE:
                raise
            except ldap.LDAPError as exc:
                return dn, tag, exc
            return dn, tag, None

        try:
            for dn, modlist, tag in adds:
                in_flight.append((connection.add_ext(dn, modlist), dn, tag))
                if len(in_flight) >= WINDOW:
                    yield answer(*in_flight.popleft())
            while in_flight:
                yield answer(*in_flight.popleft())
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc

    # -- groups -------------------------------------------------------------------------
    def upsert_group(self, group: Group) -> None:
        dn = self._group_dn(group.key)
        current = self._read(dn, ["description", "businessCategory"])
        if current is None:
            self._add_group(group, [])
            return
        changes = [
            (ldap.MOD_REPLACE, name, _encoded(values))
            for name, values in _group_attributes(group).items()
            if name != "cn" and current.values(name) != values
        ]
        if changes:
            self._call("modify_ext_s", dn, changes)

    def delete_group(self, key: str) -> None:
        if self._read(self._group_dn(key), ["cn"]) is not None:
            self._call("delete_ext_s", self._group_dn(key))
        self._placeholder.pop(key, None)

    def read_groups(self) -> Iterable[Group]:
        wanted = ["cn", "description", "businessCategory"]
        for entry in self._search(self.groups, "(objectClass=groupOfNames)", wanted):
            key = entry.first("cn") or ""
            kind = entry.first("businessCategory") or ""
            parent = key.split("/", 1)[0] if kind == "klasse" and "/" in key else None
            yield Group(key, entry.first("description") or "", kind, parent)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(ldap.LDAPError):
                self._connection.unbind_s()
            self._connection = None

    # -- helpers ------------------------------------------------------------------------
    def _dn(self, account: Account) -> str:
        if not account.username:
            raise RecordRejected("ohne freigegebenen Benutzernamen (uid) gibt es keinen Eintrag")
        return f"uid={escape_dn_chars(account.username)},{self.people}"

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
        aliases = sorted(str(a) for a in values.get("mail_aliases") or [])  # type: ignore[union-attr]
        if "mail" in wanted and aliases:
            wanted["mail"] = wanted["mail"] + [a for a in aliases if a not in wanted["mail"]]
        return wanted

    def _add_group(self, group: Group, members: list[str]) -> bool:
        """Add the group with `members` (none: the placeholder); False if it exists."""
        dn = self._group_dn(group.key)
        attributes = {**_group_attributes(group), "member": members or [self.groups]}
        try:
            self._call("add_ext_s", dn, _modlist(attributes, "groupOfNames"))
        except _Exists:
            return False
        self._placeholder[group.key] = not members
        return True

    def _set_memberships(self, dn: str, groups: set[str], current: set[str] | None = None) -> None:
        if current is None:
            current = {
                entry.first("cn") or ""
                for entry in self._search(
                    self.groups,
                    f"(&(objectClass=groupOfNames)(member={escape_filter_chars(dn)}))",
                    ["cn"],
                    paged=False,
                )
            }
        for key in sorted(groups - current):
            self._add_members(key, [dn])
        for key in sorted(current - groups):
            group_dn = self._group_dn(key)
            entry = self._read(group_dn, ["member"])
            changes = [(ldap.MOD_DELETE, "member", _encoded([dn]))]
            if entry is not None and len(entry.values("member")) == 1:
                changes.insert(0, (ldap.MOD_ADD, "member", _encoded([self.groups])))
                self._placeholder[key] = True
            self._call("modify_ext_s", group_dn, changes)

    def _add_members(self, key: str, dns: list[str]) -> None:
        """Add members to a group and drop its placeholder, in one modify where we know the
        placeholder is there, without reading the group first where we know it is not."""
        group_dn = self._group_dn(key)
        add = (ldap.MOD_ADD, "member", _encoded(dns))
        drop = (ldap.MOD_DELETE, "member", _encoded([self.groups]))
        known = self._placeholder.get(key)
        if known is None:
            self._call("modify_ext_s", group_dn, [add])
            with contextlib.suppress(_NoSuchValue):  # had none
                self._call("modify_ext_s", group_dn, [drop])
        elif known:
            try:
                self._call("modify_ext_s", group_dn, [add, drop])
            except _NoSuchValue:  # someone else dropped it meanwhile
                self._call("modify_ext_s", group_dn, [add])
        else:
            self._call("modify_ext_s", group_dn, [add])
        self._placeholder[key] = False

    def _group_dn(self, key: str) -> str:
        return f"cn={escape_dn_chars(key)},{self.groups}"

    def _find_account(self, key: str):
        found = list(
            self._search(
                self.people, f"(employeeNumber={escape_filter_chars(key)})", ["*"], paged=False
            )
        )
        return found[0] if found else None

    def _read(self, dn: str, attributes: list[str]):
        found = list(
            self._search(dn, "(objectClass=*)", attributes, scope=ldap.SCOPE_BASE, paged=False)
        )
        return found[0] if found else None

    def _search(
        self, base, search_filter, attributes, scope=ldap.SCOPE_SUBTREE, paged=True
    ) -> Iterator[_Entry]:
        connection = self._bound()
        page = SimplePagedResultsControl(True, size=PAGE, cookie="")
        try:
            while True:
                controls = [page] if paged else []
                message_id = connection.search_ext(
                    base, scope, search_filter, attributes, serverctrls=controls
                )
                _, results, _, answered = connection.result3(message_id)
                for dn, values in results:
                    if dn is not None:  # referrals have none
                        yield _Entry(dn, values)
                cookie = next(
                    (c.cookie for c in answered if c.controlType == page.controlType), b""
                )
                if not paged or not cookie:
                    return
                page.cookie = cookie
        except ldap.NO_SUCH_OBJECT:
            return
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        except ldap.LDAPError as exc:
            raise RecordRejected(f"{base}: {_describe(exc)}") from exc

    def _call(self, operation: str, dn: str, *args) -> None:
        connection = self._bound()
        try:
            getattr(connection, operation)(dn, *args)
        except ldap.ALREADY_EXISTS as exc:
            raise _Exists(f"{dn}: gibt es schon (uid oder Gruppe doppelt)") from exc
        except ldap.NO_SUCH_ATTRIBUTE as exc:
            raise _NoSuchValue(f"{dn}: {_describe(exc)}") from exc
        except _UNREACHABLE as exc:
            raise self._unavailable(exc) from exc
        except ldap.LDAPError as exc:
            raise RecordRejected(f"{dn}: {_describe(exc)}") from exc

    def _bound(self):
        if self._connection is None:
            connection = ldap.initialize(self.url)
            connection.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
            connection.set_option(ldap.OPT_REFERRALS, 0)
            connection.set_option(ldap.OPT_NETWORK_TIMEOUT, self.timeout)
            connection.set_option(ldap.OPT_TIMEOUT, self.timeout)
            connection.timeout = self.timeout  # what python-ldap waits for each answer
            try:
                if self.start_tls:
                    connection.start_tls_s()
                connection.simple_bind_s(self.bind_dn, self.password)
            except (*_UNREACHABLE, ldap.LDAPError) as exc:
                raise self._unavailable(exc) from exc
            self._connection = connection
            self._ensure_tree()
        return self._connection

    def _ensure_tree(self) -> None:
        for dn, ou in ((self.people, "personen"), (self.groups, "gruppen")):
            with contextlib.suppress(_Exists):
                self._call("add_ext_s", dn, _modlist({"ou": [ou]}, "organizationalUnit"))

    def _unavailable(self, exc: Exception) -> TargetUnavailable:
        """The connection is gone: forget it (and what we knew of the groups)."""
        self._connection = None
        self._placeholder.clear()
        return TargetUnavailable(f"LDAP {self.url}: {_describe(exc)}")


class _Exists(RecordRejected):
    """The entry is there already (a uid or group of that name)."""


class _NoSuchValue(RecordRejected):
    """A value to delete is not there."""


def _group_attributes(group: Group) -> dict[str, list[str]]:
    return {"cn": [group.key], "description": [group.name], "businessCategory": [group.kind]}


def _encoded(values: list[str]) -> list[bytes]:
    return [value.encode("utf-8") for value in values]


def _modlist(attributes: dict[str, list[str]], object_class: str) -> list[tuple[str, list[bytes]]]:
    return [("objectClass", [object_class.encode()])] + [
        (name, _encoded(values)) for name, values in attributes.items()
    ]


def _describe(exc: Exception) -> str:
    """python-ldap's errors carry a dict with `desc` and, sometimes, `info`."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    parts = [detail.get("desc"), detail.get("info")]
    return ": ".join(str(p) for p in parts if p) or str(exc) or type(exc).__name__


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
