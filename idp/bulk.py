"""Fast bulk INSERT for imports: compile once, convert values once, one executemany per chunk.

SQLAlchemy's generic executemany path re-inspects every parameter of every row; for the
millions of rows of a first import that costs more than the database itself. Here the values
are converted a column at a time with each column's bind processor, and the statement goes
to the driver as it is (`exec_driver_sql`; COPY on PostgreSQL). Rows must name every column
with a Python-side default (it does not run); server defaults fill the columns left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, Uuid, insert
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

CHUNK = 20_000

ColumnConverter = Callable[[Sequence[Any]], Sequence[Any]]


def bulk_insert(
    session: Session,
    table: Table,
    rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
    columns: Sequence[str] | None = None,
) -> int:
    """Insert `rows` into `table`; returns how many.

    Rows are dicts with the same keys, or, if `columns` names the columns, tuples in that
    order (cheaper to build by the hundred thousand).
    """
    connection = session.connection()
    dialect = connection.dialect
    done = 0
    statement = None
    for chunk in batched(rows, CHUNK):
        if statement is None:
            keys = list(columns) if columns is not None else list(chunk[0])
            missing = [
                c.name
                for c in table.columns
                if c.name not in keys and c.default is not None and c.server_default is None
            ]
            if missing:
                # A default would have to run per row: the caller must give the value.
                raise ValueError(f"{table.name}: rows lack columns {', '.join(missing)}")
            # Exactly the given columns: the database fills the others (server defaults).
            compiled = insert(sql_table(table.name, *(sql_column(key) for key in keys))).compile(
                dialect=dialect
            )
            names = list(compiled.positiontup) if compiled.positional else keys
            positions = [keys.index(name) for name in names]
            converters = [_converter(table.c[name].type, dialect) for name in names]
            statement = str(compiled)
        if columns is None:
            by_key = [list(map(itemgetter(key), chunk)) for key in keys]
        else:
            # Transposed in C: one tuple of values per column.
            by_key = list(zip(*chunk, strict=True))
        values = [
            by_key[i] if convert is None else convert(by_key[i])
            for i, convert in zip(positions, converters, strict=True)
        ]
        params = list(zip(*values, strict=True))
        if dialect.name == "postgresql":
            _copy(connection, table, names, params)
        else:
            connection.exec_driver_sql(statement, params)
        done += len(chunk)
    return done


def _copy(connection: Connection, table: Table, names: list[str], rows: list[tuple]) -> None:
    """PostgreSQL's COPY: several times faster than INSERT for many rows (psycopg 3)."""
    columns = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _converter(column_type: TypeEngine, dialect: Dialect) -> ColumnConverter | None:
    """What turns one column's values into what the driver takes (None: they are already)."""
    process = column_type._cached_bind_processor(dialect)
    if process is None:
        return None
    if isinstance(column_type, Uuid) and column_type.as_uuid:
        # Without a native UUID type the processor stores the 32 hex digits: the same
        # without a Python call per id (a first import converts millions).
        return _uuid_hex
    return _processed(process)


def _uuid_hex(values: Sequence[Any]) -> list[Any]:
    # What UUID.hex returns, without a call to that property per value.
    return [None if value is None else f"{value.int:032x}" for value in values]


def _processed(process: Callable[[Any], Any]) -> ColumnConverter:
    def convert(values: Sequence[Any]) -> Sequence[Any]:
        first = values[0]
        # An import stamps every row with the same time and source: convert that value once.
        if values[-1] is first and values.count(first) == len(values):
            return [process(first)] * len(values)
        return list(map(process, values))

    return convert


def batched(rows: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def chunks(items: list, size: int = 5000) -> Iterator[list]:
    """`items` in slices small enough for an IN (...) list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
