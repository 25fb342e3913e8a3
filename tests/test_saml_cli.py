"""Operating the SAML IdP from the command line: our metadata, registering SPs from theirs,
and rotating the SAML key with the next certificate published before it signs."""

from __future__ import annotations

import json
import re

import pytest
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from sqlalchemy import select

from idp.models import SamlServiceProvider
from idp.oidc import keys
from tests.saml_sp import (
    Sp,
    accepted,
    idp_metadata,
    itslearning_school,
    learner,
    saml_app,
    sign_in,
)
from tests.web import browser, data

CERTIFICATE = re.compile(r"<(?:\w+:)?X509Certificate>([^<]+)</")
SSO = "http://127.0.0.1:8080/saml/sso"


@pytest.fixture
def site(database_url, tmp_path):
    with saml_app(database_url, tmp_path) as application:
        yield application


def _certificates(xml: str) -> set[str]:
    return {re.sub(r"\s", "", found) for found in CERTIFICATE.findall(xml)}


def _published_pems(site) -> tuple[str, str]:
    with data(site) as s:
        found = keys.saml_keys(s)
        s.commit()
        return found.certificate_pem, found.next_certificate_pem


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)


def test_metadata_names_endpoints_formats_and_both_certificates(site):
    xml = idp_metadata(site)
    active, upcoming = _published_pems(site)
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)["idp"]

    assert parsed["entityId"] == "http://127.0.0.1:8080/saml/metadata"
    assert parsed["singleSignOnService"]["url"] == SSO
    assert parsed["singleLogoutService"]["url"] == "http://127.0.0.1:8080/saml/slo"
    assert "HTTP-POST" in xml and "HTTP-Redirect" in xml
    assert "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" in xml
    assert "urn:oasis:names:tc:SAML:2.0:nameid-format:transient" in xml
    assert re.search(r'validUntil="\d{4}-\d\d-\d\dT', xml)
    # Only SHA-2 is announced. Certificates, digests and signature values are random base64,
    # which may spell "md5" by chance: they are left out of that look.
    markup = re.sub(
        r"(<(?:\w+:)?(X509Certificate|DigestValue|SignatureValue)>)[^<]*(</)", r"\1\3", xml
    )
    assert "xmldsig#rsa-sha1" not in markup and "md5" not in markup
    # The active certificate signs; the next one is published before it does.
    assert {_bare(active), _bare(upcoming)} <= _certificates(xml)
    assert OneLogin_Saml2_Utils.validate_metadata_sign(xml, active, validatecert=False)


def test_an_sp_keeps_working_across_a_key_rotation(site, tmp_path, run_idp, database_url):
    itslearning_school(site)
    sp = Sp("lms", idp_metadata(site))  # fetched before the rotation
    sp.register(site, tmp_path)
    before, upcoming = _published_pems(site)

    rotated = run_idp(
        "keys", "rotate", "--alg", "SAML", "--json", env={"IDP_DATABASE_URL": database_url}
    )
    assert rotated.returncode == 0, rotated.stderr
    path, request_id = sp.login_url()
    auth, _ = accepted(sp, sign_in(browser(site), path, learner), request_id)

    now_active, _ = _published_pems(site)
    assert now_active == upcoming != before
    assert auth.is_authenticated()  # signed with the key that was "next" in its metadata


def test_add_list_and_remove_an_sp(site, tmp_path, run_idp, database_url):
    env = {"IDP_DATABASE_URL": database_url}
    sp = Sp("lms", idp_metadata(site), signs_requests=True)
    file = tmp_path / "sp.xml"
    file.write_text(sp.metadata())

    added = run_idp(
        "saml", "add-sp", "--metadata", str(file), "--service", "itslearning",
        "--idp-initiated", "--json", env=env,
    )  # fmt: skip
    listed = run_idp("saml", "list", "--json", env=env)

    assert added.returncode == 0, added.stderr
    described = json.loads(added.stdout)
    assert described["entity_id"] == sp.entity_id
    assert described["acs"] == [sp.acs]
    assert described["requests_signed"] is True and described["idp_initiated"] is True
    assert json.loads(listed.stdout) == [described]
    removed = run_idp("saml", "remove", sp.entity_id, env=env)
    assert removed.returncode == 0, removed.stderr
    with data(site) as s:
        assert s.scalars(select(SamlServiceProvider)).all() == []


@pytest.mark.parametrize(
    ("content", "service", "message"),
    [
        ("<kein xml", "itslearning", "keine lesbaren SAML-Metadaten"),
        (None, "stundenplan", "der Dienst nutzt oidc, nicht SAML"),
        (None, "gibtsnicht", "kein Dienst mit diesem Code"),
    ],
)
def test_bad_registrations_say_why(
    site, tmp_path, run_idp, database_url, content, service, message
):
    file = tmp_path / "sp.xml"
    file.write_text(content if content is not None else Sp("lms", idp_metadata(site)).metadata())

    result = run_idp(
        "saml", "add-sp", "--metadata", str(file), "--service", service,
        env={"IDP_DATABASE_URL": database_url},
    )  # fmt: skip

    assert result.returncode == 2
    assert message in result.stderr
    if content is not None:
        assert str(file) in result.stderr


def test_metadata_command_writes_the_signed_metadata(tmp_path, run_idp, database_url):
    out = tmp_path / "idp-metadata.xml"
    result = run_idp("saml", "metadata", "--out", str(out), env={"IDP_DATABASE_URL": database_url})

    assert result.returncode == 0, result.stderr
    xml = out.read_text()
    assert "EntityDescriptor" in xml and "SignatureValue" in xml


def test_an_sp_is_registered_from_its_metadata_url(site, tmp_path):
    import functools
    import http.server
    import threading

    from idp.extensions import db
    from idp.policy import current_policies
    from idp.saml import providers

    sp = Sp("lms", idp_metadata(site))
    (tmp_path / "metadata.xml").write_text(sp.metadata(), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/metadata.xml"
    try:
        with site.app_context():
            provider, _ = providers.register(
                db.session, current_policies(), source=url, service="itslearning"
            )
            db.session.commit()
            assert (provider.entity_id, provider.metadata_url) == (sp.entity_id, url)
            with pytest.raises(providers.ProviderProblem, match="nicht abrufbar"):
                providers.register(
                    db.session, current_policies(), source=url + "x", service="itslearning"
                )
            db.session.remove()
    finally:
        server.shutdown()
        server.server_close()
