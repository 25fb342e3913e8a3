"""A stable hash of a desired account or group: equal content, equal hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass


def fingerprint(record) -> str:
    text = json.dumps(
        _plain(record), sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


_LEAVES = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}  # a dataclass's field names, by class


def _plain(value):
    """Dataclasses as dicts, tuples as lists: what `dataclasses.asdict` gives, without its
    deep copies (the worker hashes every account it looks at; the common cases first)."""
    if isinstance(value, _LEAVES):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    names = _FIELDS.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
