"""Drive the real app through its HTML forms, as a browser without JavaScript would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from idp.auth import passwords, totp
from idp.extensions import db
from idp.models import Person

CSRF = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
PASSWORD = "Zebrafisch-Laterne-42"


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A test client that fills in forms: it fetches the page first, for its CSRF token."""

    client: FlaskClient
    ip: str = "127.0.0.1"
    history: list[str] = field(default_factory=list)

    def get(self, path: str, **kwargs) -> TestResponse:
        self.history.append(path)
        return self.client.get(path, environ_base={"REMOTE_ADDR": self.ip}, **kwargs)

    def submit(self, path: str, data: dict, page: str | None = None) -> TestResponse:
        """GET `page` (default: `path`) for its token, then POST `data` to `path`."""
        form_page = self.get(page or path)
        token = csrf_token(form_page.text)
        return self.client.post(
            path, data={"csrf_token": token, **data}, environ_base={"REMOTE_ADDR": self.ip}
        )

    def login(self, name: str, password: str = PASSWORD) -> TestResponse:
        return self.submit("/login", {"login_name": name, "password": password})

    def cookie(self, app: Flask) -> str | None:
        found = self.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        return found.value if found is not None else None


@contextmanager
def data(app: Flask) -> Iterator[Session]:
    """The database session of a fresh app context, for arranging and checking state."""
    with app.app_context():
        yield db.session
        db.session.remove()


def browser(app: Flask, ip: str = "127.0.0.1") -> Browser:
    return Browser(app.test_client(), ip=ip)


def with_password(session: Session, person: Person, password: str = PASSWORD) -> Person:
    person.password_hash = passwords.hash_password(passwords.HashParameters(), password)
    session.commit()
    return person


def with_totp(session: Session, person: Person) -> pyotp.TOTP:
    """Give the person a confirmed second factor; returns a TOTP to compute codes."""
    secret = totp.new_secret()
    totp.save_confirmed(session, person.id, secret, step=0)
    session.commit()
    return pyotp.TOTP(secret)
