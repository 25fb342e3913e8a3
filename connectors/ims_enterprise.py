"""IMS Enterprise messages: the Enterprise Services v1.0 SOAP messages and the 1.1 XML file.

Only the format lives here (building and parsing elements, namespaces, envelopes); which
fields of an account go where, and how a target answers, is the connector's business
(connectors.itslearning). Incoming XML is parsed with defusedxml: no DTDs, no entities.

Enterprise Services v1.0 (Person, Group and Membership Management Services) puts each kind of
record into two namespaces, a message schema (the request and response elements) and a data
schema (the record's own elements), plus the common schema for identifiers and e-mail and the
message binding schema for the SOAP header. A field that is None is left out of the message;
parsing gives None for a field that is absent, so a receiver can tell "not sent" from "empty".
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET  # building only; parsing goes through defusedxml
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as _defused_fromstring

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OASIS_WSS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"
WSSE = f"{OASIS_WSS}wssecurity-secext-1.0.xsd"
WSU = f"{OASIS_WSS}wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = f"{OASIS_WSS}username-token-profile-1.0#PasswordText"
BASE64 = f"{OASIS_WSS}soap-message-security-1.0#Base64Binary"
BIND = "http://www.imsglobal.org/services/common/imsMessBindSchema_v1p0"
COMMON = "http://www.imsglobal.org/services/common/imsCommonSchema_v1p0"
PMS = "http://www.imsglobal.org/services/pms/xsd/imsPersonManMessSchema_v1p0"
PMS_DATA = "http://www.imsglobal.org/services/pms/xsd/imsPersonManDataSchema_v1p0"
GMS = "http://www.imsglobal.org/services/gms/xsd/imsGroupManMessSchema_v1p0"
GMS_DATA = "http://www.imsglobal.org/services/gms/xsd/imsGroupManDataSchema_v1p0"
MMS = "http://www.imsglobal.org/services/mms/xsd/imsMemberManMessSchema_v1p0"
MMS_DATA = "http://www.imsglobal.org/services/mms/xsd/imsMemberManDataSchema_v1p0"

# service -> (message namespace, data namespace); the service name is also the SOAPAction's.
SERVICES = {"pms": (PMS, PMS_DATA), "gms": (GMS, GMS_DATA), "mms": (MMS, MMS_DATA)}

# Readable prefixes in what we send; receivers go by namespace, not prefix.
for _prefix, _uri in {
    "soapenv": SOAP,
    "wsse": WSSE,
    "wsu": WSU,
    "bind": BIND,
    "ims": COMMON,
    "pms": PMS,
    "pmsd": PMS_DATA,
    "gms": GMS,
    "gmsd": GMS_DATA,
    "mms": MMS,
    "mmsd": MMS_DATA,
}.items():
    ET.register_namespace(_prefix, _uri)

MAX_ID = 255  # itslearning's limit for a sync id
SHORT_NAME = 64  # descShort; longer names also go into descLong


class ImsFormatError(ValueError):
    """The XML is not what the IMS specification (or the SOAP envelope) requires."""


@dataclass(frozen=True)
class PersonRecord:
    id: str
    given: str | None = None
    family: str | None = None
    user_id: str | None = None
    institution_role: str | None = None
    email: str | None = None  # "" clears the address at the target on update

    @property
    def formatted(self) -> str:
        return " ".join(p for p in (self.given, self.family) if p)


@dataclass(frozen=True)
class GroupRecord:
    id: str
    name: str | None = None
    type: str | None = None  # itslearning's organisation type: "School", "Unspecified", ...
    parent: str | None = None


@dataclass(frozen=True)
class MembershipRecord:
    id: str
    group: str | None = None
    person: str | None = None
    role: str | None = None  # "Learner", "Instructor", "Member"


@dataclass(frozen=True)
class StatusInfo:
    code_major: str  # success, failure, unsupported, processing
    severity: str  # status, warning, error
    code_minor: str = ""
    description: str = ""


@dataclass(frozen=True)
class Fault:
    code: str  # the faultcode as sent, "prefix:local"
    text: str

    @property
    def local_code(self) -> str:
        # ElementTree keeps no prefix map, so the prefix cannot be resolved; the local names
        # that matter (Client, Server, FailedAuthentication, InvalidSecurity) are distinct.
        return self.code.rpartition(":")[2]


@dataclass(frozen=True)
class Envelope:
    """A parsed SOAP envelope: its header parts and the single element of its body."""

    body: ET.Element | None
    fault: Fault | None = None
    status: StatusInfo | None = None
    message_id: str = ""
    username: str | None = None
    password: str | None = None
    password_type: str | None = None


def membership_id(person: str, group: str) -> str:
    """The membership's sync id: group and person, hashed if that would be too long."""
    combined = f"{group}:{person}"
    if len(combined) <= MAX_ID:
        return combined
    return "m-" + hashlib.sha256(combined.encode()).hexdigest()


def soap_action(service: str, operation: str) -> str:
    return f"http://www.imsglobal.org/soap/{service}/{operation}"


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def _sub(parent: ET.Element, namespace: str, local: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, q(namespace, local))
    if text is not None:
        element.text = text
    return element


def _identifier(parent: ET.Element, namespace: str, local: str, value: str | None) -> None:
    if value is not None:
        _sub(_sub(parent, namespace, local), COMMON, "identifier", value)


# --- Enterprise Services: requests ------------------------------------------------------------


def request_envelope(
    body: ET.Element, username: str, password: str, message_id: str, nonce: bytes, created: str
) -> bytes:
    """The SOAP 1.1 envelope: WS-Security UsernameToken and syncRequestHeaderInfo headers."""
    envelope = ET.Element(q(SOAP, "Envelope"))
    header = _sub(envelope, SOAP, "Header")
    security = _sub(header, WSSE, "Security")
    security.set(q(SOAP, "mustUnderstand"), "1")
    token = _sub(security, WSSE, "UsernameToken")
    _sub(token, WSSE, "Username", username)
    _sub(token, WSSE, "Password", password).set("Type", PASSWORD_TEXT)
    _sub(token, WSSE, "Nonce", base64.b64encode(nonce).decode()).set("EncodingType", BASE64)
    _sub(token, WSU, "Created", created)
    info = _sub(header, BIND, "syncRequestHeaderInfo")
    _sub(info, BIND, "messageIdentifier", message_id)
    _sub(envelope, SOAP, "Body").append(body)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def person_request(operation: str, person: PersonRecord) -> ET.Element:
    """createPersonRequest / updatePersonRequest."""
    request = ET.Element(q(PMS, f"{operation}Request"))
    _identifier(request, PMS, "sourcedId", person.id)
    add_person(request, person)
    return request


def group_request(operation: str, group: GroupRecord) -> ET.Element:
    """createGroupRequest / updateGroupRequest."""
    request = ET.Element(q(GMS, f"{operation}Request"))
    _identifier(request, GMS, "sourcedId", group.id)
    add_group(request, group)
    return request


def membership_request(operation: str, membership: MembershipRecord) -> ET.Element:
    """createMembershipRequest / updateMembershipRequest."""
    request = ET.Element(q(MMS, f"{operation}Request"))
    _identifier(request, MMS, "sourcedId", membership.id)
    add_membership(request, membership)
    return request


def id_request(
    service: str, operation: str, identifier: str, element: str = "sourcedId"
) -> ET.Element:
    """A request naming one record: delete*/read*, readMembershipsForPerson (personSourcedId)."""
    namespace = SERVICES[service][0]
    request = ET.Element(q(namespace, f"{operation}Request"))
    _identifier(request, namespace, element, identifier)
    return request


def read_all_persons_request(page_index: int, page_size: int) -> ET.Element:
    """itslearning's readAllPersons (not in the standard), one page, 1-based."""
    request = ET.Element(q(PMS, "readAllPersonsRequest"))
    _sub(request, PMS, "PageIndex", str(page_index))
    _sub(request, PMS, "PageSize", str(page_size))
    _sub(request, PMS, "OnlyManuallyCreatedUsers", "false")
    _sub(request, PMS, "ConvertFromManual", "false")
    return request


def add_person(parent: ET.Element, person: PersonRecord) -> ET.Element:
    """Append a person element (PersonDType), leaving out the fields that are None."""
    element = _sub(parent, PMS, "person")
    if person.given is not None or person.family is not None:
        _sub(element, PMS_DATA, "formatName", person.formatted)
        name = _sub(element, PMS_DATA, "name")
        for part, value in (("First", person.given), ("Last", person.family)):
            if value is not None:
                part_name = _sub(name, PMS_DATA, "partName")
                _sub(part_name, PMS_DATA, "namePartType", part)
                _sub(part_name, PMS_DATA, "namePartValue", value)
    if person.email is not None:
        _sub(element, COMMON, "email", person.email)
    if person.user_id is not None:
        _sub(_sub(element, PMS_DATA, "userId"), COMMON, "userIdValue", person.user_id)
    if person.institution_role is not None:
        role = _sub(element, PMS_DATA, "institutionRole")
        _sub(role, PMS_DATA, "institutionRoleType", person.institution_role)
        _sub(role, PMS_DATA, "primaryRoleType", "true")
    return element


def add_group(parent: ET.Element, group: GroupRecord) -> ET.Element:
    """Append a group element (GroupDType): organisation type, parent, name."""
    element = _sub(parent, GMS, "group")
    if group.type is not None:
        group_type = _sub(element, GMS_DATA, "groupType")
        _sub(group_type, GMS_DATA, "scheme", "ItslearningOrganisationTypes")
        _sub(_sub(group_type, GMS_DATA, "typeValue"), GMS_DATA, "type", group.type)
    if group.parent is not None:
        relationship = _sub(element, GMS_DATA, "relationship")
        _sub(relationship, GMS_DATA, "relation", "Parent")
        _identifier(relationship, GMS_DATA, "sourceId", group.parent)
        _sub(relationship, GMS_DATA, "label", "Parent")
    if group.name is not None:
        description = _sub(element, GMS_DATA, "description")
        _sub(description, GMS_DATA, "descShort", group.name[:SHORT_NAME])
        if len(group.name) > SHORT_NAME:
            _sub(description, GMS_DATA, "descLong", group.name)
    return element


def add_membership(parent: ET.Element, membership: MembershipRecord) -> ET.Element:
    """Append a membership element: the group, the member and its roleType."""
    element = _sub(parent, MMS, "membership")
    _identifier(element, MMS_DATA, "groupSourcedId", membership.group)
    member = _sub(element, MMS_DATA, "member")
    _identifier(member, MMS_DATA, "memberSourcedId", membership.person)
    if membership.role is not None:
        _sub(_sub(member, MMS_DATA, "role"), MMS_DATA, "roleType", membership.role)
    return element


# --- Enterprise Services: parsing -------------------------------------------------------------


def parse_xml(data: bytes) -> ET.Element:
    """Parse untrusted XML (no DTD, no entities, no network)."""
    try:
        return _defused_fromstring(data, forbid_dtd=True)
    except (ParseError, ValueError) as exc:  # defusedxml's own errors are ValueErrors
        raise ImsFormatError(f"not well-formed XML: {exc}") from exc


def parse_envelope(data: bytes) -> Envelope:
    """A SOAP 1.1 envelope, strict about the envelope's own namespace and shape."""
    root = parse_xml(data)
    if root.tag != q(SOAP, "Envelope"):
        raise ImsFormatError(f"not a SOAP 1.1 envelope: {root.tag}")
    header = root.find(q(SOAP, "Header"))
    body = root.find(q(SOAP, "Body"))
    if body is None:
        raise ImsFormatError("SOAP envelope without Body")
    children = list(body)
    if len(children) != 1:
        raise ImsFormatError(f"SOAP Body must hold one element, holds {len(children)}")
    fields: dict = {"body": children[0]}
    if children[0].tag == q(SOAP, "Fault"):
        fault = children[0]
        fields["fault"] = Fault(
            code=fault.findtext("faultcode", "").strip(),
            text=fault.findtext("faultstring", "").strip(),
        )
    if header is not None:
        token = header.find(f"{q(WSSE, 'Security')}/{q(WSSE, 'UsernameToken')}")
        if token is not None:
            fields["username"] = token.findtext(q(WSSE, "Username"))
            password = token.find(q(WSSE, "Password"))
            if password is not None:
                fields["password"] = password.text or ""
                fields["password_type"] = password.get("Type")
        for name in ("syncRequestHeaderInfo", "syncResponseHeaderInfo"):
            info = header.find(q(BIND, name))
            if info is not None:
                fields["message_id"] = (info.findtext(q(BIND, "messageIdentifier")) or "").strip()
                status = info.find(q(BIND, "statusInfo"))
                if status is not None:
                    fields["status"] = _parse_status(status)
    return Envelope(**fields)


def _parse_status(status: ET.Element) -> StatusInfo:
    minor = status.find(f"{q(BIND, 'codeMinor')}/{q(BIND, 'codeMinorField')}")
    description = status.find(q(BIND, "description"))
    return StatusInfo(
        code_major=(status.findtext(q(BIND, "codeMajor")) or "").strip(),
        severity=(status.findtext(q(BIND, "severity")) or "").strip(),
        code_minor=""
        if minor is None
        else (minor.findtext(q(BIND, "codeMinorValue")) or "").strip(),
        description=""
        if description is None
        else (description.findtext(q(COMMON, "text")) or "").strip(),
    )


def _text(element: ET.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    if found is None:
        return None
    return (found.text or "").strip()


def _id(element: ET.Element | None, namespace: str, local: str) -> str | None:
    return _text(element, f"{q(namespace, local)}/{q(COMMON, 'identifier')}")


def parse_person(identifier: str, element: ET.Element | None) -> PersonRecord:
    """A person element (PersonDType) as a record; absent fields are None."""
    if element is None:
        return PersonRecord(id=identifier)
    parts = {}
    for part in element.findall(f"{q(PMS_DATA, 'name')}/{q(PMS_DATA, 'partName')}"):
        kind = _text(part, q(PMS_DATA, "namePartType"))
        parts[kind] = _text(part, q(PMS_DATA, "namePartValue"))
    return PersonRecord(
        id=identifier,
        given=parts.get("First"),
        family=parts.get("Last"),
        user_id=_text(element, f"{q(PMS_DATA, 'userId')}/{q(COMMON, 'userIdValue')}"),
        institution_role=_text(
            element, f"{q(PMS_DATA, 'institutionRole')}/{q(PMS_DATA, 'institutionRoleType')}"
        ),
        email=_text(element, q(COMMON, "email")),
    )


def parse_group(identifier: str, element: ET.Element | None) -> GroupRecord:
    if element is None:
        return GroupRecord(id=identifier)
    parent = None
    for relationship in element.findall(q(GMS_DATA, "relationship")):
        if _text(relationship, q(GMS_DATA, "relation")) == "Parent":
            parent = _id(relationship, GMS_DATA, "sourceId")
    description = element.find(q(GMS_DATA, "description"))
    name = _text(description, q(GMS_DATA, "descLong")) or _text(
        description, q(GMS_DATA, "descShort")
    )
    return GroupRecord(
        id=identifier,
        name=name,
        type=_text(
            element,
            f"{q(GMS_DATA, 'groupType')}/{q(GMS_DATA, 'typeValue')}/{q(GMS_DATA, 'type')}",
        ),
        parent=parent,
    )


def parse_membership(identifier: str, element: ET.Element | None) -> MembershipRecord:
    if element is None:
        return MembershipRecord(id=identifier)
    member = element.find(q(MMS_DATA, "member"))
    return MembershipRecord(
        id=identifier,
        group=_id(element, MMS_DATA, "groupSourcedId"),
        person=_id(member, MMS_DATA, "memberSourcedId"),
        role=_text(member, f"{q(MMS_DATA, 'role')}/{q(MMS_DATA, 'roleType')}"),
    )


def request_id(request: ET.Element, namespace: str, element: str = "sourcedId") -> str | None:
    """The identifier a request names (its sourcedId, or personSourcedId and the like)."""
    return _id(request, namespace, element)


def parse_id_pairs(response: ET.Element, namespace: str, pair_set: str, pair: str, record: str):
    """(identifier, record element) of each idPair in a read response's pair set."""
    found = response.find(q(namespace, pair_set))
    if found is None:
        return []
    return [
        (_id(item, namespace, "sourcedId") or "", item.find(q(namespace, record)))
        for item in found.findall(q(namespace, pair))
    ]


# --- Enterprise 1.1 XML file ------------------------------------------------------------------

RECSTATUS = {"add": "1", "update": "2", "delete": "3"}
# IMS Enterprise 1.1 roletype codes of a member's role.
ROLETYPES = {"Learner": "01", "Instructor": "02", "ContentDeveloper": "03", "Member": "04"}
RELATION_PARENT = "1"


def _sourcedid(parent: ET.Element, source: str, identifier: str) -> None:
    element = ET.SubElement(parent, "sourcedid")
    ET.SubElement(element, "source").text = source
    ET.SubElement(element, "id").text = identifier


def enterprise_document(
    persons: Sequence[tuple[PersonRecord, str]],
    groups: Sequence[tuple[GroupRecord, str]],
    memberships: Iterable[tuple[MembershipRecord, str]],
    source: str,
    when: datetime,
) -> bytes:
    """An IMS Enterprise 1.1 document; each record with its recstatus ("add", "update", ...)."""
    root = ET.Element("enterprise")
    properties = ET.SubElement(root, "properties", lang="de")
    ET.SubElement(properties, "datasource").text = source
    ET.SubElement(properties, "datetime").text = when.isoformat(timespec="seconds")
    for person, status in persons:
        element = ET.SubElement(root, "person", recstatus=RECSTATUS[status])
        _sourcedid(element, source, person.id)
        if person.user_id is not None:
            ET.SubElement(element, "userid").text = person.user_id
        name = ET.SubElement(element, "name")
        ET.SubElement(name, "fn").text = person.formatted
        n = ET.SubElement(name, "n")
        if person.family is not None:
            ET.SubElement(n, "family").text = person.family
        if person.given is not None:
            ET.SubElement(n, "given").text = person.given
        if person.email:
            ET.SubElement(element, "email").text = person.email
        if person.institution_role is not None:
            ET.SubElement(
                element,
                "institutionrole",
                primaryrole="Yes",
                institutionroletype=person.institution_role,
            )
    for group, status in groups:
        element = ET.SubElement(root, "group", recstatus=RECSTATUS[status])
        _sourcedid(element, source, group.id)
        if group.type is not None:
            group_type = ET.SubElement(element, "grouptype")
            ET.SubElement(group_type, "scheme").text = "ItslearningOrganisationTypes"
            ET.SubElement(group_type, "typevalue", level="1").text = group.type
        description = ET.SubElement(element, "description")
        ET.SubElement(description, "short").text = (group.name or "")[:SHORT_NAME]
        if group.name and len(group.name) > SHORT_NAME:
            ET.SubElement(description, "long").text = group.name
        if group.parent is not None:
            relationship = ET.SubElement(element, "relationship", relation=RELATION_PARENT)
            _sourcedid(relationship, source, group.parent)
            ET.SubElement(relationship, "label").text = "Parent"
    by_group: dict[str, list[tuple[MembershipRecord, str]]] = {}
    for membership, status in memberships:
        by_group.setdefault(membership.group or "", []).append((membership, status))
    for group_id, members in by_group.items():
        element = ET.SubElement(root, "membership")
        _sourcedid(element, source, group_id)
        for membership, status in members:
            member = ET.SubElement(element, "member")
            _sourcedid(member, source, membership.person or "")
            ET.SubElement(member, "idtype").text = "1"  # a person, not a group
            role = ET.SubElement(
                member,
                "role",
                roletype=ROLETYPES[membership.role or "Member"],
                recstatus=RECSTATUS[status],
            )
            ET.SubElement(role, "status").text = "1"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class EnterpriseFile:
    source: str
    datetime: str
    persons: dict[str, tuple[PersonRecord, str]]  # id -> (record, recstatus)
    groups: dict[str, tuple[GroupRecord, str]]
    memberships: list[tuple[MembershipRecord, str]]


def parse_enterprise(data: bytes) -> EnterpriseFile:
    """Read an IMS Enterprise 1.1 document back, refusing one that lacks a required part."""
    root = parse_xml(data)
    if root.tag != "enterprise":
        raise ImsFormatError(f"root element is {root.tag}, not enterprise")
    properties = root.find("properties")
    if properties is None or list(root).index(properties) != 0:
        raise ImsFormatError("properties must come first")
    source = _required(properties, "datasource", "properties")
    when = _required(properties, "datetime", "properties")
    roles = {code: role for role, code in ROLETYPES.items()}
    persons, groups, memberships = {}, {}, []
    for element in root.findall("person"):
        identifier = _sourced(element, "person")
        name = element.find("name")
        if name is None or name.find("fn") is None:
            raise ImsFormatError(f"person {identifier}: name/fn is required")
        role = element.find("institutionrole")
        persons[identifier] = (
            PersonRecord(
                id=identifier,
                given=_text(name, "n/given"),
                family=_text(name, "n/family"),
                user_id=_text(element, "userid"),
                institution_role=None if role is None else role.get("institutionroletype"),
                email=_text(element, "email"),
            ),
            _recstatus(element, f"person {identifier}"),
        )
    for element in root.findall("group"):
        identifier = _sourced(element, "group")
        description = element.find("description")
        if description is None or description.find("short") is None:
            raise ImsFormatError(f"group {identifier}: description/short is required")
        parent = None
        for relationship in element.findall("relationship"):
            if relationship.get("relation") == RELATION_PARENT:
                parent = _sourced(relationship, f"group {identifier} relationship")
        groups[identifier] = (
            GroupRecord(
                id=identifier,
                name=_text(description, "long") or _text(description, "short"),
                type=_text(element, "grouptype/typevalue"),
                parent=parent,
            ),
            _recstatus(element, f"group {identifier}"),
        )
    for element in root.findall("membership"):
        group_id = _sourced(element, "membership")
        for member in element.findall("member"):
            person_id = _sourced(member, f"membership {group_id} member")
            if _text(member, "idtype") not in {"1", "2"}:
                raise ImsFormatError(f"membership {group_id}/{person_id}: idtype 1 or 2")
            for role in member.findall("role"):
                if role.get("roletype") not in roles or role.find("status") is None:
                    raise ImsFormatError(f"membership {group_id}/{person_id}: role incomplete")
                record = MembershipRecord(
                    id=membership_id(person_id, group_id),
                    group=group_id,
                    person=person_id,
                    role=roles[role.get("roletype")],
                )
                memberships.append((record, _recstatus(role, f"membership {record.id}")))
    return EnterpriseFile(source, when, persons, groups, memberships)


def _required(element: ET.Element, path: str, where: str) -> str:
    value = _text(element, path)
    if not value:
        raise ImsFormatError(f"{where}: {path} is required")
    return value


def _sourced(element: ET.Element, where: str) -> str:
    sourcedid = element.find("sourcedid")
    if sourcedid is None:
        raise ImsFormatError(f"{where}: sourcedid is required")
    _required(sourcedid, "source", f"{where} sourcedid")
    return _required(sourcedid, "id", f"{where} sourcedid")


def _recstatus(element: ET.Element, where: str) -> str:
    status = element.get("recstatus")
    names = {code: name for name, code in RECSTATUS.items()}
    if status not in names:
        raise ImsFormatError(f"{where}: recstatus must be 1, 2 or 3, is {status!r}")
    return names[status]
