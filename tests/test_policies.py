"""Policy files: the shipped ones load; a broken one is an error naming file, entry and rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idp.policy.errors import PolicyError
from idp.policy.loader import load_policies

REPO = Path(__file__).resolve().parent.parent
SERVICES = {
    "itslearning",
    "email",
    "stundenplan",
    "klassenbuch",
    "notenbuch",
    "schulverwaltung",
    "auswertung",
    "lehrerstellenboerse",
    "diagnostik",
    "personalverwaltung",
}


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target)
    return target


def test_shipped_policies_load():
    policies = load_policies(REPO / "policies")
    assert set(policies.services) == SERVICES
    assert {s.code for s in policies.services.values() if s.sensitive} == {
        "diagnostik",
        "personalverwaltung",
    }
    assert policies.roles["IDM_SCHULE"].max_per_organisation == 2
    assert policies.roles["LANDESADMIN"].rollenart == "SYSADMIN"
    assert {r.rollenart for r in policies.roles.values()} == {
        "LERN",
        "LEHR",
        "SORGBER",
        "NLEHR",
        "LEIT",
        "ORGADMIN",
        "SYSADMIN",
    }
    assert policies.retention.for_rollenart("LERN").lock_after_days == 14
    assert policies.retention.for_rollenart("SYSADMIN") == policies.retention.default


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "entry", "rule"),
    [
        (
            "roles.toml",
            'rollenart = "LERN"',
            'rollenart = "SCHUELER"',
            "rollen.LERN.rollenart",
            "unknown value 'SCHUELER'",
        ),
        (
            "roles.toml",
            '{ right = "personen.lesen", scope = "organisation" },',
            '{ right = "alles.duerfen", scope = "organisation" },',
            "rollen.SCHULLEITUNG.rights[0].right",
            "unknown value 'alles.duerfen'",
        ),
        (
            "roles.toml",
            'scope = "land"',
            'scope = "welt"',
            "rollen.LANDESADMIN.rights[0].scope",
            "unknown value 'welt'",
        ),
        (
            "roles.toml",
            "max_per_organisation = 2",
            "max_per_organisation = 0",
            "rollen.IDM_SCHULE.max_per_organisation",
            "must be at least 1",
        ),
        (
            "roles.toml",
            'name = "Lehrkraft"',
            'name = "Lehrkraft"\nfarbe = "blau"',
            "rollen.LEHR.farbe",
            "unknown key",
        ),
        (
            "services.toml",
            'protocol = "saml"',
            'protocol = "ldap"',
            "services.itslearning.protocol",
            "unknown value 'ldap'",
        ),
        (
            "services.toml",
            "sensitive = true",
            'sensitive = "ja"',
            "services.diagnostik.sensitive",
            "must be true or false",
        ),
        (
            "services.toml",
            '"mail", "rollenart", "organisation_kennung", "klasse"]',
            '"mail", "religion"]',
            "services.itslearning.attributes",
            "unknown value 'religion'",
        ),
        (
            "services.toml",
            'activation_from = "freigegeben"',
            'activation_from = "irgendwann"',
            "services.itslearning.entitled[0].activation_from",
            "unknown value 'irgendwann'",
        ),
        (
            "services.toml",
            'activation_from = "freigegeben"\n',
            "",
            "services.itslearning.entitled[0].activation_from",
            "say from which state on",
        ),
        (
            "services.toml",
            'org_types = ["SCHULAMT", "MINISTERIUM"]\n\n[services.personalverwaltung]',
            'org_types = ["SCHULAMT", "KITA"]\n\n[services.personalverwaltung]',
            "services.diagnostik.entitled[1].org_types",
            "unknown value 'KITA'",
        ),
        (
            "retention.toml",
            "delete_after_days = 90",
            "delete_after_days = 7",
            "rollenart.LERN.delete_after_days",
            "must be at least lock_after_days",
        ),
        (
            "retention.toml",
            "[rollenart.LEHR]",
            "[rollenart.LEHRER]",
            "rollenart.LEHRER",
            "unknown rollenart",
        ),
        (
            "naming.toml",
            "max_length = 32",
            'max_length = "lang"',
            "username.max_length",
            "must be an integer",
        ),
    ],
)
def test_broken_policy_names_file_entry_and_rule(policy_dir, file, old, new, entry, rule):
    replace_in(policy_dir / file, old, new)
    with pytest.raises(PolicyError) as error:
        load_policies(policy_dir)
    assert error.value.file == str(policy_dir / file)
    assert error.value.entry == entry
    assert rule in error.value.rule


def test_missing_and_unparsable_files(policy_dir):
    (policy_dir / "retention.toml").write_text("[default\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"retention.toml: \(file\): not valid TOML"):
        load_policies(policy_dir)
    (policy_dir / "roles.toml").unlink()
    with pytest.raises(PolicyError, match=r"roles.toml: \(file\): file not found"):
        load_policies(policy_dir)


def test_broken_policy_stops_the_cli_with_one_line(policy_dir, tmp_path, run_idp):
    replace_in(policy_dir / "services.toml", "sensitive = true", "sensitive = 1")
    config = tmp_path / "config.toml"
    config.write_text(f'[policies]\ndir = "{policy_dir}"\n', encoding="utf-8")
    result = run_idp("--config", str(config), "policy", "check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"idp: error: {policy_dir / 'services.toml'}: services.diagnostik.sensitive: "
        "must be true or false"
    )
    served = run_idp("--config", str(config), "serve", "--port", "1")
    assert served.returncode == 2 and "services.diagnostik.sensitive" in served.stderr
