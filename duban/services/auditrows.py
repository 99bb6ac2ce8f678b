"""The rows an action adds or changes, hashed into its audit event (config/audit.toml says which).

A handling report's text, a review's decision, a callback's result… live in their own tables.
Each row the action writes is named in its event (`rows`: table, key, digest of every column but
the id and the redacted twins), so editing, deleting or slipping in such a row breaks what the
event, under its MAC, says. The digest of a row changed later (an extension decided, a callback
task done) is carried again by the event of the action that changed it; the last one counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, SQLModel

from duban.errors import ConfigError
from duban.services.unitofwork import work_of


@dataclass(frozen=True)
class Covered:
    """One covered table: how its rows are named and tied to a case."""

    table: Table
    case_column: str  # "" when rows are reached only through a reference
    key: tuple[str, ...]  # ("id",) or a natural key
    columns: tuple[str, ...]  # hashed, in this order
    event_optional: dict[str, frozenset[str]]
    # Columns added after rows existed, with the value those rows hold ("" for NULL or empty):
    # hashed by name only when they hold something else, so older rows keep their digests.
    added: dict[str, str] = field(default_factory=dict)

    def key_of(self, values: Mapping[str, Any], row_id: int | None) -> int | str:
        if self.key == ("id",):
            assert row_id is not None, f"a {self.table.name} row is named by its id"
            return int(row_id)
        return "/".join(str(values[name]) for name in self.key)

    def needs_event(self, values: Mapping[str, Any]) -> bool:
        return not any(str(values.get(col)) in allowed for col, allowed in self.event_optional.items())


def _canon(value: Any) -> Any:
    if isinstance(value, dt.date):  # a datetime is a date too: one test for the common case
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).isoformat()
        return value.isoformat()
    return value


_ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_quote = json.encoder.encode_basestring  # how _ROW_JSON quotes a str
_HASHES: dict[str, Any] = {}  # an empty hash object per algorithm, copied for each digest


def row_body(covered: Covered, values: Mapping[str, Any]) -> list[Any]:
    """What a row's digest is taken over: its covered columns in order; a column added later
    (`Covered.added`) as a [name, value] pair after them, and only when it holds a value the
    rows from before it could not."""
    if not covered.added:
        return [_canon(values.get(name)) for name in covered.columns]
    body: list[Any] = [_canon(values.get(name)) for name in covered.columns if name not in covered.added]
    for name, before in covered.added.items():
        value = values.get(name)
        if not (value == before or (before == "" and value is None)):
            body.append([name, _canon(value)])
    return body


def row_digest(covered: Covered, values: Mapping[str, Any], alg: str) -> str:
    """The digest of a row's covered columns, as the event that wrote it records it."""
    return _digest(covered, _ROW_JSON.encode(row_body(covered, values)), alg)


def _digest(covered: Covered, body: str, alg: str) -> str:
    empty = _HASHES.get(alg)
    if empty is None:
        empty = _HASHES[alg] = hashlib.new(alg)
    h = empty.copy()
    h.update(f"{covered.table.name}\0{body}".encode())
    return h.hexdigest()[:32]  # type: ignore[no-any-return]


def _item(value: Any) -> str:
    """One value's JSON text as `_ROW_JSON` writes it inside an array (ids and strings at once)."""
    kind = type(value)
    if kind is str:
        return _quote(value)  # type: ignore[no-any-return]
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return _ROW_JSON.encode(_canon(value))


def row_parts(table: str, values: Mapping[str, Any], later: Collection[str]) -> list[str | None]:
    """Each covered column's JSON text as the row's digest takes it, None for those in `later`
    (the importer's helper has all but the ids and the number the writer gives; `digested_parts`
    completes them). A JSON array is its items' texts joined by commas, so the bytes are
    `row_digest`'s. Only for a table without `added` columns."""
    covered = covered_tables()[table]
    assert not covered.added, f"{table} has columns added later"
    return [None if name in later else _item(values.get(name)) for name in covered.columns]


def digested_parts(table: str, parts: list[str | None], values: Mapping[str, Any],
                   alg: str) -> Digested:
    """`digested` from `row_parts`, the missing ones taken from `values`."""
    covered = covered_tables()[table]
    body = ",".join([_item(values.get(name)) if part is None else part
                     for name, part in zip(covered.columns, parts, strict=True)])
    row = Digested(values)
    row.alg, row.digest = alg, _digest(covered, f"[{body}]", alg)
    return row


class Digested(dict[str, Any]):
    """A row's values with their digest under `alg` taken already (`digested`): the importer's
    helper process takes it, and the event that names the row uses it as it is."""

    __slots__ = ("alg", "digest")
    alg: str
    digest: str


def digested(table: str, values: Mapping[str, Any], alg: str) -> Digested:
    """The values of a row of a covered table with their digest (`row_digest`)."""
    row = Digested(values)
    row.alg, row.digest = alg, row_digest(covered_tables()[table], row, alg)
    return row


def row_key(table: str, key: int | str, case_id: int) -> tuple[str, str]:
    """How verify finds a covered row: by id, or by its natural key within its case (two cases
    each have their own "h2/remind" ladder step)."""
    return (table, str(key)) if isinstance(key, int) else (table, f"{case_id}:{key}")


@lru_cache(maxsize=1)
def covered_tables() -> dict[str, Covered]:
    source = "duban/config/audit.toml"
    doc = tomllib.loads((resources.files("duban.config") / "audit.toml").read_text(encoding="utf-8"))
    tables = SQLModel.metadata.tables
    found: dict[str, Covered] = {}
    for name, spec in doc.get("tables", {}).items():
        if name not in tables:
            raise ConfigError(source=source, key=f"tables.{name}", message="no such table (无此表)")
        table = tables[name]
        key = spec.get("key", "id")
        key = (key,) if isinstance(key, str) else tuple(key)
        columns = tuple(spec.get("columns") or [
            c.name for c in table.columns if c.name != "id" and not c.name.endswith("_redacted")])
        for column in (*key, *columns, *([spec["case"]] if spec.get("case") else [])):
            if column not in table.columns:
                raise ConfigError(source=source, key=f"tables.{name}",
                                  message=f"{table.name} has no column {column!r} (无此列)")
        optional = {col: frozenset(str(v) for v in values)
                    for col, values in spec.get("event_optional", {}).items()}
        added = {col: str(before) for col, before in spec.get("added", {}).items()}
        for column in added:
            if column not in columns:
                raise ConfigError(source=source, key=f"tables.{name}.added",
                                  message=f"{column!r} is not a covered column (非所覆盖的列)")
        found[name] = Covered(table, spec.get("case", ""), key, columns, optional, added)
    return found


def cover(session: Session, model_or_table: type[SQLModel] | str, values: Mapping[str, Any],
          row_id: int | None = None) -> None:
    """Have the next audit event of this transaction name this row as it is now.

    Called for every row an action inserts (persist.insert_row does it) or changes by the ORM;
    the event takes what is pending when it is written.
    """
    name = model_or_table if isinstance(model_or_table, str) else \
        model_or_table.__table__.name  # type: ignore[attr-defined]
    covered = covered_tables().get(name)
    if covered is None:
        return
    work_of(session).rows.append((covered, values if type(values) is Digested else dict(values),
                                  row_id))


def cover_instance(session: Session, row: SQLModel) -> None:
    """`cover` for a row changed through the ORM (the extension decided, the task done)."""
    cover(session, type(row), row.model_dump(), getattr(row, "id", None))


def take(session: Session, case_id: int, alg: str,
         also: Iterable[tuple[Covered, Mapping[str, Any], int | None]] = ()) -> list[list[Any]]:
    """The pending rows of this case (and those tied to no case yet) as the event's `rows`."""
    work = work_of(session)
    pending = work.rows
    mine: list[tuple[Covered, Mapping[str, Any], int | None]] = []
    rest: list[tuple[Covered, Mapping[str, Any], int | None]] = []
    for item in [*pending, *also]:
        covered, values, _ = item
        tied = values.get(covered.case_column) if covered.case_column and covered.case_column != "id" \
            else None
        (rest if tied is not None and tied != case_id else mine).append(item)
    if pending:
        work.rows = rest
    seen: dict[tuple[str, int | str], list[Any]] = {}
    for covered, values, row_id in mine:
        key = covered.key_of(values, row_id)
        digest = values.digest if type(values) is Digested and values.alg == alg else \
            row_digest(covered, values, alg)
        seen[covered.table.name, key] = [covered.table.name, key, digest]
    return list(seen.values())
