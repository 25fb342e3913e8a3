"""Configuration: defaults, the file, environment overrides, and errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from idp.config import SCHEMA, ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path):
    config = load_config(None, env={})
    assert config.issuer == "http://127.0.0.1:8080"
    assert config["mail"]["domain"] == "schule-mv.de"
    assert config.policies_dir == REPO / "policies"


def test_file_values_and_relative_paths(tmp_path):
    path = write(tmp_path, '[database]\nurl = "sqlite:///data/idp.db"\n[server]\nport = 9000\n')
    config = load_config(path, env={})
    assert config.database_url == f"sqlite:///{tmp_path / 'data' / 'idp.db'}"
    assert config["server"]["port"] == 9000
    assert config["server"]["secret_key_file"] == str(tmp_path / "instance" / "secret_key")


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, '[server]\nissuer = "https://file.example"\n')
    env = {
        "IDP_ISSUER": "https://env.example",
        "IDP_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/x",
        "IDP_SECRET_KEY": "from-env",
    }
    config = load_config(path, env=env)
    assert config.issuer == "https://env.example"
    assert config.database_url == "postgresql+psycopg://u@127.0.0.1/x"
    assert config.secret_key == "from-env"


def test_idp_config_names_the_file(tmp_path):
    path = write(tmp_path, '[mail]\ndomain = "schule.example"\n')
    assert load_config(None, env={"IDP_CONFIG": str(path)})["mail"]["domain"] == "schule.example"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", "server.prot: unknown key"),
        ("[serv]\nport = 1\n", "[serv]: unknown section"),
        ('[server]\nport = "8080"\n', "server.port: expected an integer, got str"),
        ("[server]\nport = true\n", "server.port: expected an integer, got bool"),
        ("[database]\necho = 1\n", "database.echo: expected true or false"),
        ("server = 3\n", "[server] must be a table"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_example_documents_every_key_with_its_default():
    example = tomllib.loads((REPO / "config.example.toml").read_text(encoding="utf-8"))
    assert set(example) == set(SCHEMA)

    def compare(schema: dict, documented: dict, name: str) -> None:
        assert set(documented) == set(schema), f"[{name}]: documented keys differ"
        for key, spec in schema.items():
            if isinstance(spec, dict):
                compare(spec, documented[key], f"{name}.{key}")
            elif f"{name}.{key}" != "policies.dir":
                assert documented[key] == spec[1], f"{name}.{key}: default differs"

    for section, schema in SCHEMA.items():
        compare(schema, example[section], section)


def test_nested_tables_are_checked(tmp_path):
    path = write(tmp_path, '[import.ldap]\npage_size = "viel"\n')
    with pytest.raises(ConfigError, match=r"import.ldap.page_size: expected an integer"):
        load_config(path, env={})
    path = write(tmp_path, "[import.ldap]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"import.ldap.port: unknown key"):
        load_config(path, env={})
    path = write(tmp_path, '[import]\nbreaker_school_share = "x"\n')
    with pytest.raises(ConfigError, match=r"import.breaker_school_share: expected a number"):
        load_config(path, env={})


def test_bad_config_is_one_line_and_exit_code_2(tmp_path, run_idp):
    path = write(tmp_path, '[server]\nport = "x"\n')
    result = run_idp("--config", str(path), "users", "list")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "server.port" in result.stderr and str(path) in result.stderr
    assert result.stdout == ""
