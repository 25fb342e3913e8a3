"""policies/naming.toml: how usernames and mail addresses are formed from a person's name."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from anyascii import anyascii

from idp.policy.tables import Table
from idp.policy.vocabulary import ROLLENARTEN

PLACEHOLDERS = ("vorname", "familienname", "vorname_initial")
# "." is left to the pattern, so that "von der Heide" cannot look like three separate names.
WORD_SEPARATORS = ("", "-")
SEPARATORS = ".-"
# RFC 5321: a mail address's local part has at most 64 octets.
MAIL_LOCAL_PART_LIMIT = 64
# Room for a stem of at least one letter plus a collision suffix.
MIN_LENGTH = 3

_PATTERN_LITERAL = re.compile(r"[a-z0-9.-]*")
_NOT_NAME_CHAR = re.compile(r"[^a-z0-9-]")
_SEPARATOR_RUN = re.compile(r"[.-]{2,}")


@dataclass(frozen=True)
class NamingPolicy:
    """The validated naming policy; build it with `from_dict`."""

    transliteration: dict[str, str]
    username_pattern: str
    username_patterns: dict[str, str]
    username_max_length: int
    first_suffix: int
    word_separator: str
    mail_pattern: str
    mail_max_length: int
    mailbox_rollenarten: frozenset[str]
    # After a name change the address follows the new name; the old one stays an alias.
    old_mail_as_alias: bool = False
    _name_parts: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict, file: str = "policies/naming.toml") -> NamingPolicy:
        """Validate the parsed TOML; any unknown key, wrong type or bad pattern is a PolicyError."""
        root = Table(data, file, "")
        transliteration = _parse_transliteration(_section(root, "transliteration"))
        username = _section(root, "username")
        mail = _section(root, "mail")
        root.done()

        username_pattern = _pattern(username, "pattern")
        by_rollenart = username.sub("rollenart")
        username_patterns = {}
        for rollenart in by_rollenart.data:
            if rollenart not in ROLLENARTEN:
                raise by_rollenart.error(
                    f"unknown rollenart (allowed: {', '.join(ROLLENARTEN)})", rollenart
                )
            username_patterns[rollenart] = _pattern(by_rollenart, rollenart)
        by_rollenart.done()
        policy = cls(
            transliteration=transliteration,
            username_pattern=username_pattern,
            username_patterns=username_patterns,
            username_max_length=_length(username, "max_length", upper=255),
            first_suffix=_first_suffix(username),
            word_separator=username.get_choice("word_separator", WORD_SEPARATORS, required=True),
            mail_pattern=_pattern(mail, "pattern"),
            mail_max_length=_length(mail, "max_length", upper=MAIL_LOCAL_PART_LIMIT),
            mailbox_rollenarten=frozenset(
                mail.get_str_list("rollenarten", allowed=ROLLENARTEN, required=True)
            ),
            old_mail_as_alias=mail.get("old_address_as_alias", bool, False),
        )
        username.done()
        mail.done()
        return policy

    @cached_property
    def _replacements(self) -> re.Pattern[str] | None:
        if not self.transliteration:
            return None
        # Longest first, so a sequence wins over the single letter it starts with.
        keys = sorted(self.transliteration, key=len, reverse=True)
        return re.compile("|".join(re.escape(key) for key in keys))

    def transliterate(self, text: str) -> str:
        """ASCII form of `text`: the policy's replacements first, then anyascii for the rest."""
        text = unicodedata.normalize("NFC", text)
        if self._replacements is not None:
            text = self._replacements.sub(lambda match: self.transliteration[match[0]], text)
        return anyascii(text)

    def username_base(self, vorname: str, familienname: str, rollenart: str) -> str:
        """The username before collision handling, at most `max_length` characters."""
        if rollenart not in ROLLENARTEN:
            raise ValueError(f"unknown rollenart {rollenart!r}")
        pattern = self.username_patterns.get(rollenart, self.username_pattern)
        return self._render(pattern, vorname, familienname, self.username_max_length)

    def mail_local_part(self, vorname: str, familienname: str) -> str:
        """The mail address's local part before collision handling."""
        return self._render(self.mail_pattern, vorname, familienname, self.mail_max_length)

    def gets_mailbox(self, rollenart: str) -> bool:
        """Whether persons of this rollenart get a mailbox."""
        return rollenart in self.mailbox_rollenarten

    def name_part(self, text: str) -> str:
        """One name as it appears in a username: lowercase ASCII letters, digits and hyphens."""
        # Half a million usernames in one import, from a few thousand distinct names.
        cached = self._name_parts.get(text)
        if cached is None:
            cached = self._name_parts[text] = self._make_name_part(text)
        return cached

    def _make_name_part(self, text: str) -> str:
        words = self.transliterate(text).lower().split()
        joined = self.word_separator.join(_NOT_NAME_CHAR.sub("", word) for word in words)
        return _tidy(joined)

    def _render(self, pattern: str, vorname: str, familienname: str, max_length: int) -> str:
        first = self.name_part(vorname)
        last = self.name_part(familienname)
        rendered = pattern.format(vorname=first, familienname=last, vorname_initial=first[:1])
        result = _tidy(_tidy(rendered)[:max_length])
        if not result:
            raise ValueError(f"no usable characters in {vorname!r} {familienname!r}")
        return result


def _tidy(text: str) -> str:
    """Collapse runs of separators to their first one and strip them from both ends."""
    return _SEPARATOR_RUN.sub(lambda match: match[0][0], text).strip(SEPARATORS)


def _section(root: Table, key: str) -> Table:
    return Table(root.get(key, dict, required=True), root.file, key)


def _parse_transliteration(table: Table) -> dict[str, str]:
    replacements = {}
    for key in table.data:
        value = table.get(key, str)
        if not key:
            raise table.error("an empty key replaces nothing", key)
        if not value.isascii():
            raise table.error("replacement must be ASCII", key)
        replacements[unicodedata.normalize("NFC", key)] = value
    table.done()
    return replacements


def _pattern(table: Table, key: str) -> str:
    pattern = table.get(key, str, required=True)
    fields = []
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise table.error(f"not a valid pattern: {exc}", key) from None
    for literal, name, spec, conversion in parsed:
        if not _PATTERN_LITERAL.fullmatch(literal):
            raise table.error(
                f"text outside placeholders may only use a-z, 0-9, '.', '-': {literal!r}", key
            )
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise table.error(
                f"unknown placeholder {{{name}}} (allowed: "
                + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
                + ")",
                key,
            )
        if spec or conversion:
            raise table.error(f"placeholder {{{name}}} takes no format or conversion", key)
        fields.append(name)
    if not fields:
        raise table.error("needs at least one placeholder", key)
    return pattern


def _length(table: Table, key: str, *, upper: int) -> int:
    value = table.get(key, int, required=True)
    if not MIN_LENGTH <= value <= upper:
        raise table.error(f"must be between {MIN_LENGTH} and {upper}", key)
    return value


def _first_suffix(table: Table) -> int:
    value = table.get("first_suffix", int, required=True)
    if value < 1:
        raise table.error("must be at least 1", "first_suffix")
    return value
