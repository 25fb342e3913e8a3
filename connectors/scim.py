"""SCIM 2.0 push connector (RFC 7643, RFC 7644): one target service per `[connectors.scim.CODE]`.

HTTP is done with `requests` (a `requests.Session`, so connections are kept alive), not with
scim2-client: that library (0.13) wants httpx2 and pydantic models besides, is before its 1.0
with parts of its API deprecated between minor releases, and builds its models from a full
discovery of the target (/Schemas, /ResourceTypes), which not every school software vendor's
SCIM endpoint publishes correctly. What we send is a handful of fixed JSON shapes, so plain
requests on a dependency the project already has are simpler.

Mapping of an Account to a SCIM User:
    externalId           Account.key (the pairwise id; how we find our users again)
    userName             the released `username`, else the key
    name.givenName       vorname       name.familyName  familienname
    displayName          "vorname familienname" (when both are released)
    emails[work,primary] mail
    active               Account.active
    EXTENSION            the per-context values (rollenart, rolle, organisation_kennung,
                         organisation_name, klasse, schulart; as lists) and geburtsdatum, when
                         released and when the target announces the extension for its User
                         resource type (GET /ResourceTypes); otherwise they are left out, as a
                         target refuses a schema it does not know. `extension_schema()` is the
                         schema a target loads to store them.
Groups: one SCIM Group per school and class (externalId = Group.key, displayName = name); a
class's key is "<school key>/<name>", which is how read_groups tells kind and parent. A group's
members are kept with PATCH add/remove of one member at a time, so a school of a thousand
members is never sent whole; SCIM members have no role, so roles are not kept at the target.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import requests

from connectors.base import (
    MEMBER,
    Account,
    Group,
    Membership,
    RecordRejected,
    TargetUnavailable,
)
from connectors.settings import ConnectorConfigError, env_name, secret

if TYPE_CHECKING:
    from idp.config import Config

log = logging.getLogger(__name__)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
EXTENSION = "urn:schul-idp:scim:schemas:extension:schule:1.0:User"

# Released per-context attributes (lists, one value per Personenkontext) kept in EXTENSION.
CONTEXT_ATTRIBUTES = (
    "rollenart",
    "rolle",
    "organisation_kennung",
    "organisation_name",
    "klasse",
    "schulart",
)
# The User attributes this connector owns; a replace keeps whatever else the target holds.
MANAGED = ("externalId", "userName", "name", "displayName", "emails", "active", EXTENSION)
CONFIG_KEYS = {"url", "token_file", "timeout"}
PAGE_SIZE = 200


def extension_schema() -> dict:
    """The SCIM Schema resource of EXTENSION, for targets that store the school context."""

    def attribute(name: str, multi: bool, description: str) -> dict:
        return {
            "name": name,
            "type": "string",
            "multiValued": multi,
            "description": description,
            "required": False,
            "caseExact": False,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "none",
        }

    described = {
        "rollenart": "SchulConneX Rollenart per Personenkontext (LERN, LEHR, LEIT, ...)",
        "rolle": "Rolle per Personenkontext",
        "organisation_kennung": "Schulnummer per Personenkontext",
        "organisation_name": "Name der Schule per Personenkontext",
        "klasse": "Klasse per Personenkontext",
        "schulart": "Schulart per Personenkontext",
    }
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": EXTENSION,
        "name": "Schule",
        "description": "Personenkontexte einer Person an Schulen (schul-idp)",
        "attributes": [attribute(n, True, d) for n, d in described.items()]
        + [attribute("geburtsdatum", False, "Geburtsdatum (YYYY-MM-DD)")],
    }


class ScimConnector:
    """Keeps one service's users and school/class groups at its SCIM 2.0 endpoint."""

    name = "scim"
    has_groups = True

    def __init__(self, service: str, url: str, token: str, timeout: float = 10) -> None:
        self.service = service
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/scim+json, application/json",
                "Content-Type": "application/scim+json",
            }
        )
        # The target's ids of our users and groups, by key: spares a filter query per write.
        self._user_ids: dict[str, str] = {}
        self._group_ids: dict[str, str] = {}
        self._extension: bool | None = None

    # -- accounts ------------------------------------------------------------------------

    def upsert_account(self, account: Account) -> None:
        desired = self._user_resource(account)
        group_ids = [self._group_id_or_reject(m.group) for m in account.memberships]
        current = self._find("Users", self._user_ids, account.key)
        if current is None:
            created = self._json(self._request("POST", "/Users", json=desired))
            user_id = self._user_ids[account.key] = created["id"]
        else:
            user_id = current["id"]
            if _differs(desired, current):
                self._request("PUT", f"/Users/{user_id}", json=_merged(desired, current))
        self._set_groups(user_id, set(group_ids))

    def delete_account(self, key: str) -> None:
        current = self._find("Users", self._user_ids, key)
        if current is None:
            return
        # Not every target drops a deleted user from its groups (scim2-server does not).
        self._set_groups(current["id"], set())
        self._request("DELETE", f"/Users/{current['id']}", allow=(404,))
        self._user_ids.pop(key, None)

    def read_accounts(self) -> Iterable[Account]:
        memberships: dict[str, list[Membership]] = {}
        for group in self._list("Groups"):
            if group.get("externalId"):
                for member in group.get("members") or ():
                    membership = Membership(group["externalId"], MEMBER)
                    memberships.setdefault(member.get("value"), []).append(membership)
        accounts = []
        for user in self._list("Users"):
            key = user.get("externalId")
            if not key:
                continue  # not ours
            self._user_ids[key] = user["id"]
            found = sorted(memberships.get(user["id"], ()), key=lambda m: m.group)
            accounts.append(
                Account(key, _attributes(user), bool(user.get("active", True)), tuple(found))
            )
        return accounts

    # -- groups --------------------------------------------------------------------------

    def upsert_group(self, group: Group) -> None:
        current = self._find("Groups", self._group_ids, group.key)
        if current is None:
            body = {
                "schemas": [GROUP_SCHEMA],
                "externalId": group.key,
                "displayName": group.name,
                "members": [],
            }
            created = self._json(self._request("POST", "/Groups", json=body))
            self._group_ids[group.key] = created["id"]
        elif current.get("displayName") != group.name:
            # PATCH, not PUT: a PUT would have to carry all of the group's members.
            operation = {"op": "replace", "path": "displayName", "value": group.name}
            self._patch(f"/Groups/{current['id']}", [operation])

    def delete_group(self, key: str) -> None:
        current = self._find("Groups", self._group_ids, key)
        if current is not None:
            self._request("DELETE", f"/Groups/{current['id']}", allow=(404,))
        self._group_ids.pop(key, None)

    def read_groups(self) -> Iterable[Group]:
        groups = []
        for found in self._list("Groups"):
            key = found.get("externalId")
            if not key:
                continue
            self._group_ids[key] = found["id"]
            school, _, klasse = key.partition("/")
            name = found.get("displayName") or key
            groups.append(
                Group(key, name, "klasse", school) if klasse else Group(key, name, "schule")
            )
        return groups

    def close(self) -> None:
        self.session.close()

    # -- mapping -------------------------------------------------------------------------

    def _user_resource(self, account: Account) -> dict:
        """The SCIM User of an account: released attributes only."""
        values = account.attributes
        user: dict = {
            "schemas": [USER_SCHEMA],
            "externalId": account.key,
            "userName": account.username or account.key,
            "active": account.active,
        }
        name = {
            scim: str(values[ours])
            for scim, ours in (("givenName", "vorname"), ("familyName", "familienname"))
            if values.get(ours)
        }
        if name:
            user["name"] = name
            if len(name) == 2:
                user["displayName"] = f"{name['givenName']} {name['familyName']}"
        if values.get("mail"):
            user["emails"] = [{"value": str(values["mail"]), "type": "work", "primary": True}]
        extension = {n: _strings(values[n]) for n in CONTEXT_ATTRIBUTES if values.get(n)}
        if values.get("geburtsdatum"):
            extension["geburtsdatum"] = str(values["geburtsdatum"])
        if extension and self._extension_served():
            user["schemas"].append(EXTENSION)
            user[EXTENSION] = extension
        return user

    def _extension_served(self) -> bool:
        """Whether the target's User resource type announces EXTENSION (asked once)."""
        if self._extension is None:
            response = self._request("GET", "/ResourceTypes", allow=(400, 403, 404, 405, 501))
            served: set[str] = set()
            if response.ok:
                for resource_type in self._json(response).get("Resources") or ():
                    if resource_type.get("schema") == USER_SCHEMA:
                        extensions = resource_type.get("schemaExtensions") or ()
                        served |= {e.get("schema") for e in extensions}
            self._extension = EXTENSION in served
            if not self._extension:
                log.info(
                    "SCIM %s: the target does not serve %s; per-context attributes are left out",
                    self.service,
                    EXTENSION,
                )
        return self._extension

    # -- memberships ---------------------------------------------------------------------

    def _set_groups(self, user_id: str, wanted: set[str]) -> None:
        """Make the user a member of exactly `wanted` among our groups (externalId set)."""
        member_filter = f'members.value eq "{_quoted(user_id)}"'
        current = {g["id"] for g in self._list("Groups", member_filter) if g.get("externalId")}
        for group_id in sorted(wanted - current):
            operation = {"op": "add", "path": "members", "value": [{"value": user_id}]}
            self._patch(f"/Groups/{group_id}", [operation])
        for group_id in sorted(current - wanted):
            path = f'members[value eq "{_quoted(user_id)}"]'
            self._patch(f"/Groups/{group_id}", [{"op": "remove", "path": path}], allow=(404,))

    def _group_id_or_reject(self, key: str) -> str:
        found = self._find("Groups", self._group_ids, key)
        if found is None:
            raise RecordRejected(f"SCIM {self.service}: group {key} is not at the target yet")
        return found["id"]

    # -- HTTP ----------------------------------------------------------------------------

    def _find(self, endpoint: str, ids: dict[str, str], key: str) -> dict | None:
        """Our resource with externalId `key`: by the remembered id, else by a filter."""
        known = ids.get(key)
        if known:
            response = self._request("GET", f"/{endpoint}/{known}", allow=(404,))
            if response.status_code != 404:
                return self._json(response)
            del ids[key]
        for found in self._list(endpoint, f'externalId eq "{_quoted(key)}"'):
            ids[key] = found["id"]
            return found
        return None

    def _list(self, endpoint: str, filter: str | None = None) -> Iterator[dict]:
        """All resources of an endpoint (matching `filter`), page by page."""
        start = 1
        while True:
            params: dict = {"startIndex": start, "count": PAGE_SIZE}
            if filter:
                params["filter"] = filter
            page = self._json(self._request("GET", f"/{endpoint}", params=params))
            resources = page.get("Resources") or []
            yield from resources
            start += len(resources)
            if not resources or start > int(page.get("totalResults", 0)):
                return

    def _patch(self, path: str, operations: list[dict], allow: tuple[int, ...] = ()) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        self._request("PATCH", path, json=body, allow=allow)

    def _request(
        self, method: str, path: str, allow: tuple[int, ...] = (), **kwargs
    ) -> requests.Response:
        """One request; failures become TargetUnavailable or RecordRejected, but for `allow`."""
        where = f"SCIM {self.service}: {method} {self.url}{path}"
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise TargetUnavailable(f"{where}: {exc}") from exc
        status = response.status_code
        if status < 400 or status in allow:
            return response
        detail = _detail(response)
        if status in (401, 403):
            raise TargetUnavailable(
                f"{where}: the target refused our bearer token (HTTP {status}); check "
                f"[connectors.scim.{self.service}] token_file or "
                f"${env_name('scim', self.service, 'token')}: {detail}"
            )
        if status == 429 or status >= 500:
            raise TargetUnavailable(f"{where}: HTTP {status}: {detail}")
        if status == 404:
            raise TargetUnavailable(f"{where}: HTTP 404, is the url right? {detail}")
        raise RecordRejected(f"{where}: HTTP {status}: {detail}")

    def _json(self, response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            raise TargetUnavailable(
                f"SCIM {self.service}: {response.url} answered HTTP {response.status_code} "
                "with something that is not JSON"
            ) from exc
        if not isinstance(body, dict):
            raise TargetUnavailable(f"SCIM {self.service}: {response.url} answered no object")
        return body


def from_config(config: Config | Mapping[str, Any], service: str) -> ScimConnector:
    """The connector of `[connectors.scim.SERVICE]`; ConnectorConfigError names a bad key."""
    where = f"connectors.scim.{service}"
    table = config["connectors"].get("scim", {}).get(service)
    if not isinstance(table, dict):
        raise ConnectorConfigError(f"[{where}] is missing")
    unknown = sorted(set(table) - CONFIG_KEYS)
    if unknown:
        raise ConnectorConfigError(f"[{where}] unknown key {unknown[0]}")
    url = table.get("url") or ""
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ConnectorConfigError(f"[{where}] url must be an http(s) address, not {url!r}")
    timeout = table.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConnectorConfigError(f"[{where}] timeout must be a positive number of seconds")
    token = secret(table, "token_file", env_name("scim", service, "token"), where)
    return ScimConnector(service, url, token, timeout)


def _strings(value: object) -> list[str]:
    values = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return [str(v) for v in values]


def _quoted(value: str) -> str:
    """A value inside a SCIM filter's double quotes (RFC 7644 §3.4.2.2: JSON string rules)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _detail(response: requests.Response) -> str:
    """The server's SCIM error detail (and scimType), else the start of its body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(body, dict):
        return response.text[:200]
    detail = str(body.get("detail") or "")
    return f"{body['scimType']}: {detail}" if body.get("scimType") else detail


def _managed(user: Mapping) -> dict:
    """The attributes of a User this connector owns, in the shape it writes them."""
    found = {k: user[k] for k in MANAGED if user.get(k) not in (None, [], {})}
    if "name" in found:
        name = {k: v for k, v in found["name"].items() if k in ("givenName", "familyName")}
        found["name"] = name
    if "emails" in found:
        keep = ("value", "type", "primary")
        found["emails"] = [{k: e[k] for k in keep if k in e} for e in found["emails"]]
    return found


def _differs(desired: dict, current: dict) -> bool:
    return _managed(desired) != _managed(current)


def _merged(desired: dict, current: dict) -> dict:
    """The replacement: what the target keeps of its own, plus our managed attributes."""
    kept = {
        k: v
        for k, v in current.items()
        if k not in MANAGED and k not in ("schemas", "id", "meta", "groups")
    }
    extensions = [s for s in current.get("schemas", ()) if s in kept]
    return {**kept, **desired, "schemas": [*desired["schemas"], *extensions]}


def _attributes(user: Mapping) -> dict[str, object]:
    """Back from a SCIM User to the policy's attribute names (for reconciliation)."""
    attributes: dict[str, object] = {}
    if user.get("userName") and user["userName"] != user.get("externalId"):
        attributes["username"] = user["userName"]
    name = user.get("name") or {}
    if name.get("givenName"):
        attributes["vorname"] = name["givenName"]
    if name.get("familyName"):
        attributes["familienname"] = name["familyName"]
    emails = user.get("emails") or []
    primary = [e for e in emails if e.get("primary")] or emails
    if primary and primary[0].get("value"):
        attributes["mail"] = primary[0]["value"]
    for attribute, value in (user.get(EXTENSION) or {}).items():
        if attribute in CONTEXT_ATTRIBUTES or attribute == "geburtsdatum":
            attributes[attribute] = value
    return attributes
