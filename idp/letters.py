"""Credential letters (Zugangsdaten-Briefe): one printable A4 page per person, as a PDF.

The PDF is made by fpdf2: pure Python, actively maintained, embeds and subsets TrueType fonts
(so umlauts and ß print) and places PNG images, with no native libraries beyond Pillow's wheels.
The QR code comes from segno as a PNG; the same login URL gives the same image on every page,
which fpdf2 embeds only once. The text is set in Debian's DejaVu fonts (package
fonts-dejavu-core); DejaVu Sans Mono tells 0/O and 1/l/I apart, for usernames and passwords.

Passwords are only rendered here: nothing is stored or logged.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    ("Sans", ""): "DejaVuSans.ttf",
    ("Sans", "B"): "DejaVuSans-Bold.ttf",
    ("Mono", "B"): "DejaVuSansMono-Bold.ttf",
}
TITLE = "Zugangsdaten für den Schul-Login"

MARGIN = 20.0  # mm
QR_SIZE = 45.0  # mm, with the quiet zone; big enough for any phone camera
GREY = (90, 90, 90)
BOX = (240, 244, 250)

STEPS = (
    "Die Adresse im Browser öffnen oder den QR-Code scannen.",
    "Benutzername und Startpasswort eingeben.",
    "Gleich danach ein neues, eigenes Passwort ausdenken und eingeben. "
    "Ab dann gilt nur noch das neue Passwort.",
)
NOTES = (
    "Passwörter sind geheim: niemandem verraten, auch nicht Freundinnen und Freunden.",
    "Ein gutes Passwort ist lang und leicht zu merken, zum Beispiel mehrere Wörter "
    "mit einer Zahl dazwischen.",
    "Diesen Brief bis zur ersten Anmeldung sicher aufbewahren und danach zerreißen.",
)


@dataclass(frozen=True)
class Letter:
    """What one letter says; the initial password is printed once, here."""

    vorname: str
    familienname: str
    username: str
    initial_password: str
    schule: str
    klasse: str | None = None
    valid_until: dt.date | None = None  # when the initial password stops working

    @property
    def name(self) -> str:
        return f"{self.vorname} {self.familienname}"


def letters_pdf(letters: Sequence[Letter], login_url: str, title: str = TITLE) -> bytes:
    """The letters as one PDF, one A4 page per letter, in the given order."""
    if not letters:
        raise ValueError("no letters to print")
    pdf = _LetterPDF()
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_subject("Zugangsdaten – vertraulich")
    pdf.set_creator("schul-idp")
    pdf.set_lang("de")
    for (family, style), filename in FONTS.items():
        pdf.add_font(family, style, FONT_DIR / filename)
    qr = _qr_png(login_url)
    for letter in letters:
        pdf.add_page()
        _page(pdf, letter, login_url, title, qr)
    return bytes(pdf.output())


class _LetterPDF(FPDF):
    """FPDF that breaks each paragraph into lines once: the letters share most of their text."""

    def __init__(self) -> None:
        super().__init__(format="A4")
        self._lines: dict[tuple[str, str, float, float, str], list[str]] = {}

    def paragraph(self, w: float, h: float, text: str, link: str = "") -> None:
        """Left-aligned lines from the current position; leaves x there, y below the text."""
        key = (self.font_family, self.font_style, self.font_size_pt, w, text)
        if key not in self._lines:
            self._lines[key] = self.multi_cell(w, h, text, dry_run=True, output="LINES")
        x = self.get_x()
        for line in self._lines[key]:
            self.set_x(x)
            self.cell(w, h, line, link=link, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def _page(pdf: _LetterPDF, letter: Letter, login_url: str, title: str, qr: bytes) -> None:
    width = pdf.epw
    pdf.set_xy(MARGIN, MARGIN)

    pdf.set_font("Sans", "", 10)
    pdf.set_text_color(*GREY)
    school = letter.schule + (f" · Klasse {letter.klasse}" if letter.klasse else "")
    pdf.paragraph(width, 5, school)
    pdf.set_text_color(0)
    pdf.ln(4)
    pdf.set_font("Sans", "B", 20)
    pdf.paragraph(width, 9, title)
    pdf.set_font("Sans", "", 14)
    pdf.paragraph(width, 8, f"für {letter.name}")
    pdf.ln(6)

    top = pdf.get_y()
    box_height = QR_SIZE + 8
    text_width = width - QR_SIZE - 14
    pdf.set_fill_color(*BOX)
    pdf.rect(MARGIN, top, width, box_height, style="F")
    pdf.image(
        qr,
        x=MARGIN + width - QR_SIZE - 4,
        y=top + 4,
        w=QR_SIZE,
        h=QR_SIZE,
        alt_text=f"QR-Code für {login_url}",
    )
    pdf.set_xy(MARGIN + 5, top + 5)
    _field(pdf, text_width, "Benutzername", letter.username)
    _field(pdf, text_width, "Startpasswort", letter.initial_password)
    pdf.set_font("Sans", "", 9)
    pdf.set_text_color(*GREY)
    pdf.paragraph(
        text_width,
        4.5,
        "Genau so eintippen, wie es hier steht, mit den Bindestrichen. "
        "Groß- und Kleinbuchstaben sind wichtig.",
    )
    pdf.set_text_color(0)

    pdf.set_xy(MARGIN, top + box_height + 5)
    pdf.set_font("Sans", "", 11)
    pdf.paragraph(width, 6, "Hier anmelden:")
    pdf.set_font("Mono", "B", 13)
    pdf.paragraph(width, 7, login_url, link=login_url)
    pdf.set_font("Sans", "", 9)
    pdf.set_text_color(*GREY)
    pdf.paragraph(width, 5, "Oder den QR-Code oben mit dem Tablet oder Handy scannen.")
    pdf.set_text_color(0)
    pdf.ln(7)

    _heading(pdf, "So geht die erste Anmeldung")
    for number, step in enumerate(STEPS, start=1):
        _item(pdf, f"{number}.", step)
    pdf.ln(4)

    _heading(pdf, "Wichtig")
    valid = (
        f"Das Startpasswort gilt nur bis zum {letter.valid_until:%d.%m.%Y}. "
        "Bitte vorher zum ersten Mal anmelden."
        if letter.valid_until
        else "Das Startpasswort gilt nur kurze Zeit. Bitte bald zum ersten Mal anmelden."
    )
    for note in (valid, *NOTES):
        _item(pdf, "•", note)
    pdf.ln(4)

    _heading(pdf, "Fragen oder Passwort vergessen?")
    helper = "die Klassenlehrerin oder der Klassenlehrer" if letter.klasse else "die Schulleitung"
    pdf.set_font("Sans", "", 11)
    pdf.paragraph(
        width,
        6,
        f"Hier helfen {helper} oder das Sekretariat der Schule weiter. "
        "Ein vergessenes Passwort kann die Schule neu vergeben.",
    )

    pdf.set_xy(MARGIN, pdf.eph + MARGIN - 5)
    pdf.set_font("Sans", "", 8)
    pdf.set_text_color(*GREY)
    pdf.cell(
        width,
        5,
        f"Vertraulich: Dieser Brief enthält ein Passwort und ist nur für {letter.name} bestimmt.",
        align="C",
    )
    pdf.set_text_color(0)


def _field(pdf: _LetterPDF, width: float, label: str, value: str) -> None:
    pdf.set_font("Sans", "", 10)
    pdf.paragraph(width, 5, label)
    pdf.set_font("Mono", "B", 17)
    pdf.paragraph(width, 9, value)
    pdf.set_xy(pdf.get_x(), pdf.get_y() + 2)


def _heading(pdf: _LetterPDF, text: str) -> None:
    pdf.set_font("Sans", "B", 13)
    pdf.paragraph(pdf.epw, 8, text)


def _item(pdf: _LetterPDF, mark: str, text: str) -> None:
    pdf.set_font("Sans", "", 11)
    pdf.cell(8, 6, mark)
    pdf.paragraph(pdf.epw - 8, 6, text)
    pdf.set_x(MARGIN)
    pdf.ln(1)
