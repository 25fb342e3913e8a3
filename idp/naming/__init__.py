"""Names: DIN 91379 validity and search form, the naming policy, username allocation."""

from __future__ import annotations

from idp.naming.din91379 import invalid_characters, is_valid_name, search_form
from idp.naming.policy import NamingPolicy
from idp.naming.sorting import sort_key
from idp.naming.usernames import MailAllocator, UsernameAllocator, allocate

__all__ = [
    "MailAllocator",
    "NamingPolicy",
    "UsernameAllocator",
    "allocate",
    "invalid_characters",
    "is_valid_name",
    "search_form",
    "sort_key",
]
