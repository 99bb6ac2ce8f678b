"""Search: the text index of the cases and the filters people save.

`case_search` holds one row per text SOURCE, each naming its case: the case's own row (number,
title, summary, the complainant's name and phone) and one row per handling report, review and
callback. Each row has two documents: `open_text` (the number and the redacted twins) that anyone
in scope may search, and `raw_text` (the raw texts, the name and phone) that only a reader allowed
to see identity searches (duban.services.search); a case matches when any of its rows does. A row
per source keeps every write O(1) in the case's history: a new report inserts one small row, a
rewritten text rewrites its row, a complainant's new phone rewrites only their cases' own rows.

It is derived data, kept current by triggers on the rows it reads, so every write path (services,
imports, re-redaction) keeps it in step in the same transaction. SQLite keeps it in an FTS5 table
with the trigram tokenizer whose rowid says whose row it is (the case id in the high 32 bits, then
the source's kind and id); PostgreSQL in a plain table keyed (case_id, kind, source_id) with
pg_trgm GIN indexes. It is not in the models' metadata (an FTS5 table cannot be): `install`
creates it after `create_all`, and migration 0026 calls the same function.

Queries of one or two characters (a trigram cannot answer them) have an index of their own: each
document's unigrams and bigrams (duban.grams). SQLite: a contentless FTS5 table `case_search_grams`
beside the trigram one (same rowids), filled by the same triggers through the SQL function
`duban_grams` (registered by duban.db on every connection); its `raw_grams` hold only the raw
document's grams its row's redacted twin lacks (it answers "either document", never "the raw one"
alone). PostgreSQL: GIN indexes over the expression `case_search_grams(document)`.

A batch of new cases (the ledger import) writes its cases with the per-row trigger of a new case
skipped and then their index rows by one INSERT … SELECT (SQLite: and one for their grams) in the
same transaction (`new_cases_indexed`): the skip is that transaction's alone (PostgreSQL: a setting
local to it; SQLite: a flag of the connection, cleared on leaving and on its return to the pool).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint, event, text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from duban.db import SEARCH_DEFERRED
from duban.grams import SQL_FUNCTION
from duban.models.base import UTCDateTime

SEARCH_TABLE = "case_search"
GRAMS_TABLE = "case_search_grams"  # SQLite: the FTS5 table; PostgreSQL: the function
# SQLite: a row's rowid is case_id << 32 | kind << 30 | source id (a source id below 2**30), so a
# hit names its case (`rowid >> CASE_SHIFT`) without reading the row, and a case's rows are one
# range of rowids.
CASE_SHIFT = 32
_KIND_SHIFT = 30


class SavedFilter(SQLModel, table=True):
    """A list filter a user named and keeps (its query string, as the list page's address has it)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=40)
    query: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


# (table, column, kind) of the texts added to a case after registration; a column's redacted twin
# is `{column}_redacted`. Kind 0 is the case's own row.
_CHILD_TEXTS = [("handling_reports", "text", 1), ("reviews", "reasons", 2), ("callbacks", "note", 3)]
_CASE_COLUMNS = "number, title, summary, title_redacted, summary_redacted, complainant_id"


def _case_rows(dialect: str, where: str) -> str:
    """SELECT (key, open_text, raw_text) of the own rows of the cases `where` selects."""
    key = f"c.id << {CASE_SHIFT}" if dialect == "sqlite" else "c.id, 0, 0"
    return (f"SELECT {key}, c.number || ' ' || c.title_redacted || ' ' || c.summary_redacted, "
            "c.title || ' ' || c.summary || ' ' || coalesce(p.name, '') || ' ' || coalesce(p.phone, '') "
            f"FROM cases c LEFT JOIN complainants p ON p.id = c.complainant_id WHERE {where}")


def _child_key(case: str, kind: int, source: str) -> str:
    return f"({case} << {CASE_SHIFT}) + ({kind} << {_KIND_SHIFT}) + {source}"


def _child_rows(dialect: str, table: str, column: str, kind: int, where: str) -> str:
    key = _child_key("x.case_id", kind, "x.id") if dialect == "sqlite" else f"x.case_id, {kind}, x.id"
    return (f"SELECT {key}, coalesce(x.{column}_redacted, ''), coalesce(x.{column}, '') "
            f"FROM {table} x WHERE {where}")


def _grams_sql(rowids: str, *, delete: bool) -> str:
    """SQLite: index (or, with `delete`, unindex) the grams of the stored rows `rowids` (a condition
    on rowid) selects. The table keeps no content, so a delete names the tokens it had: the same
    function of the same documents."""
    command = f"{GRAMS_TABLE}, rowid" if delete else "rowid"
    tag = "'delete', " if delete else ""
    return (f"INSERT INTO {GRAMS_TABLE}({command}, open_grams, raw_grams) SELECT {tag}rowid, "
            f"{SQL_FUNCTION}(open_text), {SQL_FUNCTION}(raw_text, open_text) FROM {SEARCH_TABLE} "
            f"WHERE {rowids}")


def _sqlite_write(rows: str, rowids: str, *, fresh: bool) -> str:
    """SQLite trigger body: (re)write the rows `rows` selects, whose rowids `rowids` selects, and
    their grams (`fresh`: a new source, nothing to unindex first)."""
    write = f"INSERT {'' if fresh else 'OR REPLACE '}INTO {SEARCH_TABLE}(rowid, open_text, raw_text) {rows}"
    if fresh:
        return f"{write}; {_grams_sql(rowids, delete=False)}"
    return f"{_grams_sql(rowids, delete=True)}; {write}; {_grams_sql(rowids, delete=False)}"


def _pg_write(rows: str) -> str:
    return (f"INSERT INTO {SEARCH_TABLE}(case_id, kind, source_id, open_text, raw_text) {rows} "
            "ON CONFLICT (case_id, kind, source_id) DO UPDATE SET open_text = EXCLUDED.open_text, "
            "raw_text = EXCLUDED.raw_text")


def _triggers(dialect: str) -> list[tuple[str, str, str]]:
    """(table, event, body) of every trigger: each writes or removes only the rows of the source
    row it fires on (a complainant's: their cases' own rows)."""
    sqlite = dialect == "sqlite"

    def write(rows: str, rowids: str, *, fresh: bool) -> str:
        return _sqlite_write(rows, rowids, fresh=fresh) if sqlite else _pg_write(rows)

    own = f"rowid = NEW.id << {CASE_SHIFT}"
    theirs = f"rowid IN (SELECT c.id << {CASE_SHIFT} FROM cases c WHERE c.complainant_id = NEW.id)"
    case = _case_rows(dialect, "c.id = NEW.id")
    out = [
        ("cases", "INSERT", write(case, own, fresh=True)),
        ("cases", f"UPDATE OF {_CASE_COLUMNS}", write(case, own, fresh=False)),
        ("complainants", "UPDATE OF name, phone",
         write(_case_rows(dialect, "c.complainant_id = NEW.id"), theirs, fresh=False)),
    ]
    for table, column, kind in _CHILD_TEXTS:
        rows = _child_rows(dialect, table, column, kind, "x.id = NEW.id")
        this = f"rowid = {_child_key('NEW.case_id', kind, 'NEW.id')}"
        out += [(table, "INSERT", write(rows, this, fresh=True)),
                (table, f"UPDATE OF {column}, {column}_redacted", write(rows, this, fresh=False))]
        if sqlite:
            gone = f"rowid = {_child_key('OLD.case_id', kind, 'OLD.id')}"
            out.append((table, "DELETE", f"{_grams_sql(gone, delete=True)}; "
                                         f"DELETE FROM {SEARCH_TABLE} WHERE {gone}"))
        else:
            out.append((table, "DELETE", f"DELETE FROM {SEARCH_TABLE} WHERE case_id = OLD.case_id "
                                         f"AND kind = {kind} AND source_id = OLD.id"))
    if sqlite:  # PostgreSQL: the foreign key's ON DELETE CASCADE
        every = f"rowid BETWEEN OLD.id << {CASE_SHIFT} AND (OLD.id << {CASE_SHIFT}) + {(1 << CASE_SHIFT) - 1}"
        out.append(("cases", "DELETE", f"{_grams_sql(every, delete=True)}; "
                                       f"DELETE FROM {SEARCH_TABLE} WHERE {every}"))
    return out


def _trigger_name(i: int) -> str:
    return f"{SEARCH_TABLE}_r{i}"


# PostgreSQL: the setting, local to a transaction, under which a new case's trigger is skipped.
_PG_DEFERRED = "duban.search_deferred"
_DEFERRABLE = ("cases", "INSERT")  # the one trigger `new_cases_indexed` skips


def _unless_deferred(dialect: str) -> str:
    if dialect == "sqlite":
        return f"WHEN NOT {SEARCH_DEFERRED}()"
    return f"WHEN (current_setting('{_PG_DEFERRED}', true) IS DISTINCT FROM 'on')"


def create_triggers(conn: Connection, *, deferrable: bool = True) -> None:
    """The triggers that keep the index in step with its source rows (without `deferrable`, as
    before migration 0029: a new case's trigger cannot be skipped)."""
    dialect = conn.dialect.name
    for i, (table, when, body) in enumerate(_triggers(dialect)):
        name = _trigger_name(i)
        unless = _unless_deferred(dialect) if deferrable and (table, when) == _DEFERRABLE else ""
        if dialect == "sqlite":
            conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {when} ON {table} {unless} "
                              f"BEGIN {body}; END"))
            continue
        conn.execute(text(f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN {body}; RETURN NULL; END $$"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        conn.execute(text(f"CREATE TRIGGER {name} AFTER {when} ON {table} "
                          f"FOR EACH ROW {unless} EXECUTE FUNCTION {name}_fn()"))


def drop_triggers(conn: Connection) -> None:
    """Bulk loads (bench, imports of millions) drop the triggers and `rebuild` once after."""
    for i, (table, _, _) in enumerate(_triggers(conn.dialect.name)):
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(i)}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(i)} ON {table}"))


def is_current(conn: Connection) -> bool:
    """Whether the index has this module's shape, a row per source (migration 0026 or built since)."""
    if conn.dialect.name == "sqlite":
        found = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = :n"
    else:
        found = "SELECT 1 FROM pg_trigger WHERE tgname = :n"
    return conn.execute(text(found), {"n": _trigger_name(0)}).first() is not None


def rebuild(conn: Connection) -> None:
    """Every source's row from scratch, one statement per source table."""
    dialect = conn.dialect.name
    conn.execute(text(f"DELETE FROM {SEARCH_TABLE}"))
    columns = ("rowid, open_text, raw_text" if dialect == "sqlite"
               else "case_id, kind, source_id, open_text, raw_text")
    selects = [_case_rows(dialect, "1 = 1")]
    selects += [_child_rows(dialect, table, column, kind, "1 = 1") for table, column, kind in _CHILD_TEXTS]
    for rows in selects:
        conn.execute(text(f"INSERT INTO {SEARCH_TABLE}({columns}) {rows}"))
    if dialect == "sqlite":
        rebuild_grams(conn)


@contextmanager
def new_cases_indexed(conn: Connection, case_ids: Sequence[int]) -> Iterator[None]:
    """Cases inserted inside are indexed on leaving, all at once: their rows by one INSERT …
    SELECT (SQLite: and their grams by one more) in the same transaction, instead of a trigger
    per case. Only the cases `case_ids` names (a batch's ids, taken before the INSERT) may be
    inserted inside; other tables' triggers fire inside as everywhere.

    The skip cannot outlive the block: PostgreSQL's setting is local to the transaction (and set
    back on leaving), SQLite's flag is the connection's, cleared on leaving however it is left
    and again when the connection goes back to the pool (duban.db). Left by an exception, nothing
    is indexed: the transaction is the caller's to roll back, with the cases.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.connection.info[SEARCH_DEFERRED] = True
    else:
        conn.execute(text("SELECT set_config(:name, 'on', true)"), {"name": _PG_DEFERRED})
    try:
        yield
    finally:
        if sqlite:
            conn.connection.info.pop(SEARCH_DEFERRED, None)
    if not sqlite:
        conn.execute(text("SELECT set_config(:name, 'off', true)"), {"name": _PG_DEFERRED})
    if case_ids:
        _index_new_cases(conn, case_ids)


def _index_new_cases(conn: Connection, case_ids: Sequence[int]) -> None:
    if conn.dialect.name == "sqlite":
        ids = {"ids": json.dumps(list(case_ids))}
        rows = _case_rows("sqlite", "c.id IN (SELECT value FROM json_each(:ids))")
        conn.execute(text(f"INSERT INTO {SEARCH_TABLE}(rowid, open_text, raw_text) {rows}"), ids)
        conn.execute(text(_grams_sql(f"rowid IN (SELECT value << {CASE_SHIFT} FROM json_each(:ids))",
                                     delete=False)), ids)
        return
    rows = _case_rows("postgresql", "c.id = ANY(CAST(:ids AS integer[]))")
    conn.execute(text(f"INSERT INTO {SEARCH_TABLE}(case_id, kind, source_id, open_text, raw_text) {rows}"),
                 {"ids": list(case_ids)})


def rebuild_grams(conn: Connection) -> None:
    """SQLite: the grams' index of every stored row from scratch."""
    conn.execute(text(f"INSERT INTO {GRAMS_TABLE}({GRAMS_TABLE}) VALUES ('delete-all')"))
    conn.execute(text(f"INSERT INTO {GRAMS_TABLE}(rowid, open_grams, raw_grams) SELECT rowid, "
                      f"{SQL_FUNCTION}(open_text), {SQL_FUNCTION}(raw_text, open_text) FROM {SEARCH_TABLE}"))


# PostgreSQL: the unigrams and bigrams of a document, lower-cased as ILIKE compares. Repeats are
# left in: a GIN index keeps each key once, and `@>` does not count. A loop over the characters:
# a set-returning SQL statement costs ten times as much per document, on every write of a row.
# Its cost is declared, about that of reading a few pages, so that the planner looks a word up in
# the index rather than computing every row's grams to test it.
_PG_GRAMS = (f"CREATE OR REPLACE FUNCTION {GRAMS_TABLE}(t text) RETURNS text[] LANGUAGE plpgsql "
             "IMMUTABLE STRICT PARALLEL SAFE COST 1000 AS $$ DECLARE "
             "one text[] := string_to_array(lower(t), NULL); out text[] := one; BEGIN "
             "FOR i IN 1 .. cardinality(one) - 1 LOOP out := out || (one[i] || one[i + 1]); END LOOP; "
             "RETURN out; END $$")


def create_indexes(conn: Connection) -> None:
    """PostgreSQL: the GIN indexes of the documents, trigrams and grams (a bulk load drops them
    first and builds them once after, `drop_indexes`)."""
    conn.execute(text(_PG_GRAMS))
    for column in ("open_text", "raw_text"):
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_{column} ON {SEARCH_TABLE} "
                          f"USING gin ({column} gin_trgm_ops)"))
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_{column}_grams ON {SEARCH_TABLE} "
                          f"USING gin ({GRAMS_TABLE}({column}))"))


def drop_indexes(conn: Connection) -> None:
    for column in ("open_text", "raw_text"):
        for name in (f"ix_{SEARCH_TABLE}_{column}", f"ix_{SEARCH_TABLE}_{column}_grams"):
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def install(conn: Connection) -> None:
    """The index table, its trigram indexes and its triggers (idempotent)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
                          "open_text, raw_text, tokenize = 'trigram')"))
        # Rowids and columns only: a gram answers "does this row contain it", no positions.
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {GRAMS_TABLE} USING fts5("
                          "open_grams, raw_grams, tokenize = 'ascii', content = '', detail = 'column')"))
    else:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
                          "case_id integer NOT NULL REFERENCES cases(id) ON DELETE CASCADE, "
                          "kind smallint NOT NULL, source_id integer NOT NULL, "
                          "open_text text NOT NULL DEFAULT '', raw_text text NOT NULL DEFAULT '', "
                          "PRIMARY KEY (case_id, kind, source_id))"))
        create_indexes(conn)
    create_triggers(conn)


def uninstall(conn: Connection) -> None:
    drop_triggers(conn)
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS {GRAMS_TABLE}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SEARCH_TABLE}"))
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP FUNCTION IF EXISTS {GRAMS_TABLE}(text)"))
        for i in range(len(_triggers("postgresql"))):
            conn.execute(text(f"DROP FUNCTION IF EXISTS {_trigger_name(i)}_fn()"))


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(target: Any, connection: Connection, **kw: Any) -> None:
    if "cases" in target.tables and connection.dialect.name in ("sqlite", "postgresql"):
        install(connection)


@event.listens_for(SQLModel.metadata, "before_drop")
def _before_drop(target: Any, connection: Connection, **kw: Any) -> None:
    if "cases" in target.tables and connection.dialect.name in ("sqlite", "postgresql"):
        uninstall(connection)
