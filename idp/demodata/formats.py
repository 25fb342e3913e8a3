"""The files of a synthetic export: their paths, headers, and which columns are sensitive.

docs/import-formats.md describes the same files for people; tests keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileFormat:
    """One CSV file of an export: where it lies under the output directory and its header."""

    path: str
    header: tuple[str, ...]
    # Columns a real export carries but the import must never store.
    sensitive: tuple[str, ...] = ()


SCHULAEMTER = FileFormat(
    "sip/schulaemter.csv", ("Dienststellennummer", "Dienststellenname", "Straße", "PLZ", "Ort")
)
SCHULTRAEGER = FileFormat(
    "sip/schultraeger.csv",
    ("Schulträgernummer", "Schulträgername", "Schulträgerart", "Straße", "PLZ", "Ort"),
)
SCHULEN = FileFormat(
    "sip/schulen.csv",
    (
        "Schulnummer", "Schulname", "Schulart", "Dienststellennummer", "Dienststellenname",
        "Schulträgernummer", "Schulträgername", "Straße", "PLZ", "Ort",
    ),
)  # fmt: skip
KLASSEN = FileFormat("sip/klassen.csv", ("Schulnummer", "Klassenname", "Jahrgangsstufe"))
SCHUELER = FileFormat(
    "sip/schueler.csv",
    (
        "Schulnummer", "Schülernummer", "Schüler-ID", "Nachname", "Vorname", "Geschlecht",
        "Geburtsdatum", "Klassenname", "Jahrgangsstufe", "Schulart", "Förderbedarf", "LRS",
        "Staatsangehörigkeit", "Straße", "PLZ", "Ort",
    ),
    sensitive=("Förderbedarf", "LRS", "Staatsangehörigkeit", "Straße", "PLZ", "Ort"),
)  # fmt: skip
ERZIEHUNGSBERECHTIGTE = FileFormat(
    "sip/erziehungsberechtigte.csv",
    (
        "Erziehungsberechtigtennummer", "Nachname", "Vorname", "Geschlecht", "E-Mail",
        "Straße", "PLZ", "Ort",
    ),
    sensitive=("Straße", "PLZ", "Ort"),
)  # fmt: skip
SCHUELER_ERZIEHUNGSBERECHTIGTE = FileFormat(
    "sip/schueler_erziehungsberechtigte.csv",
    ("Schulnummer", "Schülernummer", "Erziehungsberechtigtennummer", "Art"),
)
DIENSTSTELLEN = FileFormat(
    "personal/dienststellen.csv",
    ("Dienststellennummer", "Dienststellenname", "Dienststellenart", "Straße", "PLZ", "Ort"),
)
PERSONAL = FileFormat(
    "personal/personal.csv",
    (
        "Personalnummer", "Dienststellennummer", "Lehrernummer", "Nachname", "Vorname", "Titel",
        "Geschlecht", "Geburtsdatum", "Lehramt", "Funktion", "Schulleitung", "Gültig ab",
        "Gültig bis",
    ),
)  # fmt: skip

ALL: tuple[FileFormat, ...] = (
    SCHULAEMTER, SCHULTRAEGER, SCHULEN, KLASSEN, SCHUELER, ERZIEHUNGSBERECHTIGTE,
    SCHUELER_ERZIEHUNGSBERECHTIGTE, DIENSTSTELLEN, PERSONAL,
)  # fmt: skip
