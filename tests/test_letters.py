"""Credential letters: one PDF page per person, read back with pypdf (text and QR code)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import segno
from PIL.Image import Image
from pypdf import PdfReader

from idp.auth.passwords import generate_initial
from idp.letters import TITLE, Letter, letters_pdf

LOGIN_URL = "https://login.schulen.example.de/"
VALID_UNTIL = dt.date(2025, 10, 1)
INSTRUCTIONS = (
    "So geht die erste Anmeldung",
    "neues, eigenes Passwort ausdenken",
    "Das Startpasswort gilt nur bis zum 01.10.2025.",
    "aufbewahren und danach zerreißen",
    "Sekretariat der Schule",
)


def _letter(number: int, **changes: object) -> Letter:
    fields = {
        "vorname": f"Jürgen{number}",
        "familienname": "Müßig",
        "username": f"juergen.muessig{number}",
        "initial_password": generate_initial(),
        "schule": "Grundschule Am Weißen Stein",
        "klasse": "4ä",
        "valid_until": VALID_UNTIL,
    }
    return Letter(**{**fields, **changes})


def _pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def class_of_thirty() -> list[Letter]:
    return [_letter(number) for number in range(1, 31)]


@pytest.fixture(scope="module")
def class_pdf(class_of_thirty: list[Letter]) -> bytes:
    return letters_pdf(class_of_thirty, LOGIN_URL)


def test_one_letter_is_one_page_with_everything_a_child_needs() -> None:
    letter = _letter(1, vorname="Jürgen", familienname="Müßig")

    pdf = letters_pdf([letter], LOGIN_URL)

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in (
        TITLE,
        "Jürgen Müßig",
        "Grundschule Am Weißen Stein · Klasse 4ä",
        letter.username,
        letter.initial_password,
        LOGIN_URL,
        *INSTRUCTIONS,
    ):
        assert expected in text
    assert reader.metadata.title == TITLE
    assert reader.metadata.author is None


def test_a_class_gets_one_page_per_person_each_with_only_its_own_password(
    class_of_thirty: list[Letter], class_pdf: bytes
) -> None:
    pages = _pages_text(class_pdf)

    assert len(pages) == len(class_of_thirty)
    for page, letter in zip(pages, class_of_thirty, strict=True):
        assert f"für {letter.name}\n" in page
        assert f"{letter.username}\n" in page
        assert letter.initial_password in page
        assert LOGIN_URL in page
        assert all(instruction in page for instruction in INSTRUCTIONS)
        others = [other.initial_password for other in class_of_thirty if other != letter]
        assert not any(password in page for password in others)


def test_every_page_carries_the_qr_code_of_the_login_url(class_pdf: bytes) -> None:
    expected = segno.make_qr(LOGIN_URL, error="m").matrix

    for page in PdfReader(io.BytesIO(class_pdf)).pages:
        (image,) = page.images
        assert _modules(image.image.convert("L"), len(expected)) == expected


def test_without_expiry_date_or_class_the_letter_still_says_what_to_do() -> None:
    letter = _letter(1, klasse=None, valid_until=None)

    (text,) = _pages_text(letters_pdf([letter], LOGIN_URL, title="Zugang für Lehrkräfte"))

    assert text.startswith("Grundschule Am Weißen Stein\nZugang für Lehrkräfte\n")
    assert "Das Startpasswort gilt nur kurze Zeit." in text
    assert "die Schulleitung oder das Sekretariat" in text
    assert letter.initial_password in text


def test_no_letters_is_no_document() -> None:
    with pytest.raises(ValueError, match="no letters"):
        letters_pdf([], LOGIN_URL)


def _modules(image: Image, size: int) -> tuple[bytearray, ...]:
    """The QR modules of a rendered code with a four-module quiet zone, dark as 1."""
    scale = image.width // (size + 8)
    assert image.width == image.height == scale * (size + 8)
    centre = scale * 4 + scale // 2
    return tuple(
        bytearray(
            int(image.getpixel((centre + column * scale, centre + row * scale)) < 128)
            for column in range(size)
        )
        for row in range(size)
    )
