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

from duban import scopekeys
from duban.db import SEARCH_DEFERRED
from duban.grams import INVISIBLE, NARROW, NARROW_FUNCTION, SQL_FUNCTION, WIDE
from duban.models.base import UTCDateTime
from duban.models.case import DEADLINE_COLUMNS
from duban.states.definition import FINISHED_STATES

SEARCH_TABLE = "case_search"
# PostgreSQL: the two documents of a row as one text, for a reader who may search either: one
# GIN index each (trigrams, grams) over it, rather than one over each document (migration 0032).
# Joined by a control character nobody types, so that a word without it is in the joined text
# exactly when it is in one of the documents (duban.services.search compares a word with it with
# each document).
SEAM = "\x1f"
EITHER_TEXT = "(open_text || E'\\x1f' || raw_text)"
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
_CASE_TEXTS = ("number", "title", "summary", "title_redacted", "summary_redacted", "complainant_id")
_CASE_COLUMNS = ", ".join(_CASE_TEXTS)
SCOPE_FUNCTION = "case_search_scope"  # PostgreSQL: a case's keys (duban.scopekeys)
# SQLite: the month (YYYYMM) a case's receipt falls in, in Asia/Shanghai (UTC+8, no summer time),
# of its stored UTC text; `.format(row)`.
_SQLITE_MONTH = "strftime('%Y%m', {0}.received_at, '+8 hours')"


def _case_place(keyed: bool, dated: bool = False, finished: bool = False) -> tuple[str, ...]:
    """The columns whose change may change a case's keys (duban.scopekeys), and so rewrite its
    index rows' keys: its office and unit (its regions), and (`keyed`: migration 0035) its
    category, channel and time of receipt, and (`dated`, with `keyed`: 0043) its deadlines, and
    (`finished`, with both: 0047) its state."""
    dates = DEADLINE_COLUMNS if keyed and dated else ()
    state = ("state",) if keyed and dated and finished else ()
    filters = ("category", "channel", "received_at") if keyed else ()
    return ("office_id", "unit_id", *filters, *dates, *state)


def _undated(row: str) -> str:
    """Whether the case `row` has no deadline (scopekeys.UNDATED): neither a running one nor one
    missed before a raise (duban.deadlines.counted_deadline)."""
    return "(" + " AND ".join(f"{row}.{column} IS NULL" for column in DEADLINE_COLUMNS) + ")"


def _finished(row: str) -> str:
    """Whether the case `row` is finished (scopekeys.FINISHED: closed or not accepted)."""
    return f"({row}.state IN ({', '.join(repr(state.value) for state in FINISHED_STATES)}))"


def _moved(keyed: bool, dated: bool, finished: bool) -> str:
    """Trigger condition: the updated case's keys changed (its deadlines count only when one
    comes or goes: a deadline moved to another day keeps the key, and the rows stay as they are;
    its state only when it crosses into or out of the finished ones)."""
    moved = _changed(_case_place(keyed))
    if not (keyed and dated):
        return moved
    moved += f" OR {_undated('NEW')} <> {_undated('OLD')}"
    return f"{moved} OR {_finished('NEW')} <> {_finished('OLD')}" if finished else moved


def _pg_scope_call(row: str, keyed: bool, dated: bool = False, finished: bool = False) -> str:
    """PostgreSQL: the call of SCOPE_FUNCTION on the case `row` (an alias, or NEW)."""
    more = f", {row}.category, {row}.channel, {row}.received_at" if keyed else ""
    more += f", {_undated(row)}" if keyed and dated else ""
    more += f", {_finished(row)}" if keyed and dated and finished else ""
    return f"{SCOPE_FUNCTION}({row}.office_id, {row}.unit_id{more})"


# Every row of a case (`.format("NEW")` or "OLD"): one range of rowids.
_EVERY_ROW = (f"rowid BETWEEN {{0}}.id << {CASE_SHIFT} "
              f"AND ({{0}}.id << {CASE_SHIFT}) + {(1 << CASE_SHIFT) - 1}")


def _narrowed(dialect: str, document: str, narrowed: bool) -> str:
    """The expression of a document as the index holds it: with `narrowed` (migration 0038), the
    full-width forms of ASCII as half-width (duban.grams.WIDE: ＱＱ as QQ) and without the
    invisible characters pasted inside words (grams.INVISIBLE), as a query is read."""
    if not narrowed:
        return document
    if dialect == "sqlite":
        return f"{NARROW_FUNCTION}({document})"
    narrow = NARROW.replace("'", "''")  # translate() drops what `from` has beyond `to`: INVISIBLE
    return f"translate({document}, '{WIDE}{INVISIBLE}', '{narrow}')"


def _case_rows(dialect: str, where: str, *, scoped: bool, keyed: bool = True,
               narrowed: bool = True, dated: bool = True, finished: bool = True) -> str:
    """SELECT (key, open_text, raw_text[, scope]) of the own rows of the cases `where` selects
    (the scope: PostgreSQL's column; SQLite keeps it in the grams only; `narrowed`: `_narrowed`)."""
    key = f"c.id << {CASE_SHIFT}" if dialect == "sqlite" else "c.id, 0, 0"
    scope = f", {_pg_scope_call('c', keyed, dated, finished)}" if scoped and dialect != "sqlite" else ""
    opened = _narrowed(dialect, "c.number || ' ' || c.title_redacted || ' ' || c.summary_redacted", narrowed)
    raw = _narrowed(dialect, "c.title || ' ' || c.summary || ' ' || coalesce(p.name, '') || ' ' || "
                             "coalesce(p.phone, '')", narrowed)
    return (f"SELECT {key}, {opened}, {raw}{scope} FROM cases c "
            f"LEFT JOIN complainants p ON p.id = c.complainant_id WHERE {where}")


def _child_key(case: str, kind: int, source: str) -> str:
    return f"({case} << {CASE_SHIFT}) + ({kind} << {_KIND_SHIFT}) + {source}"


def _child_rows(dialect: str, table: str, column: str, kind: int, where: str, *, scoped: bool,
                keyed: bool = True, narrowed: bool = True, dated: bool = True, finished: bool = True) -> str:
    key = _child_key("x.case_id", kind, "x.id") if dialect == "sqlite" else f"x.case_id, {kind}, x.id"
    opened, raw = (_narrowed(dialect, f"coalesce(x.{c}, '')", narrowed)
                   for c in (f"{column}_redacted", column))
    texts = f"SELECT {key}, {opened}, {raw}"
    if scoped and dialect != "sqlite":
        return (f"{texts}, {_pg_scope_call('c', keyed, dated, finished)} FROM {table} x "
                f"JOIN cases c ON c.id = x.case_id WHERE {where}")
    return f"{texts} FROM {table} x WHERE {where}"


def _current_scope(keyed: bool = True, dated: bool = True, finished: bool = True) -> str:
    """SQLite: the key tokens of the case of the stored row being (un)indexed, as its case stands
    (`keyed`: every key, `dated` (0043) with whether it has no deadline, `finished` (0047) and
    whether it is finished; without, its regions alone, as before migration 0035)."""
    more = f", c.category, c.channel, {_SQLITE_MONTH.format('c')}" if keyed else ""
    more += f", {_undated('c')}" if keyed and dated else ""
    more += f", {_finished('c')}" if keyed and dated and finished else ""
    return (f"(SELECT {scopekeys.SQL_FUNCTION}(o.code, u.code{more}) FROM cases c "
            "JOIN orgs o ON o.id = c.office_id LEFT JOIN orgs u ON u.id = c.unit_id "
            f"WHERE c.id = {SEARCH_TABLE}.rowid >> {CASE_SHIFT})")


def _old_scope(keyed: bool = True, dated: bool = True, finished: bool = True) -> str:
    """SQLite: the key tokens of a case as it was before an UPDATE or DELETE (OLD)."""
    more = f", OLD.category, OLD.channel, {_SQLITE_MONTH.format('OLD')}" if keyed else ""
    more += f", {_undated('OLD')}" if keyed and dated else ""
    more += f", {_finished('OLD')}" if keyed and dated and finished else ""
    return (f"(SELECT {scopekeys.SQL_FUNCTION}(o.code, (SELECT code FROM orgs WHERE id = OLD.unit_id)"
            f"{more}) FROM orgs o WHERE o.id = OLD.office_id)")


def _grams_sql(rowids: str, *, delete: bool, scope: str | None) -> str:
    """SQLite: index (or, with `delete`, unindex) the grams of the stored rows `rowids` (a condition
    on rowid) selects, with the key tokens `scope` (an expression, `_current_scope`; None: the
    shape before migration 0030, without keys). The table keeps no content, so a delete names the
    tokens it had: the same function of the same documents, and the keys of the case as they were
    when the row was indexed (a case's rows are reindexed whenever its keys change:
    `_sqlite_case_update`)."""
    command = f"{GRAMS_TABLE}, rowid" if delete else "rowid"
    tag = "'delete', " if delete else ""
    columns, value = (", scope", f", {scope}") if scope is not None else ("", "")
    return (f"INSERT INTO {GRAMS_TABLE}({command}, open_grams, raw_grams{columns}) SELECT {tag}rowid, "
            f"{SQL_FUNCTION}(open_text), {SQL_FUNCTION}(raw_text, open_text){value} FROM {SEARCH_TABLE} "
            f"WHERE {rowids}")


def _sqlite_write(rows: str, rowids: str, *, fresh: bool, scoped: bool, keyed: bool, dated: bool,
                  finished: bool) -> str:
    """SQLite trigger body: (re)write the rows `rows` selects, whose rowids `rowids` selects, and
    their grams (`fresh`: a new source, nothing to unindex first)."""
    scope = _current_scope(keyed, dated, finished) if scoped else None
    write = f"INSERT {'' if fresh else 'OR REPLACE '}INTO {SEARCH_TABLE}(rowid, open_text, raw_text) {rows}"
    if fresh:
        return f"{write}; {_grams_sql(rowids, delete=False, scope=scope)}"
    return (f"{_grams_sql(rowids, delete=True, scope=scope)}; {write}; "
            f"{_grams_sql(rowids, delete=False, scope=scope)}")


def _pg_write(rows: str, *, scoped: bool) -> str:
    scope, also = (", scope", ", scope = EXCLUDED.scope") if scoped else ("", "")
    return (f"INSERT INTO {SEARCH_TABLE}(case_id, kind, source_id, open_text, raw_text{scope}) {rows} "
            "ON CONFLICT (case_id, kind, source_id) DO UPDATE SET open_text = EXCLUDED.open_text, "
            f"raw_text = EXCLUDED.raw_text{also}")


def _changed(columns: tuple[str, ...]) -> str:
    """Trigger condition: one of `columns` of the updated row holds another value."""
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)


def _sqlite_case_update(keyed: bool, narrowed: bool, dated: bool, finished: bool) -> tuple[str, str]:
    """SQLite: (condition, body) of the one trigger that rewrites a case's rows when its texts
    change or its keys do (one trigger, so that an UPDATE doing both unindexes each row with
    exactly the tokens it was indexed with): the own row's texts if they changed; every row's
    grams, unindexed with the keys the case had (OLD) and indexed with those it has, if they
    changed."""
    texts, moved = _changed(_CASE_TEXTS), _moved(keyed, dated, finished)
    redo = f"{_EVERY_ROW.format('NEW')} AND (({moved}) OR (rowid = NEW.id << {CASE_SHIFT} AND ({texts})))"
    rows = _case_rows("sqlite", f"c.id = NEW.id AND ({texts})", scoped=True, keyed=keyed, narrowed=narrowed,
                      dated=dated, finished=finished)
    rewrite = f"INSERT OR REPLACE INTO {SEARCH_TABLE}(rowid, open_text, raw_text) {rows}"
    body = (f"{_grams_sql(redo, delete=True, scope=_old_scope(keyed, dated, finished))}; {rewrite}; "
            f"{_grams_sql(redo, delete=False, scope=_current_scope(keyed, dated, finished))}")
    return f"{texts} OR {moved}", body


# (table, event, body, condition) of a trigger; a condition of "" is none.
Trigger = tuple[str, str, str, str]


def _triggers(dialect: str, *, scoped: bool = True, keyed: bool = True,
              narrowed: bool = True, dated: bool = True, finished: bool = True) -> list[Trigger]:
    """Every trigger: each writes or removes only the rows of the source row it fires on (a
    complainant's: their cases' own rows; a case whose keys change: its rows' keys). `scoped`:
    rows carry their case's regions (migration 0030; without, the shape before it); `keyed`:
    and its category, channel and month (0035); `narrowed`: documents with full-width ASCII as
    half-width (0038, `_narrowed`); `dated` (with `keyed`): and whether it has no deadline (0043);
    `finished` (with `dated`): and whether it is finished (0047)."""
    sqlite = dialect == "sqlite"
    place = _case_place(keyed, dated, finished)
    shape = {"scoped": scoped, "keyed": keyed, "narrowed": narrowed, "dated": dated, "finished": finished}

    def write(rows: str, rowids: str, *, fresh: bool) -> str:
        return (_sqlite_write(rows, rowids, fresh=fresh, scoped=scoped, keyed=keyed, dated=dated,
                              finished=finished) if sqlite
                else _pg_write(rows, scoped=scoped))

    own = f"rowid = NEW.id << {CASE_SHIFT}"
    theirs = f"rowid IN (SELECT c.id << {CASE_SHIFT} FROM cases c WHERE c.complainant_id = NEW.id)"
    case = _case_rows(dialect, "c.id = NEW.id", **shape)
    out: list[Trigger] = [("cases", "INSERT", write(case, own, fresh=True), "")]
    if sqlite and scoped:
        when, body = _sqlite_case_update(keyed, narrowed, dated, finished)
        out.append(("cases", f"UPDATE OF {_CASE_COLUMNS}, {', '.join(place)}", body, when))
    else:
        out.append(("cases", f"UPDATE OF {_CASE_COLUMNS}", write(case, own, fresh=False), ""))
    theirs_rows = _case_rows(dialect, "c.complainant_id = NEW.id", **shape)
    out.append(("complainants", "UPDATE OF name, phone", write(theirs_rows, theirs, fresh=False), ""))
    for table, column, kind in _CHILD_TEXTS:
        rows = _child_rows(dialect, table, column, kind, "x.id = NEW.id", **shape)
        this = f"rowid = {_child_key('NEW.case_id', kind, 'NEW.id')}"
        out += [(table, "INSERT", write(rows, this, fresh=True), ""),
                (table, f"UPDATE OF {column}, {column}_redacted", write(rows, this, fresh=False), "")]
        if sqlite:
            gone = f"rowid = {_child_key('OLD.case_id', kind, 'OLD.id')}"
            scope = _current_scope(keyed, dated, finished) if scoped else None
            unindex = _grams_sql(gone, delete=True, scope=scope)
            out.append((table, "DELETE", f"{unindex}; DELETE FROM {SEARCH_TABLE} WHERE {gone}", ""))
        else:
            out.append((table, "DELETE", f"DELETE FROM {SEARCH_TABLE} WHERE case_id = OLD.case_id "
                                         f"AND kind = {kind} AND source_id = OLD.id", ""))
    if sqlite:  # PostgreSQL: the foreign key's ON DELETE CASCADE
        every = _EVERY_ROW.format("OLD")
        unindex = _grams_sql(every, delete=True, scope=_old_scope(keyed, dated, finished) if scoped else None)
        out.append(("cases", "DELETE", f"{unindex}; DELETE FROM {SEARCH_TABLE} WHERE {every}", ""))
    elif scoped:  # a case whose keys change: its rows' keys
        out.append(("cases", f"UPDATE OF {', '.join(place)}",
                    f"UPDATE {SEARCH_TABLE} SET scope = {_pg_scope_call('NEW', keyed, dated, finished)} "
                    "WHERE case_id = NEW.id", _moved(keyed, dated, finished)))
    return out


def _trigger_name(i: int) -> str:
    return f"{SEARCH_TABLE}_r{i}"


# PostgreSQL: the setting, local to a transaction, under which a new case's trigger is skipped.
_PG_DEFERRED = "duban.search_deferred"
_DEFERRABLE = ("cases", "INSERT")  # the one trigger `new_cases_indexed` skips


_UNLESS_DEFERRED = {"sqlite": f"NOT {SEARCH_DEFERRED}()",
                    "postgresql": f"current_setting('{_PG_DEFERRED}', true) IS DISTINCT FROM 'on'"}


def create_triggers(conn: Connection, *, deferrable: bool = True, scoped: bool = True,
                    keyed: bool = True, narrowed: bool = True, dated: bool = True,
                    finished: bool = True) -> None:
    """The triggers that keep the index in step with its source rows (without `deferrable`, as
    before migration 0029: a new case's trigger cannot be skipped; without `scoped`, as before
    0030: rows without their case's regions; without `keyed`, as before 0035: their regions
    alone; without `narrowed`, as before 0038: documents as written; without `dated`, as before
    0043: no key for a case without a deadline; without `finished`, as before 0047: none for a
    finished case)."""
    dialect = conn.dialect.name
    shape = _triggers(dialect, scoped=scoped, keyed=keyed, narrowed=narrowed, dated=dated, finished=finished)
    for i, (table, when, body, condition) in enumerate(shape):
        name = _trigger_name(i)
        if deferrable and (table, when) == _DEFERRABLE:
            condition = _UNLESS_DEFERRED[dialect]
        only = f"WHEN ({condition})" if condition else ""
        if dialect == "sqlite":
            conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {when} ON {table} {only} "
                              f"BEGIN {body}; END"))
            continue
        conn.execute(text(f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN {body}; RETURN NULL; END $$"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        conn.execute(text(f"CREATE TRIGGER {name} AFTER {when} ON {table} "
                          f"FOR EACH ROW {only} EXECUTE FUNCTION {name}_fn()"))


def _every_trigger(dialect: str) -> list[tuple[str, str]]:
    """(name, table) of every trigger either shape of the index may have."""
    found: dict[tuple[str, str], None] = {}
    for scoped, keyed in ((True, True), (True, False), (False, False)):
        for i, (table, *_) in enumerate(_triggers(dialect, scoped=scoped, keyed=keyed)):
            found[(_trigger_name(i), table)] = None
    return list(found)


def drop_triggers(conn: Connection) -> None:
    """Bulk loads (bench, imports of millions) drop the triggers and `rebuild` once after."""
    for name, table in _every_trigger(conn.dialect.name):
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))


def is_current(conn: Connection) -> bool:
    """Whether the index has this module's shape: a row per source (migration 0026) carrying its
    case's regions (0030), its category, channel and month (0035), whether it has no deadline
    (0043) and whether it is finished (0047), its documents narrowed (0038)."""
    if conn.dialect.name == "sqlite":  # the triggers unindex a row by its case's old keys
        found = ("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases' "
                 f"AND sql LIKE '%OLD.state IN%' AND sql LIKE '%{NARROW_FUNCTION}(%'")
    else:  # the function that works every key out; a trigger's that narrows
        found = (f"SELECT 1 FROM pg_proc WHERE proname = '{SCOPE_FUNCTION}' AND pronargs = 7 "
                 f"AND EXISTS (SELECT 1 FROM pg_proc WHERE proname = '{_trigger_name(0)}_fn' "
                 "AND prosrc LIKE '%translate(%')")
    return conn.execute(text(found)).first() is not None


def rebuild(conn: Connection, *, scoped: bool = True, keyed: bool = True, narrowed: bool = True,
            dated: bool = True, finished: bool = True) -> None:
    """Every source's row from scratch (PostgreSQL: in one statement, into an emptied table, its
    indexes best dropped first and built after)."""
    dialect = conn.dialect.name
    conn.execute(text(f"{'DELETE FROM' if dialect == 'sqlite' else 'TRUNCATE'} {SEARCH_TABLE}"))
    columns = ("rowid, open_text, raw_text" if dialect == "sqlite"
               else f"case_id, kind, source_id, open_text, raw_text{', scope' if scoped else ''}")
    shape = {"scoped": scoped, "keyed": keyed, "narrowed": narrowed, "dated": dated, "finished": finished}
    selects = [_case_rows(dialect, "1 = 1", **shape)]
    selects += [_child_rows(dialect, table, column, kind, "1 = 1", **shape)
                for table, column, kind in _CHILD_TEXTS]
    if dialect == "sqlite":  # a row's rowid is its key: stored in its order whatever the order written
        for rows in selects:
            conn.execute(text(f"INSERT INTO {SEARCH_TABLE}({columns}) {rows}"))
        rebuild_grams(conn, scoped=scoped, keyed=keyed, dated=dated, finished=finished)
        return
    # In the key's order, a case's rows side by side: a join's plan gives no order of its own
    # (the cases as their complainants were hashed: the rows of a city's common word, each a
    # heap page of its own, asked their cases all over the scope's index, 10–20 % slower).
    union = " UNION ALL ".join(f"({rows})" for rows in selects)
    conn.execute(text(f"INSERT INTO {SEARCH_TABLE}({columns}) {union} ORDER BY 1, 2, 3"))


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
        rows = _case_rows("sqlite", "c.id IN (SELECT value FROM json_each(:ids))", scoped=True)
        conn.execute(text(f"INSERT INTO {SEARCH_TABLE}(rowid, open_text, raw_text) {rows}"), ids)
        conn.execute(text(_grams_sql(f"rowid IN (SELECT value << {CASE_SHIFT} FROM json_each(:ids))",
                                     delete=False, scope=_current_scope())), ids)
        return
    rows = _case_rows("postgresql", "c.id = ANY(CAST(:ids AS integer[]))", scoped=True)
    conn.execute(text(f"INSERT INTO {SEARCH_TABLE}(case_id, kind, source_id, open_text, raw_text, scope) "
                      f"{rows}"), {"ids": list(case_ids)})


def rebuild_grams(conn: Connection, *, scoped: bool = True, keyed: bool = True, dated: bool = True,
                  finished: bool = True) -> None:
    """SQLite: the grams' index of every stored row from scratch."""
    conn.execute(text(f"INSERT INTO {GRAMS_TABLE}({GRAMS_TABLE}) VALUES ('delete-all')"))
    scope = _current_scope(keyed, dated, finished) if scoped else None
    conn.execute(text(_grams_sql("1 = 1", delete=False, scope=scope)))


def narrow_rows(conn: Connection, *, dated: bool = True) -> None:
    """The stored rows whose documents hold full-width ASCII, narrowed as the triggers now write
    them (migration 0038): only those rows are rewritten (SQLite: and their grams, unindexed by
    the tokens they were indexed with first: `dated`, see `create_triggers`)."""
    if conn.dialect.name != "sqlite":
        narrowed = {c: _narrowed("postgresql", c, True) for c in ("open_text", "raw_text")}
        changed = " OR ".join(f"{c} <> {n}" for c, n in narrowed.items())
        conn.execute(text(f"UPDATE {SEARCH_TABLE} SET {', '.join(f'{c} = {n}' for c, n in narrowed.items())} "
                          f"WHERE {changed}"))
        return
    changed = " OR ".join(f"{c} <> {NARROW_FUNCTION}({c})" for c in ("open_text", "raw_text"))
    conn.execute(text(f"CREATE TEMP TABLE narrowed_rows AS SELECT rowid AS id FROM {SEARCH_TABLE} "
                      f"WHERE {changed}"))
    rows = "rowid IN (SELECT id FROM temp.narrowed_rows)"
    conn.execute(text(_grams_sql(rows, delete=True, scope=_current_scope(dated=dated))))
    conn.execute(text(f"UPDATE {SEARCH_TABLE} SET open_text = {NARROW_FUNCTION}(open_text), "
                      f"raw_text = {NARROW_FUNCTION}(raw_text) WHERE {rows}"))
    conn.execute(text(_grams_sql(rows, delete=False, scope=_current_scope(dated=dated))))
    conn.execute(text("DROP TABLE temp.narrowed_rows"))


def rewrite_keys(conn: Connection, *, dated: bool = True, finished: bool = True) -> None:
    """Every row's keys worked out again for the shape `dated`, `finished` (see `create_triggers`),
    as a migration that adds or takes away a key does, its triggers too. PostgreSQL: every row
    written again in its case's order, its indexes built after: rewritten in place (as 0035 did),
    the rows lay in the order the UPDATE met them, and a common word's matches asked their cases
    in that order (the phrase at a million: 62 → 169 ms). SQLite: the grams' index built again."""
    drop_triggers(conn)
    if conn.dialect.name == "postgresql":
        create_scope_functions(conn, dated=dated, finished=finished)  # the rows' keys
        drop_indexes(conn)
        rebuild(conn, dated=dated, finished=finished)
        create_indexes(conn)
        conn.execute(text(f"ANALYZE {SEARCH_TABLE}"))  # the planner weighs a word by them
    else:
        rekey(conn, keyed=True, dated=dated, finished=finished)
    create_triggers(conn, dated=dated, finished=finished)


def rekey(conn: Connection, *, keyed: bool, dated: bool, finished: bool = False) -> None:
    """Every row's keys worked out again, for `keyed` or the regions alone (migration 0035), with
    `dated` or without (0043), with `finished` or without (0047): on PostgreSQL the scope column of
    every row (the caller drops the grams' indexes first and builds them after: one build, not a
    million updates of each), on SQLite the grams' index whole."""
    if conn.dialect.name == "sqlite":
        rebuild_grams(conn, keyed=keyed, dated=dated, finished=finished)
        return
    conn.execute(text(f"UPDATE {SEARCH_TABLE} s SET scope = {_pg_scope_call('c', keyed, dated, finished)} "
                      "FROM cases c WHERE c.id = s.case_id"))


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


# PostgreSQL: every region (duban.scopekeys) a case's office and unit lie in, each code's
# dash-prefixes; read by the index's triggers as a row is written or its case's keys change.
_PG_SCOPE = (f"CREATE OR REPLACE FUNCTION {SCOPE_FUNCTION}(office integer, unit integer) RETURNS text[] "
             "LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ DECLARE out text[] := '{}'; org text; "
             "parts text[]; BEGIN FOR org IN SELECT code FROM orgs WHERE id = office OR id = unit LOOP "
             "parts := string_to_array(org, '-'); FOR i IN 1 .. cardinality(parts) LOOP "
             "out := out || array_to_string(parts[1:i], '-'); END LOOP; END LOOP; RETURN out; END $$")
# And (migration 0035) the case's category, channel and month of receipt in Asia/Shanghai, named
# as duban.scopekeys.case_keys names them. Beside the function above, which the triggers before
# 0035 call.
_PG_CASE_SCOPE = (f"CREATE OR REPLACE FUNCTION {SCOPE_FUNCTION}(office integer, unit integer, "
                  "category text, channel text, received timestamptz) RETURNS text[] "
                  "LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ BEGIN "
                  f"RETURN {SCOPE_FUNCTION}(office, unit) || array_remove(ARRAY["
                  "'category=' || category, 'channel=' || channel, "
                  "'month=' || to_char(received AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')], NULL); END $$")
# And (migration 0043) whether it has no deadline (duban.scopekeys.UNDATED, else DATED).
_PG_DATED_SCOPE = (f"CREATE OR REPLACE FUNCTION {SCOPE_FUNCTION}(office integer, unit integer, "
                   "category text, channel text, received timestamptz, undated boolean) RETURNS text[] "
                   "LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ BEGIN "
                   f"RETURN {SCOPE_FUNCTION}(office, unit, category, channel, received) || CASE WHEN undated "
                   f"THEN '{scopekeys.UNDATED}' ELSE '{scopekeys.DATED}' END; END $$")
PG_DATED_SIGNATURE = "integer, integer, text, text, timestamptz, boolean"  # the function's of 0043
# And (migration 0047) whether it is finished (duban.scopekeys.FINISHED, else OPEN).
_PG_FINISHED_SCOPE = (f"CREATE OR REPLACE FUNCTION {SCOPE_FUNCTION}(office integer, unit integer, "
                      "category text, channel text, received timestamptz, undated boolean, finished boolean) "
                      "RETURNS text[] LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$ BEGIN "
                      f"RETURN {SCOPE_FUNCTION}(office, unit, category, channel, received, undated) || CASE "
                      f"WHEN finished THEN '{scopekeys.FINISHED}' ELSE '{scopekeys.OPEN}' END; END $$")
PG_FINISHED_SIGNATURE = f"{PG_DATED_SIGNATURE}, boolean"  # the function's of 0047
_PG_SCOPE_SIGNATURES = ("integer, integer", "integer, integer, text, text, timestamptz", PG_DATED_SIGNATURE,
                        PG_FINISHED_SIGNATURE)


def create_indexes(conn: Connection, *, scoped: bool = True, either: bool = True,
                   children: bool = True) -> None:
    """PostgreSQL: the GIN indexes of the documents, trigrams and grams, the grams' beside the
    rows' regions (`scoped`), so that a region's reader finds a word's rows there in one index
    scan (a bulk load drops them first and builds them once after, `drop_indexes`). The redacted
    document's, and either document's (`either`, EITHER_TEXT; without, as before migration 0032:
    the raw document's). `children` (migration 0042): the grams' of the rows of reports, reviews
    and callbacks again, alone (kind > 0), where a query of several words looks for a word its
    case's own row lacks (duban.services.search: `_pg_held_apart`)."""
    conn.execute(text(_PG_GRAMS))
    also = ", scope" if scoped else ""
    for name, document in _documents(either):
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_{name} ON {SEARCH_TABLE} "
                          f"USING gin ({document} gin_trgm_ops)"))
        grams = f"USING gin ({GRAMS_TABLE}({document}){also})"
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_{name}_grams "
                          f"ON {SEARCH_TABLE} {grams}"))
        if children:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {children_index(name)} ON {SEARCH_TABLE} "
                              f"{grams} WHERE kind > 0"))


def children_index(name: str) -> str:
    """The name of a document's grams' index of the rows of reports, reviews and callbacks."""
    return f"ix_{SEARCH_TABLE}_{name}_grams_children"


def _documents(either: bool) -> list[tuple[str, str]]:
    """(name, expression) of each indexed document."""
    second = ("either_text", EITHER_TEXT) if either else ("raw_text", "raw_text")
    return [("open_text", "open_text"), second]


def drop_indexes(conn: Connection) -> None:
    for either in (True, False):
        for name, _ in _documents(either):
            for index in (f"ix_{SEARCH_TABLE}_{name}", f"ix_{SEARCH_TABLE}_{name}_grams",
                          children_index(name)):
                conn.execute(text(f"DROP INDEX IF EXISTS {index}"))


def install(conn: Connection, *, scoped: bool = True, either: bool = True, keyed: bool = True,
            narrowed: bool = True, children: bool = True, dated: bool = True, finished: bool = True) -> None:
    """The index table, its trigram indexes and its triggers (idempotent). `scoped`: its rows carry
    their case's regions (migration 0030; without, the shape of 0026 to 0029); `either`: see
    `create_indexes` (migration 0032); `keyed`: and their case's category, channel and month
    (0035); `narrowed`: documents with full-width ASCII as half-width (0038); `children`: the
    indexes of the rows of reports, reviews and callbacks alone (0042); `dated`: and whether their
    case has no deadline (0043); `finished`: and whether it is finished (0047)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
                          "open_text, raw_text, tokenize = 'trigram')"))
        # Rowids and columns only: a gram answers "does this row contain it", no positions; and
        # the tokens of the regions its case lies in (duban.scopekeys).
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {GRAMS_TABLE} USING fts5("
                          f"open_grams, raw_grams{', scope' if scoped else ''}, tokenize = 'ascii', "
                          "content = '', detail = 'column')"))
    else:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        if scoped:
            create_scope_functions(conn, keyed=keyed, dated=dated, finished=finished)
        regions = "scope text[] NOT NULL DEFAULT '{}', " if scoped else ""
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
                          "case_id integer NOT NULL REFERENCES cases(id) ON DELETE CASCADE, "
                          "kind smallint NOT NULL, source_id integer NOT NULL, "
                          f"open_text text NOT NULL DEFAULT '', raw_text text NOT NULL DEFAULT '', {regions}"
                          "PRIMARY KEY (case_id, kind, source_id))"))
        create_indexes(conn, scoped=scoped, either=either, children=children)
    create_triggers(conn, scoped=scoped, keyed=keyed, narrowed=narrowed, dated=dated, finished=finished)


def create_scope_functions(conn: Connection, *, keyed: bool = True, dated: bool = True,
                           finished: bool = True) -> None:
    """PostgreSQL: the functions that work a case's keys out (idempotent): its regions', and
    (`keyed`) its every key's, which calls the first, and (`dated`) with whether it has no
    deadline, which calls the second, and (`finished`) with whether it is finished, which calls
    the third."""
    conn.execute(text(_PG_SCOPE))
    if keyed:
        conn.execute(text(_PG_CASE_SCOPE))
    if keyed and dated:
        conn.execute(text(_PG_DATED_SCOPE))
    if keyed and dated and finished:
        conn.execute(text(_PG_FINISHED_SCOPE))


def uninstall(conn: Connection) -> None:
    drop_triggers(conn)
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS {GRAMS_TABLE}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SEARCH_TABLE}"))
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP FUNCTION IF EXISTS {GRAMS_TABLE}(text)"))
        for signature in _PG_SCOPE_SIGNATURES:
            conn.execute(text(f"DROP FUNCTION IF EXISTS {SCOPE_FUNCTION}({signature})"))
        for name, _ in _every_trigger("postgresql"):
            conn.execute(text(f"DROP FUNCTION IF EXISTS {name}_fn()"))


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(target: Any, connection: Connection, **kw: Any) -> None:
    if "cases" in target.tables and connection.dialect.name in ("sqlite", "postgresql"):
        install(connection)


@event.listens_for(SQLModel.metadata, "before_drop")
def _before_drop(target: Any, connection: Connection, **kw: Any) -> None:
    if "cases" in target.tables and connection.dialect.name in ("sqlite", "postgresql"):
        uninstall(connection)


def key_order(conn: Connection) -> float:
    """PostgreSQL: how closely the index rows lie in their key's order, from fresh statistics
    (1: in order, as an empty table does; near 0: shuffled, as rows rewritten by moves and
    deadlines drift, or as migration 0043's rebuild may have laid them). (SQLite keeps its rows in
    their rowids' order, which is their key.)"""
    if conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {SEARCH_TABLE})")).scalar_one():
        return 1.0  # (ANALYZE leaves an emptied table's statistics as its rows had them)
    conn.execute(text(f"ANALYZE {SEARCH_TABLE}"))
    found = conn.execute(text("SELECT correlation FROM pg_stats WHERE tablename = :t AND attname = 'case_id' "
                              "AND schemaname = current_schema()"), {"t": SEARCH_TABLE}).scalar()
    return 1.0 if found is None else float(found)


def reorder(conn: Connection) -> None:
    """PostgreSQL: every index row laid again in its key's order (CLUSTER by the primary key: a
    common word's matches then ask their cases in order, 10–20 % faster at a million than
    shuffled). It locks the index, and with it every write of a case, until done (about five
    minutes at a million cases): an operator's task for a quiet hour (`duban db reorder`). The
    planner's statistics are left to `key_order`, which the command asks after."""
    conn.execute(text(f"CLUSTER {SEARCH_TABLE} USING {SEARCH_TABLE}_pkey"))
