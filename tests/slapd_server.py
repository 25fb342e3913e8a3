"""A throwaway OpenLDAP server (slapd) on 127.0.0.1 for the test session.

The configuration is a temporary cn=config written with slapadd (mdb, the inetOrgPerson
schema, memberof and refint), so nothing of a system slapd is used or touched. slapd stays in
the foreground (`-d 0`), which lets Popen.terminate() stop it; as root it simply runs as root
in its temp dir, which is fine for a server that lives as long as the tests.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ldap3 import Connection, Server

from tests.pg_server import free_port

SUFFIX = "dc=schule-mv,dc=de"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "secret"


def slapd_bin() -> Path:
    # /usr/sbin is not on every PATH (e.g. a non-root user's).
    found = shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin")
    if not found:
        raise RuntimeError(
            "OpenLDAP is not installed (no slapd): run `make test`, which installs the Debian "
            "packages `slapd ldap-utils`."
        )
    return Path(found)


class SlapdServer:
    """slapd with suffix dc=schule-mv,dc=de, rootdn cn=admin,... / secret, and ou=people, ou=groups.

    `schema` is extra cn=config LDIF (olcSchemaConfig entries) for attributes a test needs
    beyond core, cosine, nis and inetOrgPerson.
    """

    suffix = SUFFIX
    admin_dn = ADMIN_DN
    admin_password = ADMIN_PASSWORD

    def __init__(self, schema: str = "") -> None:
        self.bin = slapd_bin()
        self.schema = schema
        self.dir = Path(tempfile.mkdtemp(prefix="idp-slapd-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> SlapdServer:
        try:
            config = self.dir / "config"
            config.mkdir()
            (self.dir / "data").mkdir()
            self._slapadd("config.ldif", _config_ldif(self.dir, self.schema), "-n0", "-F", config)
            self._slapadd("base.ldif", _BASE_LDIF, "-F", config, "-b", SUFFIX)
            self.process = subprocess.Popen(
                [self.bin, "-d", "0", "-F", config, "-h", f"{self.url}/"],
                stdout=subprocess.DEVNULL,
                stderr=open(self.dir / "log", "wb"),  # noqa: SIM115
            )
            self._wait_ready()
        except BaseException:
            # A fixture that fails to start never reaches its teardown.
            self.stop()
            raise
        return self

    def connect(self, user: str = ADMIN_DN, password: str = ADMIN_PASSWORD) -> Connection:
        """A bound ldap3 connection (as the admin unless told otherwise)."""
        return Connection(
            Server(self.url), user=user, password=password, auto_bind=True, raise_exceptions=True
        )

    def pause(self) -> None:
        """Stop slapd but keep its data, as a server that goes down for a while."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """Stop slapd in its tracks (SIGSTOP): connections stay open and requests go
        unanswered, as a server that hangs; `thaw()` lets it go on."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def resume(self) -> None:
        """Start the paused slapd again on the same port with the same data."""
        self.process = subprocess.Popen(
            [self.bin, "-d", "0", "-F", self.dir / "config", "-h", f"{self.url}/"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "log", "ab"),  # noqa: SIM115
        )
        self._wait_ready()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _slapadd(self, name: str, ldif: str, *args: str | Path) -> None:
        path = self.dir / name
        path.write_text(ldif, encoding="utf-8")
        done = subprocess.run(
            [self.bin.parent / "slapadd", "-q", *args, "-l", path], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"slapadd {name} failed: {done.stderr}")

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.dir / 'log').read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError("slapd did not start in time")


def _config_ldif(directory: Path, schema: str) -> str:
    # The root password is stored in clear: hashing it would need slappasswd for nothing, as
    # the server and its data are thrown away with the test session.
    return f"""\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {directory}/slapd.pid
olcArgsFile: {directory}/slapd.args

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

{schema}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: unlimited

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: {ADMIN_DN}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbDirectory: {directory}/data
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,mail,entryUUID eq
olcDbIndex: cn,sn,givenName eq,sub
olcDbIndex: employeeNumber,member eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by self read by users read by * none

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE

dn: olcOverlay={{1}}refint,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {{1}}refint
olcRefintAttribute: memberof member
"""


_BASE_LDIF = f"""\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: schule-mv
o: schule-mv

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups
"""
