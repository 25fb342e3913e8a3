"""Configuration: one TOML file, a few environment overrides, strict validation.

Every key has a type and a default here; `config.example.toml` documents the same keys.
A wrong key or type is a `ConfigError` naming the file and the key.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# section -> key -> (type, default), or key -> a nested table of the same form. Tables whose
# content is free-form (e.g. column mappings) are typed `dict` and checked by their user.
# Later capabilities add their sections here.
Schema = dict[str, "tuple[type | tuple[type, ...], Any] | Schema"]
SCHEMA: dict[str, Schema] = {
    "database": {
        "url": (str, "sqlite:///instance/idp.sqlite3"),
        "echo": (bool, False),
    },
    "server": {
        "issuer": (str, "http://127.0.0.1:8080"),
        "secret_key_file": (str, "instance/secret_key"),
        "host": (str, "127.0.0.1"),
        "port": (int, 8080),
        "proxy_hops": (int, 0),
    },
    "policies": {
        "dir": (str, str(REPO_ROOT / "policies")),
    },
    "mail": {
        "domain": (str, "schule-mv.de"),
    },
    "land": {
        "kennung": (str, "MV"),
        "name": (str, "Mecklenburg-Vorpommern"),
    },
    "logging": {
        "level": (str, "INFO"),
    },
    "auth": {
        "argon2": {
            # OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
            "memory_kib": (int, 19456),
            "time_cost": (int, 2),
            "parallelism": (int, 1),
        },
        "password": {
            "min_length": (int, 8),
            "min_length_admin": (int, 12),
            "initial_length": (int, 12),
            "initial_valid_days": (int, 30),
        },
        "session": {
            "idle_minutes": (int, 30),
            "absolute_hours": (int, 12),
            "cookie_name": (str, "idp_sitzung"),
        },
        "stepup": {
            # How recent a login with second factor must be for a sensitive service.
            "sensitive_max_age_seconds": (int, 900),
        },
        "guard": {
            # Per account: attempts without delay, then delays doubling from 1 s up to
            # max_delay_seconds; after lock_after failures a soft lock of lock_minutes.
            "account_free_attempts": (int, 3),
            "account_lock_after": (int, 10),
            "account_lock_minutes": (int, 15),
            # Per client address: a whole school may share one; the limits are wide.
            "ip_free_attempts": (int, 100),
            "ip_lock_after": (int, 1000),
            "ip_lock_minutes": (int, 15),
            "max_delay_seconds": (int, 60),
            # Failures older than this are forgotten.
            "forget_after_minutes": (int, 60),
        },
        "totp": {
            "issuer_name": (str, "Schul-Login"),
            # Accepted clock drift in 30-second steps on either side.
            "valid_window": (int, 1),
        },
    },
    "import": {
        "max_errors": (int, 0),
        "breaker_school_share": ((int, float), 0.10),
        "breaker_source_share": ((int, float), 0.05),
        "sip": {"columns": (dict, {})},
        "personal": {"columns": (dict, {})},
        "ldap": {
            "name": (str, "verzeichnis"),
            "url": (str, ""),
            "bind_dn": (str, ""),
            "bind_password_file": (str, ""),
            "base": (str, ""),
            "filter": (str, "(objectClass=inetOrgPerson)"),
            "page_size": (int, 500),
            "start_tls": (bool, False),
            "timeout": (int, 10),
            "attributes": (dict, {}),
            "roles": (dict, {}),
        },
    },
    "oidc": {
        # How long a retired signing key stays published: longer than any token it signed lives.
        "retired_key_seconds": (int, 86400),
        "code_seconds": (int, 60),
        "access_token_seconds": (int, 300),
        "id_token_seconds": (int, 300),
        "refresh_token_days": (int, 30),
        # PKCE is always required of public clients; true requires it of every client.
        "pkce_for_all_clients": (bool, False),
    },
    "saml": {
        # Our metadata says SPs may rely on it this long (validUntil); fetch it more often.
        "metadata_valid_hours": (int, 168),
        # An assertion must be used within this many seconds (NotOnOrAfter).
        "assertion_seconds": (int, 300),
        # An AuthnRequest older than this (IssueInstant), or this far in the future, is refused.
        "request_max_age_seconds": (int, 300),
        # The scope of eduPersonPrincipalName (username@scope); empty: the issuer's host name.
        "scope": (str, ""),
    },
    # Provisioning targets (connectors/). Secrets come from a file (*_file) or from the
    # environment (see connectors.settings.secret), never from this file.
    "provisioning": {
        # A failing event is retried with waits doubling from retry_seconds, up to
        # max_retry_seconds; after max_attempts it is parked as dead (`idp outbox dead`).
        "retry_seconds": (int, 5),
        "max_retry_seconds": (int, 3600),
        "max_attempts": (int, 10),
        "batch_size": (int, 1000),
        # A claimed event whose worker died (kill -9, power cut) is due again after this long.
        "lease_seconds": (int, 300),
        # How often `idp worker` looks for new events when the outbox is empty.
        "poll_seconds": ((int, float), 1.0),
    },
    "connectors": {
        "ldap_mail": {
            "service": (str, "email"),
            "url": (str, ""),
            "bind_dn": (str, ""),
            "bind_password_file": (str, ""),
            "base_dn": (str, ""),
            "start_tls": (bool, False),
            "timeout": (int, 10),
        },
        "itslearning": {
            "service": (str, "itslearning"),
            # The IMS Enterprise Services (SOAP) endpoint; empty: only the file export.
            "url": (str, ""),
            "username": (str, ""),
            "password_file": (str, ""),
            # The sourcedId of the state's top group in itslearning, which schools hang under.
            "root": (str, ""),
            # IMS Enterprise 1.1 XML files are written here (the fallback import route).
            "export_dir": (str, ""),
            "timeout": (int, 30),
        },
        # One table per service: [connectors.scim.CODE] url, token_file, timeout.
        "scim": (dict, {}),
    },
}

# Environment variables that override the file; operators and tests rely on these names.
ENV_OVERRIDES = {
    "IDP_DATABASE_URL": ("database", "url"),
    "IDP_ISSUER": ("server", "issuer"),
}
SECRET_KEY_ENV = "IDP_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
CONFIG_ENV = "IDP_CONFIG"

# Keys holding paths: a relative path means relative to the config file's folder.
PATH_KEYS = {("server", "secret_key_file"), ("policies", "dir")}
# The LDAP import's bind password, instead of [import.ldap] bind_password_file.
LDAP_PASSWORD_ENV = "IDP_IMPORT_LDAP_PASSWORD"  # noqa: S105 (a variable name, not a secret)


class ConfigError(Exception):
    """The configuration is unusable; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """The validated settings, one attribute per section."""

    values: dict[str, dict[str, Any]]
    source: str = "<defaults>"
    secret_key: str = field(default="", repr=False)

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.values[section]

    @property
    def database_url(self) -> str:
        return self.values["database"]["url"]

    @property
    def issuer(self) -> str:
        return self.values["server"]["issuer"]

    @property
    def policies_dir(self) -> Path:
        return Path(self.values["policies"]["dir"])


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Load the config from `path` (or $IDP_CONFIG, or defaults) and apply env overrides."""
    env = dict(os.environ) if env is None else env
    path = path if path is not None else env.get(CONFIG_ENV)
    raw: dict[str, Any] = {}
    base = Path.cwd()
    source = "<defaults>"
    if path:
        file = Path(path)
        source = str(file)
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from None
        base = file.resolve().parent
    values = _validate(raw, source)
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            values[section][key] = env[var]
    for section, key in PATH_KEYS:
        values[section][key] = str(_resolve(values[section][key], base))
    values["database"]["url"] = _resolve_sqlite(values["database"]["url"], base)
    return Config(values=values, source=source, secret_key=_secret_key(values, env))


def _validate(raw: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    for section in raw:
        if section not in SCHEMA:
            raise ConfigError(f"{source}: [{section}]: unknown section")
    return {
        section: _table(raw.get(section, {}), schema, section, source)
        for section, schema in SCHEMA.items()
    }


def _table(given: Any, schema: Schema, name: str, source: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    for key in given:
        if key not in schema:
            raise ConfigError(f"{source}: {name}.{key}: unknown key")
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if isinstance(spec, dict):
            values[key] = _table(given.get(key, {}), spec, f"{name}.{key}", source)
            continue
        typ, default = spec
        value = given.get(key, default)
        if not _has_type(value, typ):
            raise ConfigError(
                f"{source}: {name}.{key}: expected {_type_name(typ)}, got {type(value).__name__}"
            )
        values[key] = value
    return values


def _has_type(value: Any, typ: type | tuple[type, ...]) -> bool:
    # bool is an int in Python; a config saying `port = true` is still wrong.
    if isinstance(value, bool) and typ is not bool:
        return False
    return isinstance(value, typ)


def _type_name(typ: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        dict: "a table",
    }
    types = typ if isinstance(typ, tuple) else (typ,)
    if set(types) == {int, float}:
        return "a number"
    return " or ".join(names.get(t, t.__name__) for t in types)


def _resolve(value: str, base: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def _resolve_sqlite(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        rest = url[len(prefix) :]
        if rest and not rest.startswith(":"):
            return prefix + str(_resolve(rest, base))
    return url


def _secret_key(values: dict[str, dict[str, Any]], env: dict[str, str]) -> str:
    """The key that signs cookies: from $IDP_SECRET_KEY, else the key file (created once)."""
    if env.get(SECRET_KEY_ENV):
        return env[SECRET_KEY_ENV]
    key_file = Path(values["server"]["secret_key_file"])
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    return ""


def ensure_secret_key_file(config: Config) -> str:
    """Create the secret key file with a fresh random key if there is none; return the key."""
    if config.secret_key:
        return config.secret_key
    key_file = Path(config["server"]["secret_key_file"])
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written with 0600 from the start so the key is never readable by others.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
