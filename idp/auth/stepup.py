"""Step-up: is this login fresh and strong enough for what the user asks for?

OIDC and SAML ask `requirement_for(service)` and `satisfies(...)`. When the answer is no they
call `ask_for_login(return_to, requirement)`: the login pages then ask again (password and, if
required, a code) and send the browser back to `return_to`, the request it came with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from flask import redirect, session, url_for
from werkzeug.wrappers import Response

from idp.auth.sessions import SessionRow, current_login
from idp.auth.settings import auth_settings
from idp.clock import now
from idp.policy import current_policies

PENDING_KEY = "weiter"


@dataclass(frozen=True)
class Requirement:
    """What a login must have: a second factor, be at most `max_age` seconds old, and/or have
    been made after `made_after` (epoch seconds: "log in again", e.g. OIDC prompt=login)."""

    second_factor: bool = False
    max_age: int | None = None
    made_after: float | None = None

    def stricter(self, other: Requirement) -> Requirement:
        ages = [a for a in (self.max_age, other.max_age) if a is not None]
        afters = [a for a in (self.made_after, other.made_after) if a is not None]
        return Requirement(
            self.second_factor or other.second_factor,
            min(ages) if ages else None,
            max(afters) if afters else None,
        )


def requirement_for(service_code: str, max_age: int | None = None) -> Requirement:
    """A sensitive service needs a recent login with second factor; `max_age` can tighten it."""
    service = current_policies().services.get(service_code)
    base = Requirement(max_age=max_age)
    if service is not None and service.sensitive:
        return base.stricter(Requirement(True, auth_settings().sensitive_max_age))
    return base


def satisfies(
    login: SessionRow | None, requirement: Requirement, at: dt.datetime | None = None
) -> bool:
    """Whether `login` meets `requirement` now."""
    if login is None or login.auth_time is None:
        return False
    at = at or now()
    if requirement.second_factor and (login.otp_time is None or "otp" not in (login.amr or [])):
        return False
    made = login.otp_time if requirement.second_factor else login.auth_time
    if requirement.max_age is not None and (
        made is None or (at - made).total_seconds() > requirement.max_age
    ):
        return False
    return requirement.made_after is None or (
        made is not None and made.timestamp() >= requirement.made_after
    )


def current_satisfies(requirement: Requirement) -> bool:
    return satisfies(current_login(session), requirement)  # type: ignore[arg-type]


def ask_for_login(return_to: str, requirement: Requirement | None = None) -> Response:
    """Send the browser to the login, to come back to `return_to` (a path on this site)."""
    if not is_local_path(return_to):
        raise ValueError(f"not a local path: {return_to!r}")
    session[PENDING_KEY] = {"return_to": return_to, **asdict(requirement or Requirement())}
    return redirect(url_for("auth.login"))


def pending() -> tuple[str | None, Requirement]:
    """Where to go after the login, and what that login must satisfy."""
    data = session.get(PENDING_KEY) or {}
    requirement = Requirement(
        bool(data.get("second_factor")), data.get("max_age"), data.get("made_after")
    )
    return data.get("return_to"), requirement


def take_return_to() -> str | None:
    data = session.pop(PENDING_KEY, None) or {}
    return data.get("return_to")


def is_local_path(target: str) -> bool:
    """A path on this site: starts with one slash, no scheme, no host, no backslash tricks."""
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch in target for ch in "\r\n\t")
    )
