"""A mail address that follows a name change, the old one kept as an alias.

policies/naming.toml `[mail] old_address_as_alias`: when a person's name changes so that the
address formed from it changes too (marriage, a corrected spelling), the person gets an
address formed from the new name, and every earlier address stays an alias that still
delivers. A name changed back gets its old address back (it leaves the aliases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from idp.naming.policy import NamingPolicy


def local_parts(addresses: Iterable[str | None]) -> set[str]:
    """The local parts of `addresses` (the part before "@"): what a new address must avoid."""
    return {address.rpartition("@")[0] for address in addresses if address}


def address_after_rename(
    policy: NamingPolicy,
    mail: str | None,
    aliases: list[str],
    old_name: tuple[str, str],
    new_name: tuple[str, str],
    allocate: Callable[[str], str],
) -> tuple[str, list[str]] | None:
    """The new address and aliases after a change from `old_name` to `new_name` (each
    (vorname, familienname)), or None when the address stays: no mailbox, the policy keeps
    addresses, or the new name forms the same address.

    `allocate(base)` returns a free local part for `base` (base, base2, ...) and reserves it;
    a local part among the person's own aliases is theirs already and is taken back."""
    if not mail or not policy.old_mail_as_alias:
        return None
    old_base = policy.mail_local_part(*old_name)
    new_base = policy.mail_local_part(*new_name)
    if new_base == old_base:
        return None
    domain = mail.rpartition("@")[2]
    own = {a.rpartition("@")[0]: a for a in aliases if a.rpartition("@")[2] == domain}
    local = new_base if new_base in own else allocate(new_base)
    address = f"{local}@{domain}"
    return address, sorted({*aliases, mail} - {address})
