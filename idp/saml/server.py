"""The pysaml2 IdP, built from our configuration, keys and registered service providers.

Building it parses every SP's metadata, so each process keeps one and rebuilds it only when
the SAML key or the registered SPs change (two small queries per request tell). pysaml2 signs
with Debian's `xmlsec1`, which reads the key from a file: the key is written only while
pysaml2 loads it and while xmlsec1 signs (idp.saml.signing), in a private directory of this
process (on /dev/shm where there is one).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.models import SamlServiceProvider
from idp.oidc import keys
from idp.saml.attributes import MAP_DIR
from idp.saml.settings import SamlSettings, saml_settings
from idp.saml.signing import XmlSec1WithKeyInMemory

XMLSEC_BINARY = "xmlsec1"


class XmlsecMissing(RuntimeError):
    """Debian's xmlsec1 is not installed: nothing can be signed."""


@dataclass
class _Built:
    version: tuple
    server: Server
    directory: Path


def idp_server(session: Session) -> Server:
    """This process's pysaml2 IdP, current with the database."""
    settings = saml_settings()
    saml_keys = keys.saml_keys(session)
    count, changed = session.execute(
        select(func.count(), func.max(SamlServiceProvider.updated_at))
    ).one()
    version = (saml_keys.kid, saml_keys.next_certificate_pem, count, changed)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    built: _Built | None = app.extensions.get("idp.saml.server")
    if built is None or built.version != version:
        directory = _write_keys(saml_keys)
        metadata = list(session.scalars(select(SamlServiceProvider.metadata_xml)))
        try:
            server = Server(config=_config(settings, directory, metadata))
        finally:
            (directory / "active.key").unlink()  # loaded; xmlsec1 gets it per signature
        server.sec.crypto = XmlSec1WithKeyInMemory(
            server.config.xmlsec_binary, saml_keys.private_pem, directory
        )
        if built is not None:
            shutil.rmtree(built.directory, ignore_errors=True)
        built = app.extensions["idp.saml.server"] = _Built(version, server, directory)
    return built.server


def metadata_xml(session: Session) -> str:
    """Our signed IdP metadata: entity id, SSO and SLO endpoints, the active and the next
    signing certificate, NameID formats, the attributes we may send, validUntil."""
    server = idp_server(session)
    descriptor = entity_descriptor(server.config)
    _announce_only_strong_algorithms(descriptor)
    _, signed = sign_entity_descriptor(
        descriptor, None, server.sec, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
    )
    return str(signed)


# What our metadata says we accept (SAML metadata algorithm support): SHA-2 only, though
# xmlsec1 knows MD5, SHA-1 and DSA too.
STRONG_ALGORITHMS = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
}


def _announce_only_strong_algorithms(descriptor) -> None:
    extensions = descriptor.extensions
    if extensions is None:
        return
    extensions.extension_elements = [
        element
        for element in extensions.extension_elements
        if element.tag not in ("DigestMethod", "SigningMethod")
        or element.attributes.get("Algorithm") in STRONG_ALGORITHMS
    ]


def xmlsec_binary() -> str:
    found = shutil.which(XMLSEC_BINARY)
    if found is None:
        raise XmlsecMissing(
            "xmlsec1 fehlt: `apt-get install xmlsec1` (SAML-Nachrichten werden damit signiert)"
        )
    return found


def _config(settings: SamlSettings, directory: Path, sp_metadata: list[str]) -> IdPConfig:
    certificates = [str(directory / "next.crt")] if (directory / "next.crt").exists() else []
    config = {
        "entityid": settings.entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "key_file": str(directory / "active.key"),
        "cert_file": str(directory / "active.crt"),
        "additional_cert_files": certificates or None,
        "metadata": {"inline": sp_metadata} if sp_metadata else {},
        "attribute_map_dir": MAP_DIR,
        "valid_for": settings.metadata_valid_hours,
        "accepted_time_diff": 60,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "delete_tmpfiles": True,
        "service": {
            "idp": {
                "name": "Schul-Login",
                "endpoints": {
                    "single_sign_on_service": [
                        (settings.sso_url, BINDING_HTTP_REDIRECT),
                        (settings.sso_url, BINDING_HTTP_POST),
                    ],
                    "single_logout_service": [
                        (settings.slo_url, BINDING_HTTP_REDIRECT),
                        (settings.slo_url, BINDING_HTTP_POST),
                    ],
                },
                "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT],
                # Checked per SP (SamlServiceProvider.requests_signed), not for all at once.
                "want_authn_requests_signed": False,
                "sign_response": True,
                "sign_assertion": True,
                "policy": {
                    "default": {
                        "lifetime": {"seconds": settings.assertion_seconds},
                        "name_form": NAME_FORMAT_URI,
                        # The service's policy decides what is sent; an SP's wish list
                        # (RequestedAttribute) may only narrow it.
                        "fail_on_missing_requested": False,
                    }
                },
            }
        },
    }
    idp_config = IdPConfig()
    idp_config.load(config)
    return idp_config


def _write_keys(saml_keys: keys.SamlKeys) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="schul-idp-saml-", dir=_runtime_root()))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    _write_private(directory / "active.key", saml_keys.private_pem)
    _write_private(directory / "active.crt", saml_keys.certificate_pem)
    if saml_keys.next_certificate_pem:
        _write_private(directory / "next.crt", saml_keys.next_certificate_pem)
    return directory


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _runtime_root() -> str | None:
    """A memory-backed directory if the machine has one, so the key never reaches a disk."""
    shm = "/dev/shm"  # noqa: S108 (a private subdirectory is created with mkdtemp, mode 0700)
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
