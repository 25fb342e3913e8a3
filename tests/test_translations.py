"""The English catalog covers every German text of the code and the templates, and is compiled.

The texts are found as `pybabel extract -F babel.cfg` finds them, so a template or view that
gains a text without an English translation fails here, not in front of a user.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from tests.conftest import REPO

CATALOG = REPO / "idp" / "translations" / "en" / "LC_MESSAGES"
# The gettext names the code uses, plus the plural ones (Jinja's {% trans %} with pluralize).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[a-zA-Z]")


def used_messages(root: Path) -> dict[str, str]:
    """The msgids the code and templates under `root` use, each with where it was first seen."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=lambda path: Path(os.path.relpath(path, root)).parts[0] == "idp",
    ):
        # A plural message is one catalog entry, keyed by its singular.
        text = message[0] if isinstance(message, tuple) else message
        found.setdefault(text, f"{filename}:{lineno}")
    return found


def untranslated(used: dict[str, str], catalog: Catalog) -> list[str]:
    """The used messages without a usable translation (none, empty or fuzzy), with their place."""
    missing = []
    for text, where in sorted(used.items()):
        entry = catalog.get(text)
        strings = entry.string if entry is not None and not entry.fuzzy else ""
        if not all(strings if isinstance(strings, tuple) else (strings,)):
            missing.append(f"{where}: {text!r}")
    return missing


def entries(catalog: Catalog) -> Iterator:
    return (m for m in catalog if m.id)


def pairs(catalog: Catalog) -> Iterator[tuple[str, str]]:
    """Each translation with the msgid it renders (singular or plural form)."""
    for m in entries(catalog):
        if isinstance(m.id, tuple):
            singular, plural = m.id
            for form, string in enumerate(m.string):
                yield (plural if form else singular), string
        else:
            yield m.id, m.string


def msgid(entry) -> str:
    """The singular msgid, which is also the catalog's key for a plural entry."""
    return entry.id[0] if isinstance(entry.id, tuple) else entry.id


def messages(catalog: Catalog) -> dict:
    """msgid -> translation; a plural entry's ids and forms as tuples (the .mo reader gives
    lists, the .po reader tuples)."""
    return {(_tuple(m.id), m.context): _tuple(m.string) for m in entries(catalog)}


def _tuple(value):
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.fixture(scope="module")
def po() -> Catalog:
    with (CATALOG / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_every_used_message_has_an_english_translation(po: Catalog):
    used = used_messages(REPO)

    missing = untranslated(used, po)

    assert used, "extraction found no messages at all: babel.cfg or the keywords are off"
    assert missing == [], "untranslated (run pybabel update, translate, compile):\n" + "\n".join(
        missing
    )


def test_catalog_holds_no_translations_nobody_uses(po: Catalog):
    used = used_messages(REPO)

    unused = sorted(msgid(m) for m in entries(po) if msgid(m) not in used)

    assert unused == []
    assert not po.obsolete


def test_no_entry_is_fuzzy_or_empty(po: Catalog):
    fuzzy = [m.id for m in entries(po) if m.fuzzy]
    empty = [text for text, string in pairs(po) if not string.strip()]

    assert not po.fuzzy, "the catalog header is marked fuzzy"
    assert fuzzy == []
    assert empty == []


def test_placeholders_match_between_german_and_english(po: Catalog):
    mismatched = [
        (text, string)
        for text, string in pairs(po)
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(string))
    ]

    assert mismatched == []


def test_compiled_catalog_is_up_to_date(po: Catalog):
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)

    with (CATALOG / "messages.mo").open("rb") as handle:
        committed = read_mo(handle)

    fresh = read_mo(compiled)
    assert messages(committed) == messages(fresh), (
        "messages.mo is stale: .venv/bin/pybabel compile -d idp/translations"
    )
    assert committed.plural_forms == fresh.plural_forms


def test_a_template_text_without_translation_is_caught(tmp_path: Path, po: Catalog):
    templates = tmp_path / "idp" / "templates"
    templates.mkdir(parents=True)
    (templates / "neu.html").write_text(
        '<p>{{ _("Anmelden") }}</p>\n<p>{{ _("Ein ganz neuer Satz") }}</p>\n', encoding="utf-8"
    )

    missing = untranslated(used_messages(tmp_path), po)

    assert missing == ["idp/templates/neu.html:2: 'Ein ganz neuer Satz'"]
