"""Progress of long runs: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

# The steps an import's apply reports, in order (see idp/imports/applier.py).
APPLY_STEPS = 8


@contextlib.contextmanager
def progress_reporter(total: int = APPLY_STEPS) -> Iterator[Callable[[str, int], None]]:
    """Yield a callback `(step, count)`; each call is one finished step."""
    if not sys.stderr.isatty():
        started = time.monotonic()

        def log(step: str, count: int) -> None:
            elapsed = time.monotonic() - started
            print(f"import: {step}: {count} ({elapsed:.1f} s)", file=sys.stderr, flush=True)

        yield log
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=False
    ) as bar:
        task = bar.add_task("Import wird geschrieben", total=total)

        def advance(step: str, count: int) -> None:
            bar.update(task, advance=1, description=f"{step}: {count}")

        yield advance
