"""The OAuth 2.0 / OpenID Connect server: Authlib's grants and endpoints, with our storage.

Authlib does the protocol; this module says only where codes and tokens live, what goes into
them, and who may have them (the entitlement policy). Grants: authorization code with PKCE
(S256 only, required for public clients) and OpenID Connect, refresh token with rotation and
reuse detection, client credentials. No implicit, hybrid or password grant.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field, fields

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash
from flask import current_app, g
from flask import request as flask_request
from sqlalchemy import bindparam, exists, insert, select, update

from idp.clock import now
from idp.extensions import db
from idp.models import (
    AuthorizationCode,
    Person,
    PersonStatus,
    RefreshToken,
)
from idp.oidc import clients, keys, tokens
from idp.oidc.claims import pairwise_sub, user_claims
from idp.oidc.clients import ClientSnapshot
from idp.oidc.logout import EndSession
from idp.oidc.oauth_request import OAuthRequest
from idp.oidc.settings import oidc_settings
from idp.policy import current_policies
from idp.policy.entitlement import PersonFacts, entitlement
from idp.policy.facts import PERSON_COLUMNS, load_person_facts
from idp.prepared import Prepared, PreparedResult

CONFIDENTIAL_AUTH = ["client_secret_basic", "client_secret_post"]
ALL_AUTH = [*CONFIDENTIAL_AUTH, "none"]
ACR_PASSWORD = "urn:schul-idp:acr:passwort"  # noqa: S105 (an acr value)
ACR_SECOND_FACTOR = "urn:schul-idp:acr:zweiter-faktor"
# How a code travels back to the client; discovery announces exactly these.
RESPONSE_MODES = ("query",)
# Statements of the hot paths, built once. Every authorization request with a nonce asks
# whether it was used before (replay).
_CODES = AuthorizationCode.__table__
_NONCE_USED = Prepared(
    select(_CODES.c.code_hash)
    .where(_CODES.c.client_id == bindparam("client_id"), _CODES.c.nonce == bindparam("nonce"))
    .limit(1)
)
# The person as the grants need them: for the entitlement check and the claims. Read as a
# plain row: the ORM's identity map and unit of work would cost more than the query.
_PERSONS = Person.__table__
_PERSON = Prepared(
    select(*PERSON_COLUMNS).where(_PERSONS.c.id == bindparam("person_id", type_=_PERSONS.c.id.type))
)


@dataclass(frozen=True)
class PersonRow:
    """What the grants read of a person (the names `load_person_facts` asks for)."""

    id: uuid.UUID
    status: PersonStatus
    username: str
    vorname: str
    familienname: str
    mail: str | None
    mail_aliases: list[str]
    geburtsdatum: dt.date | None


def run(statement: Prepared, parameters: dict) -> PreparedResult:
    """Execute a prebuilt statement in the request's transaction (idp.prepared: without
    SQLAlchemy's per-execution machinery, which would cost as much as the query)."""
    return statement.run(db.session.connection(), parameters)


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def person_row(person_id: uuid.UUID) -> PersonRow | None:
    row = run(_PERSON, {"person_id": person_id}).first()
    return None if row is None else PersonRow(*row)


@dataclass(frozen=True)
class IssuedCode:
    """A stored authorization code as the token request reads it (Authlib's code mixin)."""

    code_hash: str
    client_id: str
    login_session_id: uuid.UUID | None
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: dt.datetime
    acr: str | None
    amr: list
    expires_at: dt.datetime
    used_at: dt.datetime | None
    family_id: uuid.UUID | None

    get_redirect_uri = AuthorizationCode.get_redirect_uri
    get_scope = AuthorizationCode.get_scope
    get_nonce = AuthorizationCode.get_nonce
    get_auth_time = AuthorizationCode.get_auth_time
    get_acr = AuthorizationCode.get_acr
    get_amr = AuthorizationCode.get_amr


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A stored refresh token as the refresh grant reads it (Authlib's TokenMixin)."""

    token_hash: str
    family_id: uuid.UUID
    client_id: str
    login_session_id: uuid.UUID | None
    scope: str
    auth_time: dt.datetime
    acr: str | None
    amr: list
    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    check_client = RefreshToken.check_client
    get_scope = RefreshToken.get_scope
    get_expires_in = RefreshToken.get_expires_in
    is_expired = RefreshToken.is_expired
    is_revoked = RefreshToken.is_revoked


def _with_person(table, record: type, key: str) -> Prepared:
    """A stored code or token (the columns `record` names, found by `key` = :hash) with its
    person's columns, in one query."""
    return Prepared(
        select(*(table.c[f.name] for f in fields(record)), *PERSON_COLUMNS)
        .join_from(table, _PERSONS, _PERSONS.c.id == table.c.person_id)
        .where(table.c[key] == bindparam("hash"))
    )


# Codes are written, read with their person, and marked used with plain statements, like
# refresh tokens below.
_CODE_AND_PERSON = _with_person(_CODES, IssuedCode, "code_hash")
_INSERT_CODE = Prepared(insert(_CODES))
# Only a code nobody has used yet: of two requests racing with the same code, one wins.
_MARK_CODE_USED = Prepared(
    update(_CODES)
    .where(_CODES.c.code_hash == bindparam("hash"), _CODES.c.used_at.is_(None))
    .values(used_at=bindparam("at"), family_id=bindparam("family"))
)
_CODE_FAMILY = select(_CODES.c.family_id).where(_CODES.c.code_hash == bindparam("hash"))
# Refresh tokens are read with their person in one query, and written with plain
# statements: nothing reads those rows again in the request.
_REFRESH_TOKENS = RefreshToken.__table__
_REFRESH_TOKEN_AND_PERSON = _with_person(_REFRESH_TOKENS, PresentedRefreshToken, "token_hash")
_INSERT_REFRESH_TOKEN = Prepared(insert(_REFRESH_TOKENS))
# Only a token nobody has used yet: of two requests racing with the same token, one wins.
_MARK_USED = (
    update(_REFRESH_TOKENS)
    .where(
        _REFRESH_TOKENS.c.token_hash == bindparam("hash"),
        _REFRESH_TOKENS.c.used_at.is_(None),
        _REFRESH_TOKENS.c.revoked_at.is_(None),
    )
    .values(used_at=bindparam("at"))
)
_MARK_REFRESH_TOKEN_USED = Prepared(_MARK_USED)
# On PostgreSQL a refresh writes once: the statement that marks the old token used inserts the
# new one, and only if the old one was still unused (SQLite has no writing CTEs: two statements).
_JUST_USED = _MARK_USED.returning(_REFRESH_TOKENS.c.token_hash).cte("just_used")
_ROTATED = tuple(c for c in _REFRESH_TOKENS.c if c.name not in ("used_at", "revoked_at"))
_ROTATE_REFRESH_TOKEN = Prepared(
    insert(_REFRESH_TOKENS)
    .from_select(
        _ROTATED,
        select(*(bindparam(f"new_{c.name}", type_=c.type) for c in _ROTATED)).where(
            exists(select(_JUST_USED.c.token_hash))
        ),
    )
    .add_cte(_JUST_USED)
    .returning(_REFRESH_TOKENS.c.token_hash)
)


def _read_with_person(statement, record: type, secret: str):
    """The stored code or token `secret` (by its hash, with `statement` from `_with_person`)
    as a `record`, and its person; None if there is none."""
    row = run(statement, {"hash": tokens.opaque_hash(secret)}).one_or_none()
    if row is None:
        return None
    split = len(fields(record))
    return record(*row[:split]), PersonRow(*row[split:])


@dataclass
class Context:
    """Who and how, carried from the code or refresh token into the tokens issued for it."""

    person: PersonRow | None
    family_id: uuid.UUID | None = None
    sid: uuid.UUID | None = None
    auth_time: dt.datetime | None = None
    acr: str | None = None
    amr: list = field(default_factory=list)
    # A family's end, fixed when it began: rotation does not extend it (ASVS V10.4.8).
    family_expires_at: dt.datetime | None = None


def acr_for(amr: list[str]) -> str:
    return ACR_SECOND_FACTOR if "otp" in amr else ACR_PASSWORD


def amr_claim(amr: list[str]) -> list[str]:
    """RFC 8176 methods; "mfa" when more than one factor was used."""
    methods = sorted(set(amr))
    return [*methods, "mfa"] if len(methods) > 1 else methods


def person_facts(person: Person | PersonRow) -> PersonFacts:
    """The person's facts, read once per request: a token request asks for them twice
    (entitlement, then the ID token's claims)."""
    cache = g.setdefault("idp_person_facts", {})
    if person.id not in cache:
        cache[person.id] = load_person_facts(db.session, current_policies(), person)
    return cache[person.id]


def person_may_use(person: Person | PersonRow | None, client: ClientSnapshot) -> bool:
    """Active, and entitled to the client's service today (opt-outs included)."""
    if person is None or person.status != PersonStatus.AKTIV:
        return False
    policies = current_policies()
    return entitlement(policies, person_facts(person), client.service_code).allowed


class IssuesOurTokens:
    """Shared by the grants: our access token (a JWT) and, when due, a refresh token."""

    def generate_token(
        self,
        user=None,
        scope=None,
        grant_type=None,
        expires_in=None,
        include_refresh_token=True,
    ):
        request = self.request  # type: ignore[attr-defined]
        client: ClientSnapshot = request.client
        context: Context = request.idp_context
        settings = oidc_settings()
        scope = client.get_allowed_scope(scope or "")
        person = context.person
        sub = (
            pairwise_sub(settings.secret_key, client.service_code, person.id)
            if person is not None
            else client.client_id
        )
        token = {
            "token_type": "Bearer",
            "access_token": tokens.issue_access_token(
                db.session,
                issuer=settings.issuer,
                client_id=client.client_id,
                sub=sub,
                scope=scope,
                lifetime=settings.access_token_seconds,
                alg="ES256",
                person_id=person.id if person is not None else None,
                family_id=context.family_id,
                sid=str(context.sid) if context.sid else None,
            ),
            "expires_in": settings.access_token_seconds,
            "scope": scope,
        }
        wants_refresh = "offline_access" in scope.split() or grant_type == "refresh_token"
        if person is not None and include_refresh_token and wants_refresh:
            token["refresh_token"] = tokens.new_opaque()
        return token


def save_token(token: dict, request) -> None:
    """Store the refresh token (if one was issued) in its family."""
    row = refresh_token_row(token, request)
    if row is not None:
        run(_INSERT_REFRESH_TOKEN, row)


def refresh_token_row(token: dict, request) -> dict | None:
    """The stored form of the refresh token in `token`; None if it has none."""
    refresh = token.get("refresh_token")
    if not refresh:
        return None
    context: Context = request.idp_context
    settings = oidc_settings()
    assert context.person is not None and context.family_id is not None
    at = now()
    return {
        "token_hash": tokens.opaque_hash(refresh),
        "family_id": context.family_id,
        "client_id": request.client.client_id,
        "person_id": context.person.id,
        "login_session_id": context.sid,
        "scope": token.get("scope", ""),
        "auth_time": context.auth_time or at,
        "acr": context.acr,
        "amr": context.amr,
        "issued_at": at,
        "expires_at": context.family_expires_at
        or at + dt.timedelta(days=settings.refresh_token_days),
    }


def revoke_family(family_id: uuid.UUID) -> None:
    """A leaked token: every refresh token of the family ends, and its access tokens too."""
    at = now()
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    settings = oidc_settings()
    tokens.revoke(
        db.session,
        str(family_id),
        "family",
        at + dt.timedelta(seconds=settings.access_token_seconds),
    )


class S256Only(CodeChallenge):
    """PKCE with S256 only; required for public clients (and, if configured, for all)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (Authlib's attribute)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if challenge and method != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        if not challenge and (grant.request.client.public or oidc_settings().pkce_for_all_clients):
            raise InvalidRequestError("PKCE is required ('code_challenge')")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


class ResponseModes:
    """Refuses a response_mode we do not answer in (OIDC Core 3.1.2.2): a client asking for
    form_post or fragment would otherwise get its code in the query, where it did not look."""

    def __call__(self, grant) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant, redirect_uri) -> None:
        mode = grant.request.payload.data.get("response_mode")
        if mode and mode not in RESPONSE_MODES:
            raise InvalidRequestError(f"'response_mode' {mode!r} is not supported")


class OpenIDConnect(OpenIDCode):
    """ID tokens: pairwise sub, the claims policy releases, how and when the person logged in."""

    def validate_openid_authorization_request(self, grant, redirect_uri):
        # A nonce is spent by the code issued for it. Before anyone has signed in, no code can
        # be issued: the replay check (a query) waits for the request's return after login.
        if grant.request.user is not None:
            super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce, request):
        found = run(_NONCE_USED, {"client_id": request.payload.client_id, "nonce": nonce}).first()
        return found is not None

    def encode_id_token(self, token, request):
        client: ClientSnapshot = request.client
        code: IssuedCode = request.authorization_code
        person: PersonRow = request.user
        settings = oidc_settings()
        issued = int(time.time())
        alg = client.id_token_signed_response_alg
        claims = {
            "iss": settings.issuer,
            "aud": client.client_id,
            "azp": client.client_id,
            "sub": pairwise_sub(settings.secret_key, client.service_code, person.id),
            "iat": issued,
            "exp": issued + settings.id_token_seconds,
            "auth_time": code.get_auth_time(),
            "acr": code.acr,
            "amr": amr_claim(code.amr),
        }
        if code.nonce:
            claims["nonce"] = code.nonce
        if code.login_session_id:
            claims["sid"] = str(code.login_session_id)
        at_hash = create_half_hash(token["access_token"], alg)
        if at_hash is not None:
            claims["at_hash"] = at_hash.decode()
        policies = current_policies()
        facts = person_facts(person)
        claims.update(user_claims(policies, facts, client.service_code, set(code.scope.split())))
        return keys.sign(db.session, alg, "JWT", claims)


class AuthorizationCodeGrant(IssuesOurTokens, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH

    def validate_authorization_request(self) -> str:
        # Authlib's create_authorization_response validates the request again, moments after
        # get_consent_grant did in the same request: the client, redirect URI, PKCE and the
        # nonce (a query) are the same. Once per request is enough.
        validated = self.__dict__.get("_validated_redirect_uri")
        if validated is None:
            validated = self._validated_redirect_uri = super().validate_authorization_request()
        return validated

    def generate_authorization_code(self) -> str:
        return tokens.new_opaque()

    def save_authorization_code(self, code, request):
        login = request.idp_login
        settings = oidc_settings()
        data = request.payload.data
        run(
            _INSERT_CODE,
            {
                "code_hash": tokens.opaque_hash(code),
                "client_id": request.client.client_id,
                "person_id": request.user.id,
                "login_session_id": login.id,
                "redirect_uri": request.payload.redirect_uri or "",
                "scope": request.client.get_allowed_scope(request.payload.scope or ""),
                "nonce": data.get("nonce"),
                "code_challenge": data.get("code_challenge"),
                "code_challenge_method": data.get("code_challenge_method"),
                "auth_time": login.auth_time,
                "acr": acr_for(login.amr),
                "amr": list(login.amr),
                "expires_at": now() + dt.timedelta(seconds=settings.code_seconds),
            },
        )

    def query_authorization_code(self, code, client):
        read = _read_with_person(_CODE_AND_PERSON, IssuedCode, code)
        if read is None:
            return None
        found, person = read
        if found.client_id != client.client_id:
            return None
        if found.used_at is not None:
            # A code used twice: whatever the first use got is revoked (RFC 6749 4.1.2).
            if found.family_id is not None:
                revoke_family(found.family_id)
            return None
        if found.expires_at <= now():
            return None
        self.request.idp_person = person  # read in the same query
        return found

    def delete_authorization_code(self, authorization_code):
        # Kept, marked used, so a second use can be recognised (and is refused).
        family = self.request.idp_context.family_id
        marked = run(
            _MARK_CODE_USED, {"hash": authorization_code.code_hash, "at": now(), "family": family}
        )
        if marked.rowcount != 1:
            # Exchanged by another request since it was read: both get nothing that lasts.
            revoke_family(family)
            other = db.session.execute(_CODE_FAMILY, {"hash": authorization_code.code_hash})
            other_family = other.scalar()
            if other_family is not None:
                revoke_family(other_family)
            raise InvalidGrantError()

    def authenticate_user(self, authorization_code):
        person = self.request.idp_person
        if not person_may_use(person, self.request.client):
            return None
        family = uuid.uuid4()
        self.request.idp_context = Context(
            person=person,
            family_id=family,
            sid=authorization_code.login_session_id,
            auth_time=authorization_code.auth_time,
            acr=authorization_code.acr,
            amr=list(authorization_code.amr or []),
        )
        return person


class RefreshTokenGrant(IssuesOurTokens, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every use gives a new one

    def authenticate_refresh_token(self, refresh_token):
        read = _read_with_person(_REFRESH_TOKEN_AND_PERSON, PresentedRefreshToken, refresh_token)
        if read is None:
            return None
        found, self.request.idp_person = read  # the person read in the same query
        if found.is_revoked():
            # A used token again: someone has a copy. The whole family ends.
            revoke_family(found.family_id)
            return None
        if found.is_expired():
            return None
        return found

    def authenticate_user(self, refresh_token):
        person = self.request.idp_person
        if not person_may_use(person, self.request.client):
            return None
        self.request.idp_context = Context(
            person=person,
            family_id=refresh_token.family_id,
            sid=refresh_token.login_session_id,
            auth_time=refresh_token.auth_time,
            acr=refresh_token.acr,
            amr=list(refresh_token.amr or []),
            family_expires_at=refresh_token.expires_at,
        )
        return person

    def save_token(self, token):
        # On PostgreSQL revoke_old_credential, next, writes the new token in its statement.
        if _postgresql():
            self.request.idp_new_refresh_token = refresh_token_row(token, self.request)
        else:
            super().save_token(token)

    def revoke_old_credential(self, refresh_token):
        used = {"hash": refresh_token.token_hash, "at": now()}
        new = getattr(self.request, "idp_new_refresh_token", None)
        if new is not None:  # saved and marked in one statement (PostgreSQL, see above)
            new = {f"new_{name}": value for name, value in new.items()}
            rotated = run(_ROTATE_REFRESH_TOKEN, used | new).first() is not None
        else:
            rotated = run(_MARK_REFRESH_TOKEN_USED, used).rowcount == 1
        if not rotated:
            # Used by another request since it was read: a copy is about. The family ends,
            # the tokens just made with it too (they belong to it).
            revoke_family(refresh_token.family_id)
            raise InvalidGrantError()


class ClientCredentialsGrant(IssuesOurTokens, grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH

    def validate_token_request(self):
        super().validate_token_request()
        self.request.idp_context = Context(person=None)


@dataclass
class PresentedToken:
    """A token shown to revocation or introspection: ours as a JWT, or a refresh token."""

    client_id: str
    access: tokens.AccessToken | None = None
    refresh: RefreshToken | None = None

    def check_client(self, client: ClientSnapshot) -> bool:
        return self.client_id == client.client_id

    def is_expired(self) -> bool:
        return self.refresh.is_expired() if self.refresh is not None else False

    def is_revoked(self) -> bool:
        return self.refresh.is_revoked() if self.refresh is not None else False

    @property
    def person_id(self) -> uuid.UUID | None:
        """Whose token it is; None for a client-credentials token."""
        if self.refresh is not None:
            return self.refresh.person_id
        return self.access.person_id if self.access is not None else None


def find_token(value: str, hint: str | None) -> PresentedToken | None:
    settings = oidc_settings()
    if hint != "refresh_token":
        access = tokens.read_access_token(db.session, value, settings.issuer)
        if access is not None:
            return PresentedToken(access.client_id, access=access)
    refresh = db.session.get(RefreshToken, tokens.opaque_hash(value))
    if refresh is not None:
        return PresentedToken(refresh.client_id, refresh=refresh)
    return None


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ALL_AUTH

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request):
        if token.refresh is not None:
            revoke_family(token.refresh.family_id)
        elif token.access is not None:
            claims = token.access.claims
            until = dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
            tokens.revoke(db.session, claims["jti"], "jti", until)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        # A client learns only about its own tokens.
        return token.check_client(client)

    def introspect_token(self, token):
        if not self.person_may_still_use(token):
            return {"active": False}
        if token.access is not None:
            claims = token.access.claims
            return {
                "active": True,
                "token_type": "Bearer",
                **{
                    k: claims[k]
                    for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
                    if k in claims
                },
            }
        refresh = token.refresh
        assert refresh is not None
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": refresh.scope,
            "client_id": refresh.client_id,
            "exp": int(refresh.expires_at.timestamp()),
            "iat": int(refresh.issued_at.timestamp()),
        }

    def person_may_still_use(self, token: PresentedToken) -> bool:
        """A person locked, gone or no longer entitled since the token was issued makes it
        inactive: the same check the refresh grant and userinfo make."""
        if token.person_id is None:
            return True
        client = clients.lookup(db.session, token.client_id)
        return client is not None and person_may_use(person_row(token.person_id), client)


# One encoder for every response: flask.json builds a new one per call.
_JSON = json.JSONEncoder(separators=(",", ":"))


class Server(AuthorizationServer):
    def create_oauth2_request(self, request):
        return OAuthRequest(flask_request._get_current_object())  # type: ignore[attr-defined]

    def handle_response(self, status_code, payload, headers):
        if isinstance(payload, dict):
            payload = _JSON.encode(payload)
        # The app's own response class, which Flask would otherwise convert this one to.
        response_class = current_app.response_class
        return response_class(payload, status=status_code, headers=headers)

    def query_client(self, client_id):
        return clients.lookup(db.session, client_id) if client_id else None

    def save_token(self, token, request):
        save_token(token, request)


authorization = Server()


def init_app(app) -> None:
    authorization.init_app(app)
    authorization.register_grant(
        AuthorizationCodeGrant,
        [S256Only(required=True), OpenIDConnect(require_nonce=False), ResponseModes()],
    )
    authorization.register_grant(RefreshTokenGrant)
    authorization.register_grant(ClientCredentialsGrant)
    authorization.register_endpoint(Revocation)
    authorization.register_endpoint(Introspection)
    authorization.register_endpoint(EndSession)
