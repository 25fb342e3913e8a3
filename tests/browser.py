"""Driving the app in a real browser: Debian's Chromium through Playwright.

The fixtures `chromium` (one browser per test session) and `live_site` (the app on a real HTTP
server on 127.0.0.1) live in tests/conftest.py; a `Visit` is one tab that saves a numbered
screenshot of each step under artifacts/screenshots/<test name>/ for review.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import REPO

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@dataclass
class Visit:
    """One browser tab on the live site that saves a numbered screenshot of each page."""

    page: Page
    base: str
    folder: Path
    count: int = 0

    def goto(self, path: str, step: str) -> None:
        self.page.goto(self.base + path)
        self.shot(step)

    def shot(self, step: str) -> None:
        self.count += 1
        self.page.screenshot(path=self.folder / f"{self.count:02d}-{step}.png", full_page=True)

    def expect_path(self, path: str) -> None:
        expect(self.page).to_have_url(self.base + path)


@contextmanager
def open_visit(
    request: pytest.FixtureRequest,
    chromium: Browser,
    base: str,
    javascript: bool = True,
    who: str = "",
) -> Iterator[Visit]:
    """A fresh browser context; `who` names its screenshot folder when a test has several."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    folder = SCREENSHOTS / (f"{name}-{who}" if who else name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = chromium.new_context(
        java_script_enabled=javascript, locale="de-DE", accept_downloads=True
    )
    try:
        yield Visit(context.new_page(), base, folder)
    finally:
        context.close()


def log_in(visit: Visit, name: str, password: str) -> None:
    page = visit.page
    name_field = page.get_by_label("Benutzername oder E-Mail-Adresse")
    password_field = page.get_by_label("Passwort", exact=True)
    expect(name_field).to_be_editable()
    expect(password_field).to_be_editable()
    name_field.fill(name)
    password_field.fill(password)
    page.get_by_role("button", name="Anmelden").click()
