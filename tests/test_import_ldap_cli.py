"""`idp import run --source ldap` against a real slapd, configured as an operator would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.importing import count, demo_export, idp_import, read_rows, snapshot
from tests.slapd_server import SlapdServer

BASE = "ou=verzeichnis,dc=schule-mv,dc=de"


@pytest.fixture(scope="module")
def directory() -> Iterator[SlapdServer]:
    server = SlapdServer().start()
    yield server
    server.stop()


@pytest.fixture
def export(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_export(tmp_path / "export")


@pytest.fixture
def people(directory: SlapdServer, export: Path) -> Iterator[list[str]]:
    """Four staff entries at the demo schools; removed again after the test."""
    schools = [r["Schulnummer"] for r in read_rows(export / "sip" / "schulen.csv")[1]]
    conn = directory.connect()
    conn.add(BASE, ["organizationalUnit"], {"ou": "verzeichnis"})
    entries = [
        ("uid=k.schroeder", "Käthe", "Schröder", "Lehrer", [schools[0]]),
        ("uid=s.obrien", "Seán", "O'Brien", "Lehrer", [schools[0], schools[1]]),
        ("uid=m.weiss", "Maik", "Weiß", "Paedagogische Fachkraft", [schools[1]]),
        ("uid=l.nowak", "Łucja", "Nowak", "Schulleitung", [schools[2]]),
    ]
    dns = []
    for rdn, vorname, familienname, rolle, nummern in entries:
        dn = f"{rdn},{BASE}"
        conn.add(
            dn,
            ["inetOrgPerson"],
            {
                "cn": f"{vorname} {familienname}",
                "givenName": vorname,
                "sn": familienname,
                "employeeType": rolle,
                "departmentNumber": nummern,
                "homePostalAddress": "Geheimweg 7$17033 Neubrandenburg",
            },
        )
        dns.append(dn)
    yield dns
    cleanup = directory.connect()
    cleanup.raise_exceptions = False
    for dn in [*dns, BASE]:
        cleanup.delete(dn)
    cleanup.unbind()


def ldap_config(tmp_path: Path, directory: SlapdServer) -> Path:
    secret = tmp_path / "ldap-passwort"
    secret.write_text(directory.admin_password + "\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        "[import.ldap]\n"
        f'url = "{directory.url}"\n'
        f'bind_dn = "{directory.admin_dn}"\n'
        f'bind_password_file = "{secret}"\n'
        f'base = "{BASE}"\n'
        "page_size = 2\n",
        encoding="utf-8",
    )
    return config


def test_ldap_source_imports_and_keeps_in_step(
    directory, people, export, database_url, run_idp, tmp_path
):
    code, _, err = idp_import(run_idp, database_url, "run", "--source", "sip", str(export / "sip"))
    assert code == 0, err
    env = {"IDP_CONFIG": str(ldap_config(tmp_path, directory))}
    code, data, err = idp_import(run_idp, database_url, "run", "--source", "ldap", env=env)
    assert code == 0, err
    assert data["summary"]["persons_create"] == 4
    assert data["summary"]["kontexte_start"] == 5
    assert (
        count(
            database_url, "SELECT count(*) FROM personenkontext WHERE source = 'ldap:verzeichnis'"
        )
        == 5
    )
    assert (
        count(
            database_url,
            "SELECT count(*) FROM person WHERE familienname = 'O''Brien' AND vorname = 'Seán'",
        )
        == 1
    )
    # Nothing the mapping does not name is read, so the address is nowhere.
    assert "Geheimweg" not in json.dumps(snapshot(database_url), ensure_ascii=False)

    code, data, _ = idp_import(run_idp, database_url, "run", "--source", "ldap", env=env)
    assert code == 0 and data["outcome"] == "nothing_to_do"

    directory.connect().delete(people[2])
    # One of five contexts ending is more than the source's 5 %: the breaker stops it first.
    code, data, _ = idp_import(run_idp, database_url, "run", "--source", "ldap", env=env)
    assert code == 2 and data["outcome"] == "breaker"
    code, data, err = idp_import(
        run_idp, database_url, "run", "--source", "ldap", "--allow-mass-end", env=env
    )
    assert code == 0, err
    assert data["summary"]["kontexte_end"] == 1
    assert data["summary"]["persons_leave"] == 1


def test_unreachable_directory_is_a_clear_error(database_url, run_idp, tmp_path):
    config = tmp_path / "config.toml"
    secret = tmp_path / "pw"
    secret.write_text("x", encoding="utf-8")
    config.write_text(
        '[import.ldap]\nurl = "ldap://127.0.0.1:9"\nbind_dn = "cn=admin,dc=schule-mv,dc=de"\n'
        f'bind_password_file = "{secret}"\nbase = "{BASE}"\ntimeout = 2\n',
        encoding="utf-8",
    )
    code, data, _ = idp_import(
        run_idp, database_url, "run", "--source", "ldap", env={"IDP_CONFIG": str(config)}
    )
    assert code == 1
    assert data["outcome"] == "rejected"
    assert data["problems"][0]["file"] == "ldap://127.0.0.1:9"
    assert count(database_url, "SELECT count(*) FROM person") == 0


def test_ldap_needs_configuration(database_url, run_idp):
    code, data, _ = idp_import(run_idp, database_url, "run", "--source", "ldap")
    assert code == 1
    assert data["problems"][0]["field"] == "import.ldap.url"


def test_sip_needs_a_folder(database_url, run_idp, tmp_path):
    result = run_idp("import", "run", "--source", "sip", env={"IDP_DATABASE_URL": database_url})
    assert result.returncode == 2 and "PATH" in result.stderr
    shutil.rmtree(tmp_path, ignore_errors=True)
