"""A throwaway SCIM 2.0 server (scim2-server from PyPI, in memory) on 127.0.0.1.

It serves the schemas of RFC 7643 plus, unless told otherwise, our extension
(connectors.scim.extension_schema) on the User resource type, the way a target that stores the
school context would. With `dynamic_tenants` every first request to /NAME makes a tenant with
its own empty store, so tests share one process and still start from nothing. The store lives
in the process: `restart()` comes back on the same port with no data.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import requests

from connectors.scim import USER_SCHEMA, extension_schema
from tests.pg_server import free_port

TOKEN = "scim-test-token"


def scim2_server_bin() -> Path:
    found = Path(sys.executable).parent / "scim2-server"
    if found.exists():
        return found
    which = shutil.which("scim2-server")
    if not which:
        raise RuntimeError("scim2-server is not installed: pip install -e '.[test]'")
    return Path(which)


class PortTaken(RuntimeError):
    """Another process bound the port between choosing it and starting the server."""


class ScimServer:
    def __init__(self, extension: bool = True, dynamic_tenants: bool = True) -> None:
        self.extension = extension
        self.dynamic_tenants = dynamic_tenants
        self.token = TOKEN
        self.dir = Path(tempfile.mkdtemp(prefix="idp-scim-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.started = False  # once started, the port is ours: a restart keeps it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tenant(self, name: str) -> str:
        """The base URL of a tenant of its own (with dynamic_tenants)."""
        return f"{self.url}/{name}"

    def start(self) -> ScimServer:
        """Serve on the port; a first start whose free port another test took meanwhile tries a
        new one (a restart keeps its port)."""
        for _ in range(3):
            try:
                return self._start()
            except PortTaken:
                if self.started:
                    raise
                self.port = free_port()
        return self._start()

    def _start(self) -> ScimServer:
        try:
            command = [
                str(scim2_server_bin()),
                "--hostname",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--bearer-token",
                self.token,
            ]
            if self.extension:
                command += self._extension_files()
            if self.dynamic_tenants:
                command.append("--dynamic-tenants")
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=open(self.dir / "log", "ab"),  # noqa: SIM115
            )
            self._wait_ready()
            self.started = True
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port: everything stored is gone."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def get(self, path: str) -> dict:
        """A resource or list read directly, past the connector (for assertions)."""
        response = requests.get(
            self.url + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def _extension_files(self) -> list[str]:
        defaults = resources.files("scim2_server") / "resources"
        schemas = json.loads((defaults / "default-schemas.json").read_text(encoding="utf-8"))
        types = json.loads((defaults / "default-resource-types.json").read_text(encoding="utf-8"))
        for resource_type in types:
            if resource_type["schema"] == USER_SCHEMA:
                resource_type["schemaExtensions"].append(
                    {"schema": extension_schema()["id"], "required": False}
                )
        schema_file, types_file = self.dir / "schemas.json", self.dir / "resource-types.json"
        schema_file.write_text(json.dumps([*schemas, extension_schema()]), encoding="utf-8")
        types_file.write_text(json.dumps(types), encoding="utf-8")
        return ["--schema", str(schema_file), "--resource-type", str(types_file)]

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                log = (self.dir / "log").read_text()
                if "Address already in use" in log:
                    (self.dir / "log").write_text("")
                    raise PortTaken(self.port)
                raise RuntimeError(f"scim2-server exited: {log}")
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{self.url}/ServiceProviderConfig", timeout=0.5)
                return
            time.sleep(0.05)
        raise RuntimeError("scim2-server did not start in time")
