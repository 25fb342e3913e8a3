"""itslearning: persons, schools, classes and memberships over IMS Enterprise Services (SOAP).

itslearning takes the IMS Enterprise Services v1.0 operations (createPerson, updatePerson,
deletePerson, readPerson, createGroup, ..., createMembership, ..., readMembershipsForPerson)
at one endpoint, authenticated by a WS-Security UsernameToken; the SOAP header carries the
answer (syncResponseHeaderInfo/statusInfo, codeMajor "success" or "failure"). Where no endpoint
is configured, the same records go into an IMS Enterprise 1.1 XML file (export_enterprise_xml)
that itslearning imports.

How our records map:
- an account is a person: sourcedId = Account.key, name from vorname/familienname, userId =
  username, institutionRole from rollenart (INSTITUTION_ROLES; itslearning turns it into a
  profile), e-mail only when `mail` is released. Nothing else is sent, whatever the account holds.
- a school is a group of itslearning organisation type "School" under `root` (the hierarchy
  itslearning set up for the state), a class one of type "Unspecified" under its school: a
  "Course" would also create an itslearning course, which a class is not.
- a membership is the person in a school or class with roleType Learner or Instructor; its
  sourcedId is made from group and person (membership_id).
- an inactive account keeps its person but loses its memberships: itslearning has no "disabled"
  flag in IMS ES, and the login itself is refused by us (itslearning signs in through SAML).

Reconciliation: IMS ES has no "read all groups"; itslearning adds readAllPersons. read_accounts
pages through it and reads each person's memberships; read_groups follows those memberships
(and their parents up to `root`), so a group without members is not seen.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

import requests

from connectors import ims_enterprise as ims
from connectors.base import (
    Account,
    Group,
    Membership,
    RecordRejected,
    TargetUnavailable,
)
from connectors.settings import ConnectorConfigError, env_name, secret

SECTION = "connectors.itslearning"
SOURCE = "schul-idp"  # the datasource/source named in the IMS Enterprise file

# rollenart -> institutionRoleType; itslearning maps Student to its pupil profile and Staff to
# its staff profile. Administrator (site-wide admin rights) is never given by provisioning.
INSTITUTION_ROLES = {"LERN": "Student", "LEHR": "Staff", "LEIT": "Staff", "NLEHR": "Staff"}
# When a person has several rollenarten, the staff profile wins.
ROLE_ORDER = ("Staff", "Student")
GROUP_TYPES = {"schule": "School", "klasse": "Unspecified"}
# WS-Security fault codes for a refused UsernameToken.
AUTH_FAULTS = {"FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken"}
PAGE_SIZE = 200


class ImsFailure(RecordRejected):
    """The target answered codeMajor "failure" (or "unsupported") for this request."""

    def __init__(self, operation: str, status: ims.StatusInfo) -> None:
        self.operation = operation
        self.status = status
        minor = f" ({status.code_minor})" if status.code_minor else ""
        super().__init__(
            f"itslearning {operation}: {status.code_major}{minor}: {status.description}"
        )


def person_record(account: Account, email_clear: bool = False) -> ims.PersonRecord:
    """The IMS person for an account: only fields this connector maps, only if released."""
    attributes = account.attributes
    email = _single(attributes.get("mail"))
    return ims.PersonRecord(
        id=account.key,
        given=_single(attributes.get("vorname")),
        family=_single(attributes.get("familienname")),
        user_id=account.username,
        institution_role=institution_role(attributes.get("rollenart")),
        email=email or ("" if email_clear else None),
    )


def institution_role(rollenart: object) -> str | None:
    """The itslearning institutionRoleType for one or several rollenarten (None: no match)."""
    values = rollenart if isinstance(rollenart, list | tuple | set) else [rollenart]
    roles = {INSTITUTION_ROLES[str(v)] for v in values if str(v) in INSTITUTION_ROLES}
    return next((role for role in ROLE_ORDER if role in roles), None)


def group_record(group: Group, root: str | None) -> ims.GroupRecord:
    """The IMS group for a school or class; a school hangs under `root`."""
    parent = group.parent
    if parent is None and group.kind == "schule":
        parent = root
    return ims.GroupRecord(group.key, group.name, GROUP_TYPES.get(group.kind), parent)


def membership_records(account: Account) -> dict[str, ims.MembershipRecord]:
    """An active account's memberships by sync id (an inactive account keeps none)."""
    if not account.active:
        return {}
    records = {}
    for membership in account.memberships:
        identifier = ims.membership_id(account.key, membership.group)
        records[identifier] = ims.MembershipRecord(
            identifier, membership.group, account.key, membership.role
        )
    return records


def _single(value: object) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


class ItslearningConnector:
    """One itslearning site over IMS Enterprise Services; see the module docstring."""

    name = "itslearning"
    has_groups = True

    def __init__(
        self,
        url: str,
        username: str = "",
        password: str = "",
        *,
        service: str = "itslearning",
        root: str | None = None,
        export_dir: str | os.PathLike | None = None,
        timeout: float = 30,
    ) -> None:
        self.url = url
        self.username = username
        self._password = password
        self.service = service
        self.root = root or None
        self.export_dir = Path(export_dir) if export_dir else None
        self.timeout = timeout
        self._session = requests.Session()

    # --- transport --------------------------------------------------------------------------

    def call(self, service: str, operation: str, body: Element) -> Element:
        """Send one IMS ES operation; the response's body element on success.

        Raises TargetUnavailable when itslearning cannot be reached, answers with a server
        error or refuses the credentials, and RecordRejected (ImsFailure) when it refuses
        the request itself.
        """
        if not self.url:
            raise TargetUnavailable(
                f"[{SECTION}] url is empty: itslearning is fed by the IMS Enterprise file only"
            )
        message = ims.request_envelope(
            body,
            self.username,
            self._password,
            message_id=str(uuid.uuid4()),
            nonce=secrets.token_bytes(16),
            created=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        try:
            response = self._session.post(
                self.url,
                data=message,
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": f'"{ims.soap_action(service, operation)}"',
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise TargetUnavailable(f"itslearning {operation}: {exc}") from exc
        return self._answer(operation, response)

    def _answer(self, operation: str, response: requests.Response) -> Element:
        try:
            envelope = ims.parse_envelope(response.content)
        except ims.ImsFormatError as exc:
            raise TargetUnavailable(
                f"itslearning {operation}: HTTP {response.status_code}, no SOAP answer ({exc})"
            ) from exc
        if envelope.fault is not None:
            fault = envelope.fault
            if fault.local_code in AUTH_FAULTS:
                raise TargetUnavailable(
                    f"itslearning refused the credentials of {self.username!r} "
                    f"(check [{SECTION}] username and password_file): {fault.text}"
                )
            if fault.local_code == "Client":
                raise RecordRejected(f"itslearning {operation}: {fault.text}")
            raise TargetUnavailable(f"itslearning {operation}: {fault.code}: {fault.text}")
        if response.status_code != 200 or envelope.status is None:
            raise TargetUnavailable(
                f"itslearning {operation}: HTTP {response.status_code} without a status"
            )
        if envelope.status.code_major in ("failure", "unsupported"):
            raise ImsFailure(operation, envelope.status)
        return envelope.body

    # --- reads ------------------------------------------------------------------------------

    def read_person(self, key: str) -> ims.PersonRecord | None:
        """The person itslearning holds under this sourcedId, None if it holds none."""
        try:
            response = self.call("pms", "readPerson", ims.id_request("pms", "readPerson", key))
        except ImsFailure:
            return None  # itslearning answers an unknown sourcedId with a failure status
        return ims.parse_person(key, response.find(ims.q(ims.PMS, "person")))

    def read_group(self, key: str) -> ims.GroupRecord | None:
        try:
            response = self.call("gms", "readGroup", ims.id_request("gms", "readGroup", key))
        except ImsFailure:
            return None
        return ims.parse_group(key, response.find(ims.q(ims.GMS, "group")))

    def read_memberships(self, person: str) -> dict[str, ims.MembershipRecord]:
        """The person's memberships by sync id."""
        body = ims.id_request("mms", "readMembershipsForPerson", person, "personSourcedId")
        try:
            response = self.call("mms", "readMembershipsForPerson", body)
        except ImsFailure:
            return {}
        # itslearning spells the set "membershipIDPairSet" in this response.
        pairs = ims.parse_id_pairs(
            response, ims.MMS, "membershipIDPairSet", "membershipIdPair", "membership"
        )
        return {identifier: ims.parse_membership(identifier, el) for identifier, el in pairs}

    def read_persons(self) -> Iterator[ims.PersonRecord]:
        """Every synchronised person of the site (readAllPersons, page by page)."""
        page = 1
        while True:
            body = ims.read_all_persons_request(page, PAGE_SIZE)
            response = self.call("pms", "readAllPersons", body)
            pairs = ims.parse_id_pairs(
                response, ims.PMS, "personIdPairSet", "personIdPair", "person"
            )
            for identifier, element in pairs:
                if identifier:  # persons made by hand in itslearning have no sync id
                    yield ims.parse_person(identifier, element)
            if len(pairs) < PAGE_SIZE:
                return
            page += 1

    def read_accounts(self) -> Iterable[Account]:
        return [self._account(person) for person in self.read_persons()]

    def read_groups(self) -> Iterable[Group]:
        seen: dict[str, Group] = {}
        pending = {m.group for a in self.read_accounts() for m in a.memberships}
        while pending:
            key = pending.pop()
            if key in seen or key == self.root:
                continue
            record = self.read_group(key)
            if record is None:
                continue
            seen[key] = self._group(record)
            if record.parent:
                pending.add(record.parent)
        return list(seen.values())

    def _account(self, person: ims.PersonRecord) -> Account:
        attributes = {
            name: value
            for name, value in (
                ("username", person.user_id),
                ("vorname", person.given),
                ("familienname", person.family),
                ("mail", person.email),
            )
            if value
        }
        memberships = tuple(
            sorted(
                (
                    Membership(m.group or "", m.role or "")
                    for m in self.read_memberships(person.id).values()
                ),
                key=lambda m: (m.group, m.role),
            )
        )
        return Account(person.id, attributes, active=bool(memberships), memberships=memberships)

    def _group(self, record: ims.GroupRecord) -> Group:
        kind = {v: k for k, v in GROUP_TYPES.items()}.get(record.type or "", record.type or "")
        parent = None if record.parent == self.root else record.parent
        return Group(record.id, record.name or "", kind, parent)

    # --- writes -----------------------------------------------------------------------------

    def upsert_group(self, group: Group) -> None:
        desired = group_record(group, self.root)
        current = self.read_group(group.key)
        if current is None:
            self.call("gms", "createGroup", ims.group_request("createGroup", desired))
        elif current != desired:
            self.call("gms", "updateGroup", ims.group_request("updateGroup", desired))

    def delete_group(self, key: str) -> None:
        if self.read_group(key) is not None:
            self.call("gms", "deleteGroup", ims.id_request("gms", "deleteGroup", key))

    def upsert_account(self, account: Account) -> None:
        current = self.read_person(account.key)
        if current is None:
            desired = person_record(account)
            self.call("pms", "createPerson", ims.person_request("createPerson", desired))
            held: dict[str, ims.MembershipRecord] = {}
        else:
            # An address that is no longer released is cleared, not left behind.
            desired = person_record(account, email_clear=bool(current.email))
            if _differs(current, desired):
                self.call("pms", "updatePerson", ims.person_request("updatePerson", desired))
            held = self.read_memberships(account.key)
        self._sync_memberships(held, membership_records(account))

    def _sync_memberships(
        self, held: Mapping[str, ims.MembershipRecord], wanted: Mapping[str, ims.MembershipRecord]
    ) -> None:
        # Every membership is tried; the first refusal is raised afterwards, so one unknown
        # class does not keep the person out of the others.
        refused: list[RecordRejected] = []
        for identifier, record in wanted.items():
            operation = None
            if identifier not in held:
                operation = "createMembership"
            elif held[identifier] != record:
                operation = "updateMembership"
            if operation:
                try:
                    self.call("mms", operation, ims.membership_request(operation, record))
                except RecordRejected as exc:
                    refused.append(exc)
        for identifier in held.keys() - wanted.keys():
            self.call(
                "mms", "deleteMembership", ims.id_request("mms", "deleteMembership", identifier)
            )
        if refused:
            raise refused[0]

    def delete_account(self, key: str) -> None:
        if self.read_person(key) is None:
            return
        self._sync_memberships(self.read_memberships(key), {})
        self.call("pms", "deletePerson", ims.id_request("pms", "deletePerson", key))

    def close(self) -> None:
        self._session.close()

    # --- file export ------------------------------------------------------------------------

    def export(self, accounts: Iterable[Account], groups: Iterable[Group]) -> Path:
        """Write the IMS Enterprise 1.1 file into export_dir; its path."""
        if self.export_dir is None:
            raise ConnectorConfigError(f"[{SECTION}] export_dir is empty")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.export_dir / f"itslearning-{stamp}.xml"
        return export_enterprise_xml(accounts, groups, path, root=self.root)


def _differs(current: ims.PersonRecord, desired: ims.PersonRecord) -> bool:
    # "" (clear the address) and no address are the same state.
    return replace(current, email=current.email or None) != replace(
        desired, email=desired.email or None
    )


def export_enterprise_xml(
    accounts: Iterable[Account],
    groups: Iterable[Group],
    path: str | os.PathLike,
    *,
    root: str | None = None,
) -> Path:
    """Write all persons, groups and memberships as one IMS Enterprise 1.1 file, atomically.

    The file is a full picture: every record with recstatus 1 (add). It goes to a temporary
    file in the same folder first and is renamed into place, so an importer never reads half
    of it; like every file with personal data it is readable by its owner only.
    """
    accounts = list(accounts)
    document = ims.enterprise_document(
        persons=[(person_record(account), "add") for account in accounts],
        groups=[(group_record(group, root), "add") for group in groups],
        memberships=[
            (record, "add")
            for account in accounts
            for record in membership_records(account).values()
        ],
        source=SOURCE,
        when=datetime.now(UTC),
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(document)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def from_config(config) -> ItslearningConnector:
    """The connector as [connectors.itslearning] describes it (the password only with a url)."""
    table = config["connectors"]["itslearning"]
    password = ""
    if table["url"]:
        if not table["username"]:
            raise ConnectorConfigError(f"[{SECTION}] username is empty")
        password = secret(table, "password_file", env_name("itslearning", "password"), SECTION)
    return ItslearningConnector(
        table["url"],
        table["username"],
        password,
        service=table["service"],
        root=table.get("root"),
        export_dir=table["export_dir"] or None,
        timeout=table["timeout"],
    )
