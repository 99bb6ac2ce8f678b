"""Statements of the write path, compiled once per dialect and handed straight to the driver.

An action runs about six small statements. Through SQLAlchemy's execution each one costs several
times what the driver spends on it (cache keys, execution context, result objects); here a Core
statement is compiled once per dialect into its SQL text, the order of its parameters and the
conversions SQLAlchemy would apply to them and to the columns it returns, and each execution is
one call on the DBAPI connection of the caller's transaction.

The statements stay SQLAlchemy Core (one place owns the SQL, dialects are SQLAlchemy's). While
anything listens to the engine's statement events (tests that record every statement), the
statement goes through `exec_driver_sql` instead, so it is seen exactly as sent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, exc, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

from duban.db import GENERIC_PLANS, begins_with_statement, execute_opening

Processor = Callable[[Any], Any] | None
# The execution option of a transaction's connection naming its plan_cache_mode (db.GENERIC_PLANS),
# set by services/writetx.py for the transactions that ask for it.
PLANS_OPTION = "duban_plan_cache_mode"
_MISSING = object()


class _Compiled:
    """One statement's text and conversions for one dialect."""

    __slots__ = ("sql", "positional", "binds", "names", "get", "convert", "has_fixed", "columns",
                 "results")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("IN lists are expanded per execution: write them as = … OR = …")
        self.positional = bool(compiled.positional)
        binds = compiled.binds
        names = tuple(compiled.positiontup or ()) if self.positional else tuple(binds)
        # (name, conversion, value fixed in the statement) per parameter, in the driver's order.
        self.binds: tuple[tuple[str, Processor, Any], ...] = tuple(
            (name, binds[name].type.dialect_impl(dialect).bind_processor(dialect),
             binds[name].effective_value if binds[name].value is not None
             or binds[name].callable is not None else _MISSING)
            for name in names)
        self.names = names
        self.has_fixed = any(fixed is not _MISSING for _, _, fixed in self.binds)
        # The common case at C speed: every value given, a few of them converted.
        self.get = operator.itemgetter(*names) if len(names) > 1 else \
            (lambda values: (values[names[0]],)) if names else (lambda values: ())
        self.convert = [(i, process) for i, (_, process, _) in enumerate(self.binds) if process]
        returned = list(_returned_columns(statement))
        self.columns: tuple[str, ...] = tuple(name for name, _ in returned)
        self.results: tuple[Processor, ...] = tuple(
            type_.dialect_impl(dialect).result_processor(dialect, None) for _, type_ in returned)

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.has_fixed:
            return self._params_with_fixed(values)
        try:
            got = self.get(values)
        except KeyError as missing:
            raise KeyError(f"statement parameter {missing} not given: {self.sql[:80]}") from None
        if self.convert:
            got = list(got)
            for i, process in self.convert:
                got[i] = process(got[i])
        return tuple(got) if self.positional else dict(zip(self.names, got, strict=True))

    def _params_with_fixed(self, values: Mapping[str, Any]) -> Any:
        converted = []
        for name, process, fixed in self.binds:
            value = values.get(name, fixed)
            if value is _MISSING:
                raise KeyError(f"statement parameter {name!r} not given: {self.sql[:80]}")
            converted.append(value if process is None else process(value))
        if self.positional:
            return tuple(converted)
        return dict(zip(self.names, converted, strict=True))

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {name: value if process is None or value is None else process(value)
                for name, process, value in zip(self.columns, self.results, raw, strict=True)}


def _returned_columns(statement: ClauseElement) -> Iterable[tuple[str, Any]]:
    """(name, type) of what the statement returns: a SELECT's columns or a RETURNING clause."""
    for column in getattr(statement, "exported_columns", ()):
        yield column.key, column.type


class Prepared:
    """A Core statement run at driver level inside a session's (or connection's) transaction."""

    __slots__ = ("statement", "_by_dialect")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect)
        return compiled

    def run(self, where: Session | Connection, values: Mapping[str, Any] | None = None) -> Any:
        """Execute once; the DBAPI cursor (or SQLAlchemy's result while statements are observed)."""
        conn = _connection(where)
        return self._run(conn, self._for(conn.dialect), values)

    def _run(self, conn: Connection, compiled: _Compiled, values: Mapping[str, Any] | None) -> Any:
        params = compiled.params(values or {})
        if conn.dispatch.before_cursor_execute:
            return conn.exec_driver_sql(compiled.sql, params)
        driver = conn.connection.driver_connection
        try:
            if begins_with_statement(driver):  # the transaction's first statement, PostgreSQL
                return execute_opening(driver, compiled.sql, params,
                                       plans=conn.get_execution_options().get(PLANS_OPTION))
            return driver.execute(compiled.sql, params)  # type: ignore[union-attr]
        except conn.dialect.loaded_dbapi.Error as error:
            raise _wrapped(conn, compiled.sql, error, driver) from error

    def run_many(self, where: Session | Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """executemany; the number of rows the statement touched."""
        conn = _connection(where)
        compiled = self._for(conn.dialect)
        params = [compiled.params(values) for values in rows]
        if conn.dispatch.before_cursor_execute:
            return int(conn.exec_driver_sql(compiled.sql, params).rowcount)
        driver = conn.connection.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.sql, params)
        except conn.dialect.loaded_dbapi.Error as error:
            raise _wrapped(conn, compiled.sql, error, driver) from error
        return int(cursor.rowcount)

    def rows(self, where: Session | Connection, values: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        """The rows returned, as dicts of converted values."""
        conn = _connection(where)
        compiled = self._for(conn.dialect)
        return [compiled.row(raw) for raw in self._run(conn, compiled, values).fetchall()]

    def scalar(self, where: Session | Connection, values: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, converted; None when no row."""
        conn = _connection(where)
        compiled = self._for(conn.dialect)
        raw = self._run(conn, compiled, values).fetchone()
        if raw is None:
            return None
        process = compiled.results[0]
        return raw[0] if process is None or raw[0] is None else process(raw[0])

    def rowcount(self, where: Session | Connection, values: Mapping[str, Any] | None = None) -> int:
        return int(self.run(where, values).rowcount)


def _wrapped(conn: Connection, sql: str, error: Exception, driver: Any) -> Exception:
    """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError…, parameters
    hidden as the engine hides them), the connection dropped from the pool if the server is gone:
    callers handle one family of errors whichever way a statement ran."""
    if conn.dialect.is_disconnect(error, driver, None):  # type: ignore[arg-type]
        conn.invalidate(error)
    return exc.DBAPIError.instance(sql, None, error, conn.dialect.loaded_dbapi.Error,
                                   hide_parameters=True, dialect=conn.dialect)


def keyed(session: Session) -> Session:
    """`session`, whose statements all find their rows by a key (one case's answer or page): on
    PostgreSQL its transaction may reuse kept statements' plans (`db.GENERIC_PLANS`, sent with its
    BEGIN), as a keyed write transaction does. Planning each anew cost the server more than
    running them: a case page's statement of its collections, 1.3 ms of CPU planned for its
    values, 0.4 ms on a kept plan. Before the session's first statement."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={PLANS_OPTION: GENERIC_PLANS})
    return session


def _connection(where: Session | Connection) -> Connection:
    """The transaction's connection, asked of the session once (kept on its unit of work)."""
    if isinstance(where, Connection):
        if not where.in_transaction():
            where.begin()  # as SQLAlchemy's own execute would: the driver's statements are in it
        return where
    work = getattr(where, "work", None)
    if work is None:  # a plain session, reading
        return where.connection()
    conn = work.connection
    if conn is None or conn.closed or not conn.in_transaction():
        conn = work.connection = where.connection()
    return conn  # type: ignore[no-any-return]


def inserting(table: Table, columns: Iterable[str], *, returning_id: bool = True) -> Prepared:
    """INSERT of these columns (parameters named as the columns), returning the new id."""
    statement = insert(table).values({name: bindparam(name, type_=table.c[name].type)
                                      for name in columns})
    return Prepared(statement.returning(table.c.id) if returning_id else statement)
