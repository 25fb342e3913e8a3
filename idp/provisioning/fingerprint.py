"""A stable hash of a desired account or group: equal content, equal hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass


def fingerprint(record) -> str:
    data = asdict(record) if is_dataclass(record) else record
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
