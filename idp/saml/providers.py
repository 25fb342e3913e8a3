"""Registered SAML service providers: read from their metadata, tied to a service.

The metadata is the SP's word on where responses go (AssertionConsumerService), where logout
messages go (SingleLogoutService), which keys sign its requests and whether it always signs
them. We keep the metadata as registered and read everything from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.attribute_converter import ac_factory
from saml2.mdstore import InMemoryMetaData
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.clock import now
from idp.models import SamlServiceProvider
from idp.policy.loader import Policies
from idp.saml.attributes import MAP_DIR

FETCH_TIMEOUT = 10.0
MAX_METADATA_BYTES = 2_000_000


class ProviderProblem(ValueError):
    """Metadata or a registration that cannot be accepted; the message says why in the user's
    language, naming the field as both the command line and the console know it."""


@dataclass(frozen=True)
class SpMetadata:
    """What we read from one SP's metadata."""

    entity_id: str
    name: str
    acs_post: tuple[str, ...]
    slo: tuple[tuple[str, str], ...]  # (binding, location)
    signing_certificates: int
    requests_signed: bool


def read_metadata(xml: str, source: str) -> SpMetadata:
    """Parse SP metadata; exactly one SP with at least one HTTP-POST AssertionConsumerService."""
    store = InMemoryMetaData(ac_factory(MAP_DIR), xml)
    try:
        store.load()
    except Exception as exc:  # pysaml2 raises many kinds for unreadable or expired metadata
        raise ProviderProblem(
            _("%(quelle)s: keine lesbaren SAML-Metadaten (%(fehler)s)", quelle=source, fehler=exc)
        ) from exc
    sps = [entity_id for entity_id, entity in store.items() if "spsso_descriptor" in entity]
    if len(sps) != 1:
        raise ProviderProblem(
            _(
                "%(quelle)s: enthält %(anzahl)s Dienstanbieter (SPSSODescriptor), erwartet genau "
                "einen",
                quelle=source,
                anzahl=len(sps),
            )
        )
    entity_id = sps[0]
    descriptor = store[entity_id]["spsso_descriptor"][0]
    acs = tuple(
        endpoint["location"]
        for endpoint in descriptor.get("assertion_consumer_service", [])
        if endpoint.get("binding") == BINDING_HTTP_POST
    )
    if not acs:
        raise ProviderProblem(
            _(
                "%(quelle)s: %(entity_id)s hat keinen AssertionConsumerService mit "
                "HTTP-POST-Binding",
                quelle=source,
                entity_id=entity_id,
            )
        )
    for location in acs:
        _check_location(location, source)
    slo = tuple(
        (endpoint["binding"], endpoint["location"])
        for endpoint in descriptor.get("single_logout_service", [])
        if endpoint.get("binding") in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
    )
    certificates = store.certs(entity_id, "spsso", "signing")
    return SpMetadata(
        entity_id=entity_id,
        name=_display_name(store, entity_id),
        acs_post=acs,
        slo=slo,
        signing_certificates=len(certificates),
        requests_signed=str(descriptor.get("authn_requests_signed", "false")).lower() == "true",
    )


def load_metadata(source: str) -> str:
    """The metadata text from a file path or an http(s) URL."""
    if source.startswith(("https://", "http://")):
        try:
            response = requests.get(source, timeout=FETCH_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ProviderProblem(
                _("%(quelle)s: nicht abrufbar (%(fehler)s)", quelle=source, fehler=exc)
            ) from exc
        if len(response.content) > MAX_METADATA_BYTES:
            raise ProviderProblem(_too_large(source))
        return response.content.decode("utf-8")
    try:
        with open(source, "rb") as handle:
            raw = handle.read(MAX_METADATA_BYTES + 1)
    except OSError as exc:
        raise ProviderProblem(
            _("%(quelle)s: nicht lesbar (%(fehler)s)", quelle=source, fehler=exc.strerror)
        ) from exc
    if len(raw) > MAX_METADATA_BYTES:
        raise ProviderProblem(_too_large(source))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProviderProblem(
            _(
                "%(quelle)s: kein UTF-8 (%(fehler)s bei Byte %(byte)s)",
                quelle=source,
                fehler=exc.reason,
                byte=exc.start,
            )
        ) from exc


def register(
    session: Session,
    policies: Policies,
    *,
    source: str,
    service: str,
    idp_initiated: bool = False,
    require_signed_requests: bool = False,
) -> tuple[SamlServiceProvider, SpMetadata]:
    """Register (or re-register with fresh metadata) the SP described at `source`."""
    definition = policies.services.get(service)
    if definition is None:
        raise ProviderProblem(_("Dienst „%(code)s“: kein Dienst mit diesem Code", code=service))
    if definition.protocol != "saml":
        raise ProviderProblem(
            _(
                "Dienst „%(code)s“: der Dienst nutzt %(protokoll)s, nicht SAML",
                code=service,
                protokoll=definition.protocol,
            )
        )
    xml = load_metadata(source)
    metadata = read_metadata(xml, source)
    signed = require_signed_requests or metadata.requests_signed
    if signed and not metadata.signing_certificates:
        raise ProviderProblem(
            _(
                "%(quelle)s: signierte Anfragen verlangt, aber kein Signaturzertifikat in den "
                "Metadaten",
                quelle=source,
            )
        )
    provider = find(session, metadata.entity_id)
    if provider is None:
        provider = SamlServiceProvider(entity_id=metadata.entity_id)
        session.add(provider)
    provider.service_code = service
    provider.name = metadata.name
    provider.metadata_xml = xml
    provider.metadata_url = source if source.startswith(("https://", "http://")) else None
    provider.idp_initiated = idp_initiated
    provider.requests_signed = signed
    provider.updated_at = now()
    session.flush()
    return provider, metadata


def find(session: Session, entity_id: str | None) -> SamlServiceProvider | None:
    if not entity_id:
        return None
    return session.scalar(
        select(SamlServiceProvider).where(SamlServiceProvider.entity_id == entity_id)
    )


def all_providers(session: Session) -> list[SamlServiceProvider]:
    return list(
        session.scalars(select(SamlServiceProvider).order_by(SamlServiceProvider.entity_id))
    )


def describe(provider: SamlServiceProvider) -> dict:
    """An SP for operators (`idp saml list --json`)."""
    metadata = read_metadata(provider.metadata_xml, provider.entity_id)
    return {
        "id": str(provider.id),
        "entity_id": provider.entity_id,
        "name": provider.name,
        "service": provider.service_code,
        "acs": list(metadata.acs_post),
        "slo": [location for _, location in metadata.slo],
        "idp_initiated": provider.idp_initiated,
        "requests_signed": provider.requests_signed,
        "metadata_url": provider.metadata_url,
        "updated_at": provider.updated_at.isoformat(),
    }


def _display_name(store: InMemoryMetaData, entity_id: str) -> str:
    try:
        name = store.name(entity_id, "de") or store.name(entity_id, "en")
    except Exception:  # no Organization element
        name = None
    return (name or entity_id)[:255]


def _check_location(location: str, source: str) -> None:
    parts = urlsplit(location)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ProviderProblem(
            _(
                "%(quelle)s: „%(adresse)s“ ist keine absolute http(s)-Adresse",
                quelle=source,
                adresse=location,
            )
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ProviderProblem(
            _(
                "%(quelle)s: „%(adresse)s“: ohne https nur für 127.0.0.1/localhost",
                quelle=source,
                adresse=location,
            )
        )


def _too_large(source: str) -> str:
    return _("%(quelle)s: größer als %(bytes)s Bytes", quelle=source, bytes=MAX_METADATA_BYTES)
