"""Token lifetimes and the issuer, read once from the config."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    secret_key: str
    code_seconds: int
    access_token_seconds: int
    id_token_seconds: int
    refresh_token_days: int
    pkce_for_all_clients: bool

    @classmethod
    def from_app(cls, app: Flask) -> OidcSettings:
        oidc = app.config["IDP"]["oidc"]
        return cls(
            issuer=app.config["IDP"].issuer.rstrip("/"),
            secret_key=app.config["SECRET_KEY"],
            code_seconds=oidc["code_seconds"],
            access_token_seconds=oidc["access_token_seconds"],
            id_token_seconds=oidc["id_token_seconds"],
            refresh_token_days=oidc["refresh_token_days"],
            pkce_for_all_clients=oidc["pkce_for_all_clients"],
        )


def oidc_settings() -> OidcSettings:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("idp.oidc")
    if found is None:
        found = app.extensions["idp.oidc"] = OidcSettings.from_app(app)
    return found
