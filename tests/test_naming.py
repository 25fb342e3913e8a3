"""Naming: DIN 91379 validity and search form, policies/naming.toml, username allocation."""

from __future__ import annotations

import copy
import re
import tomllib
import unicodedata
from pathlib import Path

import pytest

from idp.naming import (
    MailAllocator,
    NamingPolicy,
    UsernameAllocator,
    allocate,
    invalid_characters,
    is_valid_name,
    search_form,
)
from idp.naming.addresses import address_after_rename
from idp.naming.din91379 import DATA_FILE
from idp.naming.usernames import with_suffix
from idp.policy.errors import PolicyError

POLICY_FILE = Path(__file__).resolve().parent.parent / "policies" / "naming.toml"
USERNAME = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


@pytest.fixture(scope="module")
def raw_policy() -> dict:
    return tomllib.loads(POLICY_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def policy(raw_policy: dict) -> NamingPolicy:
    return NamingPolicy.from_dict(raw_policy, str(POLICY_FILE))


def _changed(raw_policy: dict, section: str, key: str, value: object) -> dict:
    data = copy.deepcopy(raw_policy)
    data[section][key] = value
    return data


def _policy_with(raw_policy: dict, **username: object) -> NamingPolicy:
    data = copy.deepcopy(raw_policy)
    data["username"].update(username)
    return NamingPolicy.from_dict(data)


# --- DIN 91379 data -------------------------------------------------------------------------


def test_data_file_holds_every_letter_and_n1_non_letter_of_the_list() -> None:
    lines = [
        line.split("\t")
        for line in DATA_FILE.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    groups = [fields[0] for fields in lines]
    code_points = {fields[1] for fields in lines}

    assert groups.count("bll") == 649
    assert groups.count("bnlreq") == 18
    assert {"00DF", "0141", "1E9E", "015E", "0110", "1EC5", "004B 035F 0048"} <= code_points
    assert {"0020", "0027", "002D", "2019"} <= code_points


# --- DIN 91379 validity ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "O'Brien",
        "Müller-Lüdenscheidt",
        "Łukasz",
        "Nguyễn",
        "Şahin",
        "Đorđević",
        "GROẞ",
        "d’Alembert",
        "von der Heide",
        "Ḳ̄asim",  # a listed sequence: K with dot below and combining macron
        "K͟Haled",  # a listed sequence spanning two letters
    ],
)
def test_din_91379_names_are_valid(name: str) -> None:
    assert invalid_characters(name) == []
    assert is_valid_name(name)


@pytest.mark.parametrize(
    ("name", "invalid"),
    [
        ("Max😀", ["😀"]),
        ("Иван", ["И", "в", "а", "н"]),
        ("Αλέξης", ["Α", "λ", "έ", "ξ", "η", "ς"]),
        ("R2D2", ["2", "2"]),
        ("<script>", ["<", ">"]),
        ("Anna\x00", ["\x00"]),
        ("Anna\tLena", ["\t"]),
        ("Anna\u00a0Lena", ["\u00a0"]),
        ("ǅuro", ["ǅ"]),  # the digraph letter is not in DIN 91379, only "Dž" as two letters
        ("q\u0303", ["q\u0303"]),  # base and mark are reported together
        ("Mä\u0301x", ["ä\u0301"]),  # a listed letter with an unlisted mark is not that letter
    ],
)
def test_characters_outside_din_91379_are_reported(name: str, invalid: list[str]) -> None:
    assert invalid_characters(name) == invalid
    assert not is_valid_name(name)


def test_empty_and_blank_names_are_not_valid() -> None:
    assert not is_valid_name("")
    assert not is_valid_name("  ")


def test_decomposed_input_is_normalised_before_checking() -> None:
    decomposed = unicodedata.normalize("NFD", "Müller-Łukasz Nguyễn Ḳ̄asim")
    assert decomposed != unicodedata.normalize("NFC", decomposed)

    assert is_valid_name(decomposed)
    assert search_form(decomposed) == "MUELLER LUKASZ NGUYEN KASIM"


# --- DIN 91379 search form ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Müller", "MUELLER"),
        ("Mueller", "MUELLER"),
        ("Straße", "STRASSE"),
        ("GROẞ", "GROSS"),
        ("Łukasz", "LUKASZ"),
        ("Şahin", "SAHIN"),
        ("Søren Ærø", "SOEREN AEROE"),
        ("Åsa", "AASA"),
        ("Nguyễn", "NGUYEN"),
        ("K͟Haled", "KHALED"),
        ("Anna-Lena", "ANNA LENA"),
        ("O'Brien", "O BRIEN"),
    ],
)
def test_search_form_follows_the_list(name: str, expected: str) -> None:
    assert search_form(name) == expected


def test_search_form_refuses_invalid_names() -> None:
    with pytest.raises(ValueError, match="Иван"):
        search_form("Иван")


# --- transliteration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("Ä", "Ae"),
        ("ß", "ss"),
        ("ẞ", "SS"),
        ("é", "e"),
        ("Ł", "L"),
        ("Ş", "S"),
        ("Đ", "D"),
        ("ø", "oe"),
        ("Zoë", "Zoe"),
        ("Åsa", "Aasa"),
        ("Mu\u0308ller", "Mueller"),
    ],
)
def test_transliteration(policy: NamingPolicy, text: str, expected: str) -> None:
    assert policy.transliterate(text) == expected


# --- usernames and mail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vorname", "familienname", "expected"),
    [
        ("Max", "Mustermann", "max.mustermann"),
        ("Anna-Lena", "Müller-Lüdenscheidt", "anna-lena.mueller-luedenscheidt"),
        ("Seán", "O'Brien", "sean.obrien"),
        ("Jörg", "von der Heide", "joerg.vonderheide"),
        ("Łukasz", "Świętochowski", "lukasz.swietochowski"),
        ("Zoë", "Şahin", "zoe.sahin"),
        ("Anna - Lena", "'t Hooft", "anna-lena.thooft"),
        ("", "Groß", "gross"),
    ],
)
def test_username_base(
    policy: NamingPolicy, vorname: str, familienname: str, expected: str
) -> None:
    username = policy.username_base(vorname, familienname, "LERN")

    assert username == expected
    assert USERNAME.fullmatch(username)


def test_username_pattern_per_rollenart(policy: NamingPolicy) -> None:
    assert policy.username_base("Max", "Mustermann", "SORGBER") == "eb.max.mustermann"
    assert policy.username_base("Max", "Mustermann", "LEHR") == "max.mustermann"


def test_word_separator_and_initial_placeholder(raw_policy: dict) -> None:
    hyphens = _policy_with(
        raw_policy, word_separator="-", pattern="{vorname_initial}{familienname}"
    )

    assert hyphens.username_base("Jörg", "von der Heide", "LEHR") == "jvon-der-heide"
    assert hyphens.username_base("Ängela", "Merk", "LEHR") == "amerk"


def test_username_is_cut_to_max_length_without_a_trailing_separator(raw_policy: dict) -> None:
    short = _policy_with(raw_policy, max_length=11)

    assert short.username_base("Maximilian", "Mustermann", "LERN") == "maximilian"
    assert short.username_base("Maximiliane", "Mustermann", "LERN") == "maximiliane"


def test_username_without_usable_characters_is_refused(policy: NamingPolicy) -> None:
    with pytest.raises(ValueError, match="no usable characters"):
        policy.username_base("'", "-", "LERN")
    with pytest.raises(ValueError, match="unknown rollenart"):
        policy.username_base("Max", "Mustermann", "LEHRER")


def test_mailbox_only_for_staff_and_mail_ignores_rollenart_patterns(policy: NamingPolicy) -> None:
    assert policy.gets_mailbox("LEHR")
    assert policy.gets_mailbox("LEIT")
    assert not policy.gets_mailbox("LERN")
    assert not policy.gets_mailbox("SORGBER")
    assert policy.mail_local_part("Anna-Lena", "Müller") == "anna-lena.mueller"


# --- collisions -----------------------------------------------------------------------------


def test_same_name_gets_suffixes_from_first_suffix(policy: NamingPolicy) -> None:
    allocator = UsernameAllocator(set(), policy)

    names = [allocator.allocate("Max", "Mustermann", "LERN") for _ in range(3)]

    assert names == ["max.mustermann", "max.mustermann2", "max.mustermann3"]
    assert {"max.mustermann", "max.mustermann2", "max.mustermann3"} <= allocator.taken


def test_names_taken_before_are_skipped(policy: NamingPolicy) -> None:
    taken = {"max.mustermann", "max.mustermann2", "max.mustermann4"}
    allocator = UsernameAllocator(taken, policy)

    names = [allocator.allocate("Max", "Mustermann", "LEHR") for _ in range(2)]

    assert names == ["max.mustermann3", "max.mustermann5"]


def test_mail_allocator_has_its_own_namespace(policy: NamingPolicy) -> None:
    allocator = MailAllocator({"max.mustermann"}, policy)

    assert allocator.allocate("Max", "Mustermann") == "max.mustermann2"


def test_suffix_always_fits_max_length(raw_policy: dict) -> None:
    short = _policy_with(raw_policy, max_length=10)
    allocator = UsernameAllocator(set(), short)

    names = [allocator.allocate("Maximilian", "Mustermann", "LERN") for _ in range(120)]

    assert names[:3] == ["maximilian", "maximilia2", "maximilia3"]
    assert names[-1] == "maximil120"
    assert len(set(names)) == 120
    assert all(len(name) <= 10 and USERNAME.fullmatch(name) for name in names)


def test_suffix_never_follows_a_separator() -> None:
    assert with_suffix("ab.c", 2, 4) == "ab2"
    assert allocate("ab.cdef", {"ab.c"}, max_length=4) == "ab2"


def test_allocate_asks_a_callable(policy: NamingPolicy) -> None:
    asked: list[str] = []

    def taken(name: str) -> bool:
        asked.append(name)
        return name in {"max.mustermann", "max.mustermann2"}

    assert allocate("max.mustermann", taken, max_length=32) == "max.mustermann3"
    assert asked == ["max.mustermann", "max.mustermann2", "max.mustermann3"]
    assert allocate("max.mustermann", set(), first_suffix=1, max_length=32) == "max.mustermann"


def test_bulk_allocation_of_200000_names(policy: NamingPolicy) -> None:
    vornamen = [f"Vorname{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(100)]
    familiennamen = [f"Müller{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(100)]
    allocator = UsernameAllocator(set(), policy)

    names = [
        allocator.allocate(vorname, familienname, "LERN")
        for _ in range(20)
        for vorname in vornamen
        for familienname in familiennamen
    ]

    assert len(names) == 200_000
    assert len(set(names)) == 200_000
    assert "vornameaa.muelleraa20" in allocator.taken


# --- policy errors --------------------------------------------------------------------------


def test_the_shipped_policy_is_valid(policy: NamingPolicy) -> None:
    assert policy.first_suffix == 2
    assert policy.username_pattern == "{vorname}.{familienname}"


@pytest.mark.parametrize(
    ("change", "entry", "rule"),
    [
        (("username", "nickname", "x"), "username.nickname", "unknown key"),
        (
            ("username", "pattern", "{vorname}.{nachname}"),
            "username.pattern",
            "unknown placeholder {nachname}",
        ),
        (
            ("username", "pattern", "{vorname:.1}{familienname}"),
            "username.pattern",
            "takes no format",
        ),
        (
            ("username", "pattern", "{vorname}_{familienname}"),
            "username.pattern",
            "text outside placeholders",
        ),
        (("username", "pattern", "lehrer"), "username.pattern", "at least one placeholder"),
        (("username", "pattern", "{vorname"), "username.pattern", "not a valid pattern"),
        (("username", "max_length", "32"), "username.max_length", "must be an integer"),
        (("username", "max_length", True), "username.max_length", "must be an integer"),
        (("username", "max_length", 2), "username.max_length", "between 3 and 255"),
        (("username", "first_suffix", 0), "username.first_suffix", "at least 1"),
        (("username", "word_separator", "_"), "username.word_separator", "unknown value"),
        (
            ("username", "rollenart", {"SCHUELER": "{vorname}"}),
            "username.rollenart.SCHUELER",
            "unknown rollenart",
        ),
        (("mail", "rollenarten", ["LEHR", "HAUSMEISTER"]), "mail.rollenarten", "unknown value"),
        (("mail", "max_length", 65), "mail.max_length", "between 3 and 64"),
        (("transliteration", "ä", "ä"), "transliteration.ä", "must be ASCII"),
        (("transliteration", "ö", 1), "transliteration.ö", "must be a string"),
    ],
)
def test_policy_errors_name_file_entry_and_rule(
    raw_policy: dict, change: tuple[str, str, object], entry: str, rule: str
) -> None:
    data = _changed(raw_policy, *change)

    with pytest.raises(PolicyError) as caught:
        NamingPolicy.from_dict(data, "policies/naming.toml")

    assert caught.value.file == "policies/naming.toml"
    assert caught.value.entry == entry
    assert rule in caught.value.rule


def test_policy_errors_for_missing_and_unknown_sections(raw_policy: dict) -> None:
    without_mail = {key: value for key, value in raw_policy.items() if key != "mail"}
    with pytest.raises(PolicyError) as caught:
        NamingPolicy.from_dict(without_mail)
    assert (caught.value.entry, caught.value.rule) == ("mail", "is required")

    with pytest.raises(PolicyError) as caught:
        NamingPolicy.from_dict({**raw_policy, "passwort": {}})
    assert (caught.value.entry, caught.value.rule) == ("passwort", "unknown key")
    assert caught.value.file == "policies/naming.toml"


# --- addresses after a name change ----------------------------------------------------------


def _rename(policy, mail, aliases, old, new, taken=()):
    allocator = MailAllocator({*taken}, policy)
    return address_after_rename(policy, mail, aliases, old, new, allocator.allocate_base)


def test_a_new_family_name_gives_a_new_address_and_keeps_the_old_as_alias(policy) -> None:
    moved = _rename(
        policy, "anna.schmidt@schule-mv.de", [], ("Anna", "Schmidt"), ("Anna", "Müller")
    )

    assert moved == ("anna.mueller@schule-mv.de", ["anna.schmidt@schule-mv.de"])


def test_the_new_address_avoids_one_in_use_and_a_name_changed_back_takes_its_own(policy) -> None:
    first = _rename(
        policy,
        "anna.schmidt@schule-mv.de",
        [],
        ("Anna", "Schmidt"),
        ("Anna", "Müller"),
        taken={"anna.mueller", "anna.schmidt"},
    )
    assert first == ("anna.mueller2@schule-mv.de", ["anna.schmidt@schule-mv.de"])

    back = _rename(
        policy,
        first[0],
        first[1],
        ("Anna", "Müller"),
        ("Anna", "Schmidt"),
        taken={"anna.mueller", "anna.mueller2", "anna.schmidt"},
    )
    assert back == ("anna.schmidt@schule-mv.de", ["anna.mueller2@schule-mv.de"])


def test_the_address_stays_without_mailbox_same_form_or_when_the_policy_keeps_it(
    policy, raw_policy
) -> None:
    assert _rename(policy, None, [], ("Anna", "Schmidt"), ("Anna", "Müller")) is None
    # "Mueller" and "Müller" form the same address
    assert (
        _rename(policy, "anna.mueller@schule-mv.de", [], ("Anna", "Mueller"), ("Anna", "Müller"))
        is None
    )
    keeping = NamingPolicy.from_dict(_changed(raw_policy, "mail", "old_address_as_alias", False))
    assert (
        _rename(keeping, "anna.schmidt@schule-mv.de", [], ("Anna", "Schmidt"), ("Anna", "Müller"))
        is None
    )
