"""The one error type every policy file problem is reported as."""

from __future__ import annotations


class PolicyError(Exception):
    """A policy file breaks a rule: names the file, the entry and the rule."""

    def __init__(self, file: str, entry: str, rule: str) -> None:
        self.file = file
        self.entry = entry
        self.rule = rule
        super().__init__(f"{file}: {entry}: {rule}")
