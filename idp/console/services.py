"""Console: the services' OIDC clients and SAML service providers (Land admins only).

The same registration rules as `idp clients` and `idp saml` (idp.oidc.clients,
idp.saml.providers); a new or rotated client secret is shown once, on the page that made it.
"""

from __future__ import annotations

import os
import tempfile

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from idp import audit
from idp.console.access import admin, guard
from idp.extensions import db
from idp.oidc import clients
from idp.policy import current_policies
from idp.saml import providers

blueprint = Blueprint("console_services", __name__, url_prefix="/verwaltung/dienste")
guard(blueprint)
RIGHT = "dienste.verwalten"
MAX_METADATA = 2_000_000


@blueprint.before_request
def _land_only() -> None:
    if not admin().scope.is_land(RIGHT):
        abort(403)


@blueprint.get("/")
def overview() -> str:
    policies = current_policies()
    by_service: dict[str, dict] = {code: {"oidc": [], "saml": []} for code in policies.services}
    for client in clients.all_clients(db.session):
        by_service.setdefault(client.service_code, {"oidc": [], "saml": []})["oidc"].append(client)
    for provider in providers.all_providers(db.session):
        by_service.setdefault(provider.service_code, {"oidc": [], "saml": []})["saml"].append(
            provider
        )
    return render_template(
        "console/services.html", services=policies.services, by_service=by_service
    )


@blueprint.post("/oidc")
def add_client() -> Response | str:
    try:
        registered = clients.register(
            db.session,
            current_policies(),
            name=request.form.get("name", "").strip()[:255] or "?",
            service=request.form.get("dienst", ""),
            redirect_uris=_lines("redirect_uris"),
            public=bool(request.form.get("oeffentlich")),
            backchannel_logout_uri=request.form.get("backchannel_logout_uri", "").strip() or None,
            post_logout_redirect_uris=_lines("post_logout_redirect_uris"),
            initiate_login_uri=request.form.get("initiate_login_uri", "").strip() or None,
        )
    except clients.ClientProblem as problem:
        flash(_("Nicht angelegt: %(grund)s", grund=str(problem)))
        return _back()
    client = registered.client
    audit.record(
        db.session,
        audit.Event(
            admin().actor, "client.angelegt", client.client_id, details={"name": client.name}
        ),
    )
    db.session.commit()
    return render_template("console/client_secret.html", client=client, secret=registered.secret)


@blueprint.post("/oidc/<client_id>/adressen")
def edit_client(client_id: str) -> Response:
    client = _client(client_id)
    try:
        clients.set_redirect_uris(db.session, client, _lines("redirect_uris"))
    except clients.ClientProblem as problem:
        flash(_("Nicht geändert: %(grund)s", grund=str(problem)))
        return _back()
    audit.record(db.session, audit.Event(admin().actor, "client.adressen_geaendert", client_id))
    db.session.commit()
    flash(_("Die Redirect-URIs sind geändert."))
    return _back()


@blueprint.post("/oidc/<client_id>/geheimnis")
def rotate_secret(client_id: str) -> Response | str:
    client = _client(client_id)
    try:
        secret = clients.rotate_secret(db.session, client)
    except clients.ClientProblem as problem:
        flash(str(problem))
        return _back()
    audit.record(db.session, audit.Event(admin().actor, "client.neues_geheimnis", client_id))
    db.session.commit()
    return render_template("console/client_secret.html", client=client, secret=secret)


@blueprint.post("/oidc/<client_id>/entfernen")
def remove_client(client_id: str) -> Response:
    client = _client(client_id)
    db.session.delete(client)
    audit.record(db.session, audit.Event(admin().actor, "client.entfernt", client_id))
    db.session.commit()
    flash(_("Der Client ist entfernt."))
    return _back()


@blueprint.post("/saml")
def add_provider() -> Response:
    upload = request.files.get("metadaten")
    url = request.form.get("metadaten_url", "").strip()
    path = None
    try:
        if upload and upload.filename:
            content = upload.read(MAX_METADATA + 1)
            if len(content) > MAX_METADATA:
                raise providers.ProviderProblem(_("Die Metadaten sind zu groß."))
            handle, path = tempfile.mkstemp(suffix=".xml")
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            source = path
        elif url:
            source = url
        else:
            raise providers.ProviderProblem(_("Bitte eine Metadaten-Datei oder -Adresse angeben."))
        provider, _metadata = providers.register(
            db.session,
            current_policies(),
            source=source,
            service=request.form.get("dienst", ""),
            idp_initiated=bool(request.form.get("idp_initiated")),
            require_signed_requests=bool(request.form.get("signiert")),
        )
    except providers.ProviderProblem as problem:
        message = str(problem).replace(path, upload.filename) if path and upload else str(problem)
        flash(_("Nicht registriert: %(grund)s", grund=message))
        return _back()
    finally:
        if path:
            os.unlink(path)
    audit.record(
        db.session,
        audit.Event(
            admin().actor,
            "saml_sp.registriert",
            provider.entity_id,
            details={"dienst": provider.service_code},
        ),
    )
    db.session.commit()
    flash(_("Der Dienstanbieter %(id)s ist registriert.", id=provider.entity_id))
    return _back()


@blueprint.post("/saml/entfernen")
def remove_provider() -> Response:
    provider = providers.find(db.session, request.form.get("entity_id", ""))
    if provider is None:
        abort(404)
    db.session.delete(provider)
    audit.record(db.session, audit.Event(admin().actor, "saml_sp.entfernt", provider.entity_id))
    db.session.commit()
    flash(_("Der Dienstanbieter ist entfernt."))
    return _back()


def _client(client_id: str):
    client = clients.find(db.session, client_id)
    if client is None:
        abort(404)
    return client


def _lines(field: str) -> list[str]:
    return [line.strip() for line in request.form.get(field, "").splitlines() if line.strip()]


def _back() -> Response:
    return redirect(url_for("console_services.overview"), code=303)
