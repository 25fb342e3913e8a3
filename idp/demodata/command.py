"""`idp demo-data`: write the export files of a synthetic state for imports, tests and demos."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from idp.demodata.generator import SCALES, generate


@click.command("demo-data")
@click.option(
    "--schools",
    type=click.IntRange(1, 614),
    help="Anzahl der Schulen eines kleinen Landes (Voreinstellung: 3).",
)
@click.option(
    "--scale",
    type=click.Choice(SCALES),
    help="small: ein kleines Land; land: ganz Mecklenburg-Vorpommern (614 Schulen).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Startwert des Zufalls.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    required=True,
    help="Zielverzeichnis; darunter entstehen sip/ und personal/.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Bezugsdatum JJJJ-MM-TT (Voreinstellung: heute); legt Alter und Gültigkeiten fest.",
)
@click.option("--json", "as_json", is_flag=True, help="Zeilenzahlen als JSON ausgeben.")
def demo_data_command(
    schools: int | None,
    scale: str | None,
    seed: int,
    out: Path,
    today: dt.datetime | None,
    as_json: bool,
) -> None:
    """Schreibt die SIP- und Personalexporte eines erfundenen Landes (keine echten Daten)."""
    if schools is not None and scale is not None:
        raise click.UsageError("--schools und --scale schließen einander aus.")
    started = time.perf_counter()
    counts = generate(
        out, schools=schools, scale=scale, seed=seed, today=today.date() if today else None
    )
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    table = Table(title=f"Demodaten in {out} (seed {seed}, {seconds:.1f} s)")
    table.add_column("Datei")
    table.add_column("Zeilen", justify="right")
    for path, rows in counts.items():
        table.add_row(path, f"{rows:,}".replace(",", "."))
    Console().print(table)
