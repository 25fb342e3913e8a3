"""The SAML IdP's addresses and lifetimes, read once from the config."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, current_app


@dataclass(frozen=True)
class SamlSettings:
    issuer: str
    entity_id: str
    secret_key: str
    metadata_valid_hours: int
    assertion_seconds: int
    request_max_age_seconds: int
    scope: str

    @property
    def sso_url(self) -> str:
        return f"{self.issuer}/saml/sso"

    @property
    def slo_url(self) -> str:
        return f"{self.issuer}/saml/slo"

    @classmethod
    def from_app(cls, app: Flask) -> SamlSettings:
        saml = app.config["IDP"]["saml"]
        issuer = app.config["IDP"].issuer.rstrip("/")
        return cls(
            issuer=issuer,
            entity_id=f"{issuer}/saml/metadata",
            secret_key=app.config["SECRET_KEY"],
            metadata_valid_hours=saml["metadata_valid_hours"],
            assertion_seconds=saml["assertion_seconds"],
            request_max_age_seconds=saml["request_max_age_seconds"],
            scope=saml["scope"] or (urlsplit(issuer).hostname or "schul-idp"),
        )


def saml_settings() -> SamlSettings:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("idp.saml")
    if found is None:
        found = app.extensions["idp.saml"] = SamlSettings.from_app(app)
    return found
