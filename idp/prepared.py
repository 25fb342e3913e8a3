"""Prebuilt Core statements run straight on the driver's cursor, for the hottest requests.

A token grant or a login runs three to six small statements. SQLAlchemy compiles each only
once (its compiled cache), but every execution still builds an execution context, a result
with its metadata from the cursor's description (psycopg makes a column object per column for
that), and rows: about as much CPU again as the driver's own work, a fifth of a refresh grant.

`Prepared` keeps SQLAlchemy for what it is good at: the statement is built with Core, compiled
by the dialect once per dialect (and per set of inserted columns), and values go through the
same bind and result processors of the column types as they would in `Connection.execute`.
What it leaves out is the per-execution machinery: the statement runs on the cursor of the
connection's DBAPI connection, in the transaction the connection is in, and rows come back as
tuples. Errors are raised as SQLAlchemy's (IntegrityError, ...), as `execute` would.

Result processors are chosen without the cursor's description (that is what it saves): fine
for every type these statements read (no NUMERIC, whose processor depends on the driver's
type code). Only plain statements are accepted: no expanding IN lists, no defaults computed
in Python (an INSERT gives every value itself), no escaped parameter names. `compile` refuses
anything else, so a statement that would behave differently here fails the first time it runs
(in the tests), not silently. With the engine's `echo` on, the statements are logged as
SQLAlchemy logs its own; cursor events (before_cursor_execute) do not see them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect."""

    sql: str
    # For a positional paramstyle (SQLite's qmark), the parameter names in order; else None.
    order: tuple[str, ...] | None
    defaults: dict[str, Any]  # bound values the statement carries itself (literals, ...)
    binds: dict[str, Callable[[Any], Any]]  # name -> the type's bind processor
    # The result columns that have a processor, by position (most have none).
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    record: type[tuple] | None  # a named tuple of the result columns' keys, if asked for
    returns_rows: bool
    names: frozenset[str]  # every parameter the statement takes

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = {**self.defaults, **values} if self.defaults else values
        binds = self.binds
        try:
            if self.order is not None:
                return tuple(
                    binds[name](merged[name]) if name in binds else merged[name]
                    for name in self.order
                )
            return {
                name: binds[name](merged[name]) if name in binds else merged[name]
                for name in self.names
            }
        except KeyError as missing:  # looked up anyway: no check of its own on every run
            raise KeyError(f"no value for {missing} in {self.sql!r}") from None

    def rows(self, raw_rows: list[Sequence[Any]]) -> list[tuple]:
        if not self.results and self.record is None:
            return [tuple(raw) for raw in raw_rows]
        made = []
        for raw in raw_rows:
            row = list(raw)
            for index, process in self.results:
                # NULL is None whatever the type (every result processor, ours too, maps it so).
                if row[index] is not None:
                    row[index] = process(row[index])
            made.append(tuple(row) if self.record is None else self.record._make(row))
        return made


class PreparedResult:
    """The rows (tuples; named tuples if the statement was prepared `named`) and the row
    count of one execution."""

    def __init__(self, rows: list[tuple], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)

    def all(self) -> list[tuple]:
        return self.rows

    def first(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def one_or_none(self) -> tuple | None:
        if len(self.rows) > 1:
            raise ValueError("more than one row where at most one was expected")
        return self.first()

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class Prepared:
    """One prebuilt statement. `run(connection, values)` executes it in `connection`'s
    transaction. An INSERT without values takes its columns from the keys of `values`.
    `named`: rows are named tuples of the result columns' keys (row.username), else plain
    tuples, which cost less to make."""

    def __init__(self, statement: ClauseElement, *, named: bool = False):
        self.statement = statement
        self.named = named
        self._plans: dict[tuple[str, tuple[str, ...] | None], _Plan] = {}
        self._insert_columns = bool(getattr(statement, "is_insert", False))

    def run(self, connection: Connection, values: dict[str, Any]) -> PreparedResult:
        dialect = connection.dialect
        columns = tuple(sorted(values)) if self._insert_columns else None
        plan = self._plans.get((dialect.name, columns))
        if plan is None:
            plan = self._plans[(dialect.name, columns)] = self._compile(dialect, columns)
        parameters = plan.parameters(values)
        if connection.engine.echo:  # SQLAlchemy's own echo does not see these statements
            connection.engine.logger.info("%s\n[prepared] %r", plan.sql, parameters)
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(plan.sql, parameters)
            rows = plan.rows(cursor.fetchall()) if plan.returns_rows else []
            return PreparedResult(rows, cursor.rowcount)
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, dbapi_connection, cursor)
            if invalidated:
                connection.invalidate(error)
            raise DBAPIError.instance(
                plan.sql,
                parameters,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from error
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _Plan:
        compiled = self.statement.compile(dialect=dialect, column_keys=columns)
        refused = (
            ("expanding parameters", compiled.post_compile_params),
            ("literal parameters", compiled.literal_execute_params),
            ("defaults computed in Python", compiled.insert_prefetch or compiled.update_prefetch),
            ("escaped parameter names", compiled.escaped_bind_names),
        )
        for what, present in refused:
            if present:
                raise ValueError(f"Prepared cannot run a statement with {what}: {self.statement}")
        binds = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds[name] = process
        # A SELECT's columns, or a DML statement's RETURNING (none without it).
        selected = list(self.statement.exported_columns)
        processors = (
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        )
        results = tuple(
            (index, process) for index, process in enumerate(processors) if process is not None
        )
        record = None
        if self.named:
            record = namedtuple("Row", [column.key for column in selected], rename=True)
        # Values the statement carries itself (literals, bindparams given a value).
        defaults = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        return _Plan(
            sql=compiled.string,
            order=tuple(compiled.positiontup) if compiled.positional else None,
            defaults=defaults,
            binds=binds,
            results=results,
            record=record,
            returns_rows=bool(selected),
            names=frozenset(compiled.binds),
        )
