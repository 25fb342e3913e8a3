"""Signing SAML messages with Debian's xmlsec1, as pysaml2 runs it, with three changes:

- the private key is written for each signature and removed right after it, so no decrypted
  key stays on a disk or in /dev/shm when a worker is stopped (a SIGTERM skips `atexit`);
- the message and xmlsec1's output go to this process's private directory (mode 0700, on
  /dev/shm where there is one), not to /tmp, since they carry a person's attributes;
- xmlsec1's version is asked once, not before every signature (pysaml2 starts a process for
  that each time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from subprocess import PIPE, Popen
from tempfile import NamedTemporaryFile

from saml2 import SamlBase
from saml2.sigver import CryptoBackendXmlSec1, SignatureError, XmlsecError


class XmlSec1WithKeyInMemory(CryptoBackendXmlSec1):
    def __init__(self, xmlsec_binary: str, private_pem: str, directory: Path):
        super().__init__(xmlsec_binary, delete_tmpfiles=True)
        self._private_pem = private_pem
        self._directory = directory

    @cached_property
    def version(self) -> str:  # type: ignore[override]
        return CryptoBackendXmlSec1.version.fget(self)  # type: ignore[attr-defined]

    def sign_statement(self, statement, node_name, key_file, node_id):
        """Sign with our key (`key_file`, pysaml2's idea of where it is, is not used)."""
        if isinstance(statement, SamlBase):
            statement = str(statement)
        with self._file(self._private_pem, ".pem") as key, self._file(statement, ".xml") as doc:
            command = [self.xmlsec, "--sign", "--privkey-pem", key, "--id-attr:ID", node_name]
            if node_id:
                command.extend(["--node-id", node_id])
            try:
                stdout, stderr, output = self._run_xmlsec(command, [doc])
            except XmlsecError as exc:
                raise SignatureError(command) from exc
        if output:
            return output.decode("utf-8")
        if stdout:
            return stdout.decode("utf-8") if isinstance(stdout, bytes) else stdout
        raise SignatureError(stderr)

    def _run_xmlsec(self, com_list, extra_args):
        """pysaml2's call of xmlsec1, with the output file in our private directory."""
        with NamedTemporaryFile(suffix=".xml", dir=self._directory) as output:
            command = [*com_list, "--output", output.name]
            if self.version_nums >= (1, 3):
                command.append("--lax-key-search")
            command += extra_args
            process = Popen(command, stderr=PIPE, stdout=PIPE)  # noqa: S603
            out, err = process.communicate()
            if process.returncode != 0:
                raise XmlsecError(
                    f"returncode={process.returncode}\nerror={err.decode()}\noutput={out.decode()}"
                )
            output.seek(0)
            return out.decode(), err.decode(), output.read()

    @contextlib.contextmanager
    def _file(self, content: str | bytes, suffix: str) -> Iterator[str]:
        # NamedTemporaryFile creates the file with mode 0600 and removes it on leaving.
        with NamedTemporaryFile(suffix=suffix, dir=self._directory) as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            yield f.name
