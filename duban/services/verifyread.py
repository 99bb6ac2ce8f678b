"""Reading cases, events and covered rows for verify: the driver's rows, in canonical text.

Verify reads every event of every case, so the cost per row decides how long it takes. Rows come
from the DBAPI cursor of the connection (SQLAlchemy's row objects and type processing cost
several times what the driver does), and each value the MACs and digests cover is turned into
the text they were computed over (times in UTC ISO form, dates ISO, an event's `data` as
canonical JSON) here, once; a value in SQLite's own time format is converted as text.

A value is converted exactly as SQLAlchemy's type would read it and duban.services.audit /
auditrows would write it; only the storage format SQLAlchemy itself writes takes the short way,
anything else goes through the type, so no other spelling of a time can pass for the one sealed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Column, Date, DateTime, Table
from sqlalchemy.engine import Connection, Dialect

from duban.models import AuditEvent, Case
from duban.models.base import UTCDateTime
from duban.services.audit import FACT_FIELDS, canonical_data, utc_iso
from duban.services.auditkeys import KeyRing
from duban.services.auditrows import Covered, covered_tables, row_key
from duban.services.chaincheck import CASE_ID, ROWS, Event, Macs, RowKey

Convert = Callable[[Any], Any]

_CASES: Table = Case.__table__  # type: ignore[attr-defined]
_EVENTS: Table = AuditEvent.__table__  # type: ignore[attr-defined]
CASE_COLUMNS = ["id", *sorted({"number", "audit_seq", "audit_hash", *FACT_FIELDS,
                               *covered_tables()["cases"].columns})]
# In the order of chaincheck.Event.
EVENT_COLUMNS = list(Event._fields)


def _unreadable(value: Any) -> str:
    # Not the text of any time or JSON value: whatever covered it no longer matches.
    return f"(unreadable: {value!r})"


def _processor(column: Column[Any], dialect: Dialect) -> Convert | None:
    return column.type.dialect_impl(dialect).result_processor(dialect, None)  # type: ignore[no-any-return]


def _time_reader(column: Column[Any], dialect: Dialect) -> Convert:
    """A stored time → the text it is sealed as (utc_iso)."""
    process = _processor(column, dialect)

    def slow(value: Any) -> Any:
        if value is None:
            return None
        try:
            return utc_iso(process(value) if process else value)
        except (TypeError, ValueError, AttributeError):
            return _unreadable(value)

    if not (isinstance(column.type, UTCDateTime) and dialect.name == "sqlite"):
        return slow

    def sqlite_text(value: Any) -> Any:
        # "YYYY-MM-DD HH:MM:SS.ffffff", as SQLAlchemy writes a time to SQLite (UTC, naive).
        if type(value) is str and len(value) == 26 and value[10] == " " and value[19] == ".":
            micro = value[20:]
            return f"{value[:10]}T{value[11:19]}{'' if micro == '000000' else '.' + micro}+00:00"
        return slow(value)

    return sqlite_text


def _date_reader(column: Column[Any], dialect: Dialect) -> Convert:
    process = _processor(column, dialect)

    def read(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-" \
                and value.isascii():  # "YYYY-MM-DD", as SQLAlchemy writes a date to SQLite
            return value
        try:
            return (process(value) if process else value).isoformat()
        except (TypeError, ValueError, AttributeError):
            return _unreadable(value)

    return read


def _data_reader(process: Convert | None) -> Convert:
    """An event's `data` → its canonical JSON; the same stored text is converted once."""
    seen: dict[Any, str] = {}

    def read(value: Any) -> str:
        if type(value) is str:
            known = seen.get(value)
            if known is not None:
                return known
        try:
            text = canonical_data(process(value) if process else value)
        except (TypeError, ValueError):
            text = _unreadable(value)
        if type(value) is str:
            if len(seen) > 50_000:
                seen.clear()
            seen[value] = text
        return text

    return read


def reader_for(column: Column[Any], dialect: Dialect) -> Convert | None:
    """How a column's stored value becomes what the checks compare (None: as the driver gives it)."""
    if isinstance(column.type, DateTime | UTCDateTime):
        return _time_reader(column, dialect)
    if isinstance(column.type, Date):
        return _date_reader(column, dialect)
    return _processor(column, dialect)


class _Rows:
    """A table's chosen columns, read as dicts with their values converted."""

    def __init__(self, table: Table, names: Sequence[str], dialect: Dialect) -> None:
        self.table, self.names = table, list(names)
        quote = dialect.identifier_preparer.quote
        self.select = f"SELECT {', '.join(quote(n) for n in self.names)} FROM {quote(table.name)}"
        self.convert = [(name, conv) for name in self.names
                        if (conv := reader_for(table.c[name], dialect)) is not None]

    def dicts(self, raw: list[Sequence[Any]]) -> list[dict[str, Any]]:
        names, convert = self.names, self.convert
        found = []
        for values in raw:
            row = dict(zip(names, values, strict=True))
            for name, conv in convert:
                row[name] = conv(row[name])
            found.append(row)
        return found


def _needed(covered: Covered) -> list[str]:
    """The columns the checks read: the id, what ties and names a row, what is digested."""
    wanted = {"id", covered.case_column, *covered.key, *covered.columns, *covered.added,
              *covered.event_optional}
    return [c.name for c in covered.table.columns if c.name in wanted]


def _where(column: str, lo: int, hi: int | None, ids: list[int] | None) -> str:
    """Ids inlined as integers (int() on each: nothing else can reach the text)."""
    if ids is not None:
        return f"{column} IN ({', '.join(str(int(i)) for i in ids)})"
    return f"{column} > {int(lo)}" + (f" AND {column} <= {int(hi)}" if hi is not None else "")


class Reader:
    """The rows of a chunk of case ids (lo, hi] or of the given ids, on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect
        self._quote = dialect.identifier_preparer.quote
        self._cases = _Rows(_CASES, CASE_COLUMNS, dialect)
        quote = self._quote
        columns = [quote(n) for n in EVENT_COLUMNS]
        if dialect.name == "postgresql":
            # A json column's text as stored, which psycopg would parse into a new dict for each
            # event (and json.loads is what SQLAlchemy has it parse with): the same text, one parse.
            columns[-1] = f"CAST({columns[-1]} AS TEXT)"
            self._data = _data_reader(json.loads)
        else:
            self._data = _data_reader(_processor(_EVENTS.c.data, dialect))
        self._events_sql = f"SELECT {', '.join(columns)} FROM {quote(_EVENTS.name)}"
        self._at = reader_for(_EVENTS.c.at, dialect)
        self._covered = {name: _Rows(c.table, _needed(c), dialect)
                         for name, c in covered_tables().items() if name != "cases"}
        # Tables whose rows are reached only through an event's reference.
        self._by_reference = [name for name, c in covered_tables().items() if not c.case_column]

    def _fetch(self, sql: str) -> list[Sequence[Any]]:
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql)
            return cast("list[Sequence[Any]]", cursor.fetchall())
        finally:
            cursor.close()

    def cases(self, lo: int, hi: int | None, ids: list[int] | None) -> dict[int, dict[str, Any]]:
        raw = self._fetch(f"{self._cases.select} WHERE {_where('id', lo, hi, ids)}")
        return {row["id"]: row for row in self._cases.dicts(raw)}

    def events(self, lo: int, hi: int | None, ids: list[int] | None) -> dict[int, list[Sequence[Any]]]:
        """The events by case, each a tuple in chaincheck.Event order as the driver gives it."""
        found: dict[int, list[Sequence[Any]]] = {}
        order = "ORDER BY case_id, seq, id"
        for ev in self._fetch(f"{self._events_sql} WHERE {_where('case_id', lo, hi, ids)} {order}"):
            evs = found.get(ev[CASE_ID])
            if evs is None:
                found[ev[CASE_ID]] = [ev]
            else:
                evs.append(ev)
        return found

    def macs(self, keys: KeyRing) -> Macs:
        """The MACs, with this database's way of storing `at` and `data`."""
        at = self._at
        assert at is not None
        return Macs(keys, at=at, data=self._data)

    def rows(self, lo: int, hi: int | None, ids: list[int] | None, events: dict[int, list[Sequence[Any]]]
             ) -> tuple[dict[RowKey, dict[str, Any]], dict[int, set[RowKey]]]:
        """The covered rows of the chunk's cases, and those its events name; and which are whose."""
        rows: dict[RowKey, dict[str, Any]] = {}
        own: dict[int, set[RowKey]] = {}
        covered = covered_tables()
        for name, table in self._covered.items():
            spec = covered[name]
            if not spec.case_column:
                continue
            quoted = self._quote(spec.case_column)
            for row in table.dicts(self._fetch(f"{table.select} WHERE {_where(quoted, lo, hi, ids)}")):
                key = row_key(name, spec.key_of(row, row.get("id")), row[spec.case_column])
                rows[key] = row
                own.setdefault(row[spec.case_column], set()).add(key)
        wanted = self._referenced(events)
        for name, keys in wanted.items():
            table, missing = self._covered[name], sorted(keys)
            for i in range(0, len(missing), 500):
                part = missing[i:i + 500]
                for row in table.dicts(self._fetch(f"{table.select} WHERE {_where('id', 0, None, part)}")):
                    rows[name, str(row["id"])] = row
        return rows, own

    def _referenced(self, events: dict[int, list[Sequence[Any]]]) -> dict[str, set[int]]:
        """The ids of rows reached only by reference that the events name."""
        wanted: dict[str, set[int]] = {}
        marks = [(name, f'"{name}"') for name in self._by_reference]
        for evs in events.values():
            for ev in evs:
                text = ev[ROWS]
                if not text or type(text) is not str or not any(mark in text for _, mark in marks):
                    continue  # an event that could name one holds its quoted table name
                try:
                    refs = json.loads(text)
                except ValueError:
                    continue  # not what was sealed: the event itself is named
                for ref in refs if isinstance(refs, list) else ():
                    if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[1], int) \
                            and ref[0] in self._by_reference:
                        wanted.setdefault(ref[0], set()).add(ref[1])
        return wanted
