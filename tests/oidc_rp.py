"""A relying party for the OIDC tests: it registers clients, sends a browser through
/oidc/authorize, redeems codes and checks ID tokens against the published keys, as a
service of the state would. Everything goes through HTTP (the Flask test client)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.test import TestResponse

from idp.oidc import clients
from idp.policy import current_policies
from tests import factories as f
from tests.web import Browser, data, with_password, with_totp

REDIRECT_URI = "https://rp.example/callback"
ACR_PASSWORD = "urn:schul-idp:acr:passwort"
ACR_SECOND_FACTOR = "urn:schul-idp:acr:zweiter-faktor"


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def half_hash(value: str) -> str:
    """`at_hash` for ES256 and RS256: the left half of the SHA-256, base64url."""
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass
class Client:
    """A registered relying party and what it does at the back channel."""

    site: Flask
    client_id: str
    secret: str | None
    service: str
    alg: str = "ES256"
    redirect_uri: str = REDIRECT_URI

    def _post(self, path: str, form: dict) -> TestResponse:
        if self.secret is None:
            return self.site.test_client().post(path, data={"client_id": self.client_id, **form})
        return self.site.test_client().post(path, data=form, auth=(self.client_id, self.secret))

    def token(self, **form: str) -> TestResponse:
        return self._post("/oidc/token", form)

    def redeem(self, code: str, verifier: str | None, **extra: str) -> TestResponse:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        return self.token(**(form | extra))

    def refresh(self, refresh_token: str) -> TestResponse:
        return self.token(grant_type="refresh_token", refresh_token=refresh_token)

    def introspect(self, token: str) -> dict:
        response = self._post("/oidc/introspect", {"token": token})
        assert response.status_code == 200, response.text
        return response.json

    def revoke(self, token: str, hint: str | None = None) -> TestResponse:
        form = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return self._post("/oidc/revoke", form)


def register(
    site: Flask,
    service: str,
    *,
    public: bool = False,
    alg: str = "ES256",
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
) -> Client:
    """Register a client the way `idp clients add` does; the secret is seen only here."""
    with data(site) as s:
        registered = clients.register(
            s,
            current_policies(),
            name=f"Test {service}",
            service=service,
            redirect_uris=list(redirect_uris),
            public=public,
            alg=alg,
        )
        s.commit()
        return Client(
            site, registered.client.client_id, registered.secret, service, alg, redirect_uris[0]
        )


def userinfo(site: Flask, access_token: str) -> TestResponse:
    return site.test_client().get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )


@dataclass
class Authorization:
    """One authorization request of `client`, with its state, nonce and PKCE verifier."""

    client: Client
    params: dict[str, str]
    verifier: str | None = None

    @property
    def path(self) -> str:
        return "/oidc/authorize?" + urlencode(self.params)

    @property
    def nonce(self) -> str | None:
        return self.params.get("nonce")

    @property
    def state(self) -> str:
        return self.params["state"]


def authorization(
    client: Client, scope: str = "openid profile", *, pkce: bool = True, **extra: str
) -> Authorization:
    """A fresh request (new state, nonce and verifier); `extra` adds or overrides parameters."""
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
    }
    verifier = None
    if pkce:
        verifier = secrets.token_urlsafe(48)
        params |= {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
    params |= extra
    return Authorization(client, {k: v for k, v in params.items() if v is not None}, verifier)


def redirect_params(response: TestResponse, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """The parameters of a redirect back to the client (and nowhere else)."""
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def parse_location(location: str) -> dict[str, str]:
    """Query and fragment parameters of a URL (implicit flows would answer in the fragment)."""
    parts = urlsplit(location)
    found = parse_qs(parts.query) | parse_qs(parts.fragment)
    return {k: v[0] for k, v in found.items()}


def code_from(response: TestResponse, request: Authorization) -> str:
    """The code in the redirect back to the client, after checking its state."""
    params = redirect_params(response, request.client.redirect_uri)
    assert "error" not in params, params
    assert params["state"] == request.state
    return params["code"]


def log_in(b: Browser, username: str, totp: pyotp.TOTP | None = None) -> TestResponse:
    """Fill in the login form (and the code form if asked); the response of the last step."""
    response = b.login(username)
    if response.location == "/login/code":
        assert totp is not None, "the login asks for a code"
        response = b.submit("/login/code", {"code": totp.now()})
    return response


def sign_in(
    b: Browser, request: Authorization, username: str, totp: pyotp.TOTP | None = None
) -> TestResponse:
    """Send the browser to /oidc/authorize, log in if asked, and return where it ends."""
    response = b.get(request.path)
    if response.status_code == 302 and response.location == "/login":
        back = log_in(b, username, totp)
        assert back.status_code == 302 and back.location.startswith("/oidc/authorize"), (
            back.status_code,
            back.location,
        )
        response = b.get(back.location)
    return response


@dataclass
class Tokens:
    """What the token endpoint gave, with the ID token's verified header and claims."""

    raw: dict
    id_header: dict = field(default_factory=dict)
    id_claims: dict = field(default_factory=dict)

    @property
    def access(self) -> str:
        return self.raw["access_token"]

    @property
    def refresh(self) -> str:
        return self.raw["refresh_token"]


def jwks(site: Flask) -> KeySet:
    return KeySet.import_key_set(site.test_client().get("/oidc/jwks").json)


def verify_id_token(
    client: Client, id_token: str, nonce: str | None, access_token: str
) -> tuple[dict, dict]:
    """Check an ID token as a relying party must (OIDC Core 3.1.3.7); its header and claims."""
    decoded = jwt.decode(id_token, jwks(client.site), algorithms=[client.alg])
    issuer = client.site.config["IDP"].issuer.rstrip("/")
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
        at_hash={"essential": True, "value": half_hash(access_token)},
        **({"nonce": {"essential": True, "value": nonce}} if nonce else {}),
    )
    registry.validate(decoded.claims)
    claims = decoded.claims
    assert claims.get("azp", client.client_id) == client.client_id
    assert claims["exp"] > claims["iat"] and claims["auth_time"] <= claims["iat"]
    return decoded.header, claims


def exchange(request: Authorization, response: TestResponse) -> Tokens:
    """Redeem the code in `response` and verify the ID token that comes back."""
    client = request.client
    answer = client.redeem(code_from(response, request), request.verifier)
    assert answer.status_code == 200, answer.text
    tokens = Tokens(answer.json)
    if "id_token" in tokens.raw:
        tokens.id_header, tokens.id_claims = verify_id_token(
            client, tokens.raw["id_token"], request.nonce, tokens.access
        )
    return tokens


@dataclass
class School:
    """Who `school` created: the teacher's code generator and the people's ids."""

    teacher_totp: pyotp.TOTP | None
    teacher_id: uuid.UUID | None
    learner_id: uuid.UUID | None


def school(site: Flask, *, learner: bool = True, teacher: bool = True) -> School:
    """A small state with a teacher (LEHR, second factor enrolled, entitled to Diagnostik) and
    a learner (LERN in class 7b), both with the test password."""
    with data(site) as s:
        state = f.small_state(s)
        totp = None
        teacher_id = learner_id = None
        if teacher:
            tom = f.person(s, "tom.lehrer", "Tom", "Lehrer", mail="tom.lehrer@schule-mv.de")
            f.kontext(s, tom, state.schule, "LEHR")
            with_password(s, tom)
            totp = with_totp(s, tom)
            teacher_id = tom.id
        if learner:
            lea = f.person(s, "lea.lern", "Lea", "Lern")
            f.kontext(s, lea, state.schule, "LERN")
            f.kontext(s, lea, state.klasse, "LERN")
            with_password(s, lea)
            learner_id = lea.id
        s.commit()
        return School(totp, teacher_id, learner_id)
