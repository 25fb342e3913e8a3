"""A strict stand-in for itslearning's IMS Enterprise Services endpoint, for the tests.

No itslearning server can run here, so this WSGI app (werkzeug, on 127.0.0.1 in a thread) plays
one: it keeps persons, groups and memberships in memory and refuses what itslearning documents
as invalid, with the answers itslearning gives:

- a message that is not what the IMS ES v1.0 schemas define (wrong namespace, unknown element,
  SOAPAction not matching the body, no messageIdentifier): a SOAP Client fault (HTTP 500);
- a missing or wrong WS-Security UsernameToken: a wsse:FailedAuthentication fault (HTTP 500);
- a record that lacks a mandatory field (person: sourcedId, name, userId, institutionRoleType;
  group: sourcedId, name, type, parent; membership: sourcedId, group and member sourcedIds,
  roleType), names an unknown id, or duplicates one: HTTP 200 with statusInfo codeMajor
  "failure" and a codeMinor (incompletedata, unknownobject, objectexists, invaliddata).

The codeMinor words are this endpoint's; the connector does not depend on them.
`fail_with` and `delay` make it answer like an overloaded or hanging server.
"""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors import ims_enterprise as ims
from connectors.ims_enterprise import (
    BIND,
    COMMON,
    GMS,
    GMS_DATA,
    MMS,
    MMS_DATA,
    PMS,
    PMS_DATA,
    SOAP,
    WSSE,
    q,
)

# IMS ES roleType words and the numeric forms itslearning also takes.
ROLE_TYPES = {
    *("Learner", "Instructor", "ContentDeveloper", "Member", "Manager", "Mentor"),
    *("Administrator", "TeachingAssistant"),
    *(f"0{n}" for n in range(1, 9)),
}
ORGANISATION_TYPES = {"Site", "School", "Course", "CourseGroup", "Unspecified"}


def _children(namespace: str, *names: str) -> set[str]:
    return {q(namespace, name) for name in names}


def _requests(namespace: str, operations: tuple[str, ...], *children: str) -> dict[str, set]:
    return {q(namespace, f"{op}Request"): _children(namespace, *children) for op in operations}


_SOURCED = {q(ns, "sourcedId"): {q(COMMON, "identifier")} for ns in (PMS, GMS, MMS)}
# Element -> the child elements the IMS ES v1.0 schemas allow in it (the parts this endpoint
# knows of); an element not listed here must be a leaf.
SCHEMA: dict[str, set[str]] = {
    **_SOURCED,
    **_requests(PMS, ("createPerson", "updatePerson"), "sourcedId", "person"),
    **_requests(PMS, ("deletePerson", "readPerson"), "sourcedId"),
    q(PMS, "readAllPersonsRequest"): _children(
        PMS, "PageIndex", "PageSize", "CreatedFrom", "OnlyManuallyCreatedUsers", "ConvertFromManual"
    ),
    q(PMS, "person"): {q(COMMON, "email")}
    | _children(PMS_DATA, "formatName", "name", "url", "tel", "address", "demographics")
    | _children(PMS_DATA, "userId", "institutionRole", "extension"),
    q(PMS_DATA, "name"): _children(PMS_DATA, "nameType", "partName"),
    q(PMS_DATA, "partName"): _children(PMS_DATA, "namePartType", "namePartValue"),
    q(PMS_DATA, "userId"): _children(COMMON, "userIdValue", "passWord"),
    q(PMS_DATA, "institutionRole"): _children(PMS_DATA, "institutionRoleType", "primaryRoleType"),
    **_requests(GMS, ("createGroup", "updateGroup"), "sourcedId", "group"),
    **_requests(GMS, ("deleteGroup", "readGroup"), "sourcedId"),
    q(GMS, "group"): _children(GMS_DATA, "groupType", "relationship", "description", "extension"),
    q(GMS_DATA, "groupType"): _children(GMS_DATA, "scheme", "typeValue"),
    q(GMS_DATA, "typeValue"): _children(GMS_DATA, "type", "level"),
    q(GMS_DATA, "relationship"): _children(GMS_DATA, "relation", "sourceId", "label"),
    q(GMS_DATA, "sourceId"): {q(COMMON, "identifier")},
    q(GMS_DATA, "description"): _children(GMS_DATA, "descShort", "descLong", "descFull"),
    **_requests(MMS, ("createMembership", "updateMembership"), "sourcedId", "membership"),
    **_requests(MMS, ("deleteMembership",), "sourcedId"),
    **_requests(MMS, ("readMembershipsForPerson",), "personSourcedId"),
    q(MMS, "personSourcedId"): {q(COMMON, "identifier")},
    q(MMS, "membership"): _children(MMS_DATA, "groupSourcedId", "member"),
    q(MMS_DATA, "groupSourcedId"): {q(COMMON, "identifier")},
    q(MMS_DATA, "member"): _children(MMS_DATA, "memberSourcedId", "role"),
    q(MMS_DATA, "memberSourcedId"): {q(COMMON, "identifier")},
    q(MMS_DATA, "role"): _children(MMS_DATA, "roleType"),
}


class Refused(Exception):
    """This request is answered with a failure status (HTTP 200)."""

    def __init__(self, code_minor: str, text: str) -> None:
        super().__init__(text)
        self.code_minor = code_minor
        self.text = text


class Fault(Exception):
    """This request is answered with a SOAP fault (HTTP 500)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Logged:
    operation: str
    body: bytes  # the request as received


class ItslearningEndpoint:
    """State, checks and answers of one itslearning site; start() serves it on 127.0.0.1."""

    def __init__(
        self,
        username: str = "idp-sync",
        password: str = "s3cret",  # noqa: S107 (the test site's own password)
        root: str = "MV",
    ) -> None:
        self.username = username
        self.password = password
        self.root = root
        self.persons: dict[str, ims.PersonRecord] = {}
        self.groups: dict[str, ims.GroupRecord] = {
            root: ims.GroupRecord(root, "Mecklenburg-Vorpommern", "Site", None)
        }
        self.memberships: dict[str, ims.MembershipRecord] = {}
        self.log: list[Logged] = []
        self.fail_with: int | None = None  # answer every request with this HTTP status
        self.delay = 0.0  # seconds to wait before answering
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None

    # --- serving --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/WCFServiceLibrary/ImsEnterpriseServicesPort.svc"

    def start(self) -> ItslearningEndpoint:
        self._server = make_server("127.0.0.1", self.port, self, threaded=True)
        self.port = self._server.server_port
        # A short poll interval: stop() waits up to one interval for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def restart(self) -> None:
        """Stop and serve again on the same port; the state stays."""
        self.stop()
        self.start()

    def writes(self) -> list[str]:
        """The operations received that change state, in order."""
        return [entry.operation for entry in self.log if not entry.operation.startswith("read")]

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with:
            return Response("busy", status=self.fail_with)(environ, start_response)
        return self._answer(request)(environ, start_response)

    def _answer(self, request: Request) -> Response:
        data = request.get_data()
        try:
            if request.method != "POST" or request.mimetype != "text/xml":
                raise Fault("soapenv:Client", "POST text/xml expected")
            try:
                envelope = ims.parse_envelope(data)
            except ims.ImsFormatError as exc:
                raise Fault("soapenv:Client", str(exc)) from exc
            self._authenticate(envelope)
            if not envelope.message_id:
                raise Fault("soapenv:Client", "syncRequestHeaderInfo/messageIdentifier missing")
            service, operation = self._operation(envelope.body, request.headers.get("SOAPAction"))
            _check_schema(envelope.body)
        except Fault as fault:
            return _fault_response(fault)
        self.log.append(Logged(operation, data))
        handler = getattr(self, f"_{operation}")
        response = ET.Element(q(ims.SERVICES[service][0], f"{operation}Response"))
        try:
            handler(envelope.body, response)
        except Refused as refused:
            status = ims.StatusInfo("failure", "error", refused.code_minor, refused.text)
            return _status_response(envelope.message_id, status, response)
        return _status_response(
            envelope.message_id, ims.StatusInfo("success", "status", "fullsuccess"), response
        )

    def _authenticate(self, envelope: ims.Envelope) -> None:
        if envelope.username is None or envelope.password is None:
            raise Fault("wsse:InvalidSecurity", "no WS-Security UsernameToken")
        if envelope.password_type != ims.PASSWORD_TEXT:
            raise Fault("wsse:InvalidSecurity", "the password must be of type PasswordText")
        if (envelope.username, envelope.password) != (self.username, self.password):
            raise Fault("wsse:FailedAuthentication", "The security token could not be verified")

    @staticmethod
    def _operation(body: ET.Element, action: str | None) -> tuple[str, str]:
        for service, (namespace, _) in ims.SERVICES.items():
            prefix = f"{{{namespace}}}"
            if body.tag.startswith(prefix) and body.tag.endswith("Request"):
                operation = body.tag[len(prefix) : -len("Request")]
                if body.tag not in SCHEMA:
                    break
                if (action or "").strip('"') != ims.soap_action(service, operation):
                    raise Fault("soapenv:Client", f"SOAPAction {action!r} does not match the body")
                return service, operation
        raise Fault("soapenv:Client", f"unknown operation {body.tag}")

    # --- persons --------------------------------------------------------------------------

    def _createPerson(self, body: ET.Element, response: ET.Element) -> None:
        person = ims.parse_person(_sourced(body, PMS), body.find(q(PMS, "person")))
        missing = [
            name
            for name, value in (
                ("name (First)", person.given),
                ("name (Last)", person.family),
                ("userId", person.user_id),
                ("institutionRoleType", person.institution_role),
            )
            if not value
        ]
        if missing:
            raise Refused("incompletedata", "missing: " + ", ".join(missing))
        if person.id in self.persons:
            raise Refused("objectexists", f"person {person.id} exists")
        self._unique_user_id(person)
        self.persons[person.id] = replace(person, email=person.email or None)

    def _updatePerson(self, body: ET.Element, response: ET.Element) -> None:
        change = ims.parse_person(_sourced(body, PMS), body.find(q(PMS, "person")))
        current = self._person(change.id)
        for name in ("given", "family", "user_id", "institution_role"):
            if getattr(change, name) == "":
                raise Refused("incompletedata", f"{name} must not be empty")
        updated = replace(
            current,
            **{
                name: value
                for name, value in vars(change).items()
                if value is not None and name != "id"
            },
        )
        self._unique_user_id(updated)
        self.persons[current.id] = replace(updated, email=updated.email or None)

    def _deletePerson(self, body: ET.Element, response: ET.Element) -> None:
        person = self._person(_sourced(body, PMS))
        del self.persons[person.id]
        for key in [k for k, m in self.memberships.items() if m.person == person.id]:
            del self.memberships[key]

    def _readPerson(self, body: ET.Element, response: ET.Element) -> None:
        ims.add_person(response, self._person(_sourced(body, PMS)))

    def _readAllPersons(self, body: ET.Element, response: ET.Element) -> None:
        try:
            index = int(body.findtext(q(PMS, "PageIndex"), ""))
            size = int(body.findtext(q(PMS, "PageSize"), ""))
        except ValueError:
            raise Refused("invaliddata", "PageIndex and PageSize must be numbers") from None
        if index < 1 or size < 1:
            raise Refused("invaliddata", "PageIndex and PageSize start at 1")
        persons = sorted(self.persons.values(), key=lambda p: p.id)
        pairs = ET.SubElement(response, q(PMS, "personIdPairSet"))
        for person in persons[(index - 1) * size : index * size]:
            pair = ET.SubElement(pairs, q(PMS, "personIdPair"))
            ident = ET.SubElement(ET.SubElement(pair, q(PMS, "sourcedId")), q(COMMON, "identifier"))
            ident.text = person.id
            ims.add_person(pair, person)
        ET.SubElement(response, q(PMS, "virtualCount")).text = str(len(persons))

    def _person(self, key: str) -> ims.PersonRecord:
        if key not in self.persons:
            raise Refused("unknownobject", f"no person {key}")
        return self.persons[key]

    def _unique_user_id(self, person: ims.PersonRecord) -> None:
        for other in self.persons.values():
            if other.id != person.id and other.user_id == person.user_id:
                raise Refused("objectexists", f"userId {person.user_id} is taken")

    # --- groups ---------------------------------------------------------------------------

    def _createGroup(self, body: ET.Element, response: ET.Element) -> None:
        group = ims.parse_group(_sourced(body, GMS), body.find(q(GMS, "group")))
        missing = [
            name
            for name, value in (
                ("description/descShort", group.name),
                ("groupType", group.type),
                ("relationship Parent", group.parent),
            )
            if not value
        ]
        if missing:
            raise Refused("incompletedata", "missing: " + ", ".join(missing))
        if group.id in self.groups:
            raise Refused("objectexists", f"group {group.id} exists")
        self._check_group(group)
        self.groups[group.id] = group

    def _updateGroup(self, body: ET.Element, response: ET.Element) -> None:
        change = ims.parse_group(_sourced(body, GMS), body.find(q(GMS, "group")))
        current = self._group(change.id)
        updated = replace(
            current,
            **{n: v for n, v in vars(change).items() if v is not None and n != "id"},
        )
        if not (updated.name and updated.type and updated.parent):
            raise Refused("incompletedata", "name, groupType and parent must not be empty")
        self._check_group(updated)
        self.groups[updated.id] = updated

    def _deleteGroup(self, body: ET.Element, response: ET.Element) -> None:
        group = self._group(_sourced(body, GMS))
        del self.groups[group.id]
        for key in [k for k, m in self.memberships.items() if m.group == group.id]:
            del self.memberships[key]

    def _readGroup(self, body: ET.Element, response: ET.Element) -> None:
        ims.add_group(response, self._group(_sourced(body, GMS)))

    def _group(self, key: str) -> ims.GroupRecord:
        if key not in self.groups:
            raise Refused("unknownobject", f"no group {key}")
        return self.groups[key]

    def _check_group(self, group: ims.GroupRecord) -> None:
        if group.type not in ORGANISATION_TYPES:
            raise Refused("invaliddata", f"unknown organisation type {group.type}")
        if group.parent not in self.groups or group.parent == group.id:
            raise Refused("unknownobject", f"no parent group {group.parent}")

    # --- memberships ----------------------------------------------------------------------

    def _createMembership(self, body: ET.Element, response: ET.Element) -> None:
        membership = self._membership_in(body)
        if membership.id in self.memberships:
            raise Refused("objectexists", f"membership {membership.id} exists")
        for other in self.memberships.values():
            if (other.group, other.person) == (membership.group, membership.person):
                raise Refused("objectexists", f"{membership.person} is in {membership.group}")
        self.memberships[membership.id] = membership

    def _updateMembership(self, body: ET.Element, response: ET.Element) -> None:
        membership = self._membership_in(body)
        current = self.memberships.get(membership.id)
        if current is None:
            raise Refused("unknownobject", f"no membership {membership.id}")
        if (current.group, current.person) != (membership.group, membership.person):
            raise Refused("invaliddata", "a membership keeps its group and member")
        self.memberships[membership.id] = membership

    def _deleteMembership(self, body: ET.Element, response: ET.Element) -> None:
        key = _sourced(body, MMS)
        if key not in self.memberships:
            raise Refused("unknownobject", f"no membership {key}")
        del self.memberships[key]

    def _readMembershipsForPerson(self, body: ET.Element, response: ET.Element) -> None:
        person = self._person(_sourced(body, MMS, "personSourcedId"))
        pairs = ET.SubElement(response, q(MMS, "membershipIDPairSet"))
        for membership in self.memberships.values():
            if membership.person == person.id:
                pair = ET.SubElement(pairs, q(MMS, "membershipIdPair"))
                sourced = ET.SubElement(pair, q(MMS, "sourcedId"))
                ET.SubElement(sourced, q(COMMON, "identifier")).text = membership.id
                ims.add_membership(pair, membership)

    def _membership_in(self, body: ET.Element) -> ims.MembershipRecord:
        membership = ims.parse_membership(_sourced(body, MMS), body.find(q(MMS, "membership")))
        missing = [
            name
            for name, value in (
                ("groupSourcedId", membership.group),
                ("memberSourcedId", membership.person),
                ("roleType", membership.role),
            )
            if not value
        ]
        if missing:
            raise Refused("incompletedata", "missing: " + ", ".join(missing))
        if membership.role not in ROLE_TYPES:
            raise Refused("invaliddata", f"unknown roleType {membership.role}")
        self._group(membership.group)
        self._person(membership.person)
        return membership


def _sourced(body: ET.Element, namespace: str, element: str = "sourcedId") -> str:
    identifier = ims.request_id(body, namespace, element)
    if not identifier:
        raise Refused("incompletedata", f"{element}/identifier missing")
    return identifier


def _check_schema(element: ET.Element) -> None:
    allowed = SCHEMA.get(element.tag)
    for child in element:
        if allowed is None or child.tag not in allowed:
            raise Fault("soapenv:Client", f"element {child.tag} not allowed in {element.tag}")
        _check_schema(child)


def _envelope(header_parts: list[ET.Element], body_part: ET.Element) -> bytes:
    envelope = ET.Element(q(SOAP, "Envelope"))
    header = ET.SubElement(envelope, q(SOAP, "Header"))
    header.extend(header_parts)
    ET.SubElement(envelope, q(SOAP, "Body")).append(body_part)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _status_response(message_id: str, status: ims.StatusInfo, body: ET.Element) -> Response:
    info = ET.Element(q(BIND, "syncResponseHeaderInfo"))
    ET.SubElement(info, q(BIND, "messageIdentifier")).text = str(uuid.uuid4())
    element = ET.SubElement(info, q(BIND, "statusInfo"))
    ET.SubElement(element, q(BIND, "codeMajor")).text = status.code_major
    ET.SubElement(element, q(BIND, "severity")).text = status.severity
    field = ET.SubElement(ET.SubElement(element, q(BIND, "codeMinor")), q(BIND, "codeMinorField"))
    ET.SubElement(field, q(BIND, "codeMinorName")).text = "TargetEndSystem"
    ET.SubElement(field, q(BIND, "codeMinorValue")).text = status.code_minor
    ET.SubElement(element, q(BIND, "messageIdRef")).text = message_id
    description = ET.SubElement(element, q(BIND, "description"))
    ET.SubElement(description, q(COMMON, "language")).text = "en"
    ET.SubElement(description, q(COMMON, "text")).text = status.description
    return Response(_envelope([info], body), status=200, mimetype="text/xml")


def _fault_response(fault: Fault) -> Response:
    element = ET.Element(q(SOAP, "Fault"))
    # faultcode is a QName in text: the header's Security element declares its wsse prefix.
    ET.SubElement(element, "faultcode").text = fault.code
    ET.SubElement(element, "faultstring").text = fault.text
    security = ET.Element(q(WSSE, "Security"))
    return Response(_envelope([security], element), status=500, mimetype="text/xml")
