"""Free usernames and mail local parts: the base name, or the base with a number appended."""

from __future__ import annotations

from collections.abc import Callable

from idp.naming.policy import SEPARATORS, NamingPolicy


def with_suffix(base: str, number: int, max_length: int) -> str:
    """`base` with `number` appended, the base cut first so that the whole fits `max_length`."""
    suffix = str(number)
    stem = base[: max_length - len(suffix)].rstrip(SEPARATORS)
    if not stem:
        raise ValueError(f"no room for suffix {suffix} in {base!r} at max_length {max_length}")
    return stem + suffix


def allocate(
    base: str,
    taken: Callable[[str], bool] | set[str],
    first_suffix: int = 2,
    *,
    max_length: int,
) -> str:
    """The first free name of base, base2, base3, ... (from `first_suffix` on).

    Scans from the start on every call: right for one person at a time, where `taken` asks the
    database. Bulk imports use `SuffixAllocator`, which remembers where each base got to.
    """
    is_taken = taken if callable(taken) else taken.__contains__
    base = base[:max_length].rstrip(SEPARATORS)
    if not is_taken(base):
        return base
    number = first_suffix
    while is_taken(candidate := with_suffix(base, number, max_length)):
        number += 1
    return candidate


class SuffixAllocator:
    """Hands out free names from a set of taken ones, fast enough for a whole state's import.

    The next suffix to try is remembered per base, so the thousandth "Max Mustermann" costs one
    lookup, not a thousand. Every name handed out is added to `taken` (the caller's set).
    """

    def __init__(self, taken: set[str], first_suffix: int, max_length: int) -> None:
        self.taken = taken
        self.first_suffix = first_suffix
        self.max_length = max_length
        self._next: dict[str, int] = {}

    def allocate_base(self, base: str) -> str:
        """The first free name for `base`; it is taken from then on."""
        base = base[: self.max_length].rstrip(SEPARATORS)
        number = self._next.get(base)
        if number is None:
            number = self.first_suffix
            if base not in self.taken:
                self._next[base] = number
                self.taken.add(base)
                return base
        while (candidate := with_suffix(base, number, self.max_length)) in self.taken:
            number += 1
        self._next[base] = number + 1
        self.taken.add(candidate)
        return candidate


class UsernameAllocator(SuffixAllocator):
    """Usernames as the naming policy forms them, unique within `taken`."""

    def __init__(self, taken: set[str], policy: NamingPolicy) -> None:
        super().__init__(taken, policy.first_suffix, policy.username_max_length)
        self.policy = policy

    def allocate(self, vorname: str, familienname: str, rollenart: str) -> str:
        """A free username for this person."""
        return self.allocate_base(self.policy.username_base(vorname, familienname, rollenart))


class MailAllocator(SuffixAllocator):
    """Mail local parts as the naming policy forms them, unique within `taken`."""

    def __init__(self, taken: set[str], policy: NamingPolicy) -> None:
        super().__init__(taken, policy.first_suffix, policy.mail_max_length)
        self.policy = policy

    def allocate(self, vorname: str, familienname: str) -> str:
        """A free local part for this person's mail address."""
        return self.allocate_base(self.policy.mail_local_part(vorname, familienname))
