"""The worker's retry rules, read once from `[provisioning]`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class ProvisioningSettings:
    retry_seconds: int
    max_retry_seconds: int
    max_attempts: int
    batch_size: int
    poll_seconds: float
    secret_key: str
    # A claimed event whose worker died is given to another worker after this long.
    lease: dt.timedelta = dt.timedelta(minutes=5)

    def backoff(self, attempts: int) -> dt.timedelta:
        seconds = min(self.retry_seconds * 2 ** max(attempts - 1, 0), self.max_retry_seconds)
        return dt.timedelta(seconds=seconds)

    @classmethod
    def from_app(cls, app: Flask) -> ProvisioningSettings:
        section = app.config["IDP"]["provisioning"]
        return cls(
            retry_seconds=section["retry_seconds"],
            max_retry_seconds=section["max_retry_seconds"],
            max_attempts=section["max_attempts"],
            batch_size=section["batch_size"],
            poll_seconds=float(section["poll_seconds"]),
            secret_key=app.config["SECRET_KEY"],
            lease=dt.timedelta(seconds=section["lease_seconds"]),
        )


def provisioning_settings() -> ProvisioningSettings:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("idp.provisioning")
    if found is None:
        found = app.extensions["idp.provisioning"] = ProvisioningSettings.from_app(app)
    return found
