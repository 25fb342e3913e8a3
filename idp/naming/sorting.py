"""How persons are sorted and found by name: DIN 91379's search form, so Ö sorts with OE."""

from __future__ import annotations

from functools import lru_cache

from idp.naming.din91379 import search_form


@lru_cache(maxsize=65536)
def _form(name: str) -> str:
    # Names repeat a lot (a few thousand distinct ones for half a million people): cache them.
    try:
        return search_form(name)
    except ValueError:
        return name.upper()


def sort_key(familienname: str, vorname: str) -> str:
    """The key persons are ordered and searched by: family name first, then given name."""
    return f"{_form(familienname)}, {_form(vorname)}"
