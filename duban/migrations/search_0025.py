"""The search index as migrations 0020 to 0025 made it: one row per case whose two documents
concatenate every text of the case (models/search.py before migration 0026).

Frozen here so that those migrations replay as they were and 0026's downgrade can put this shape
back; the application uses models/search.py. Nothing here listens to the models' metadata.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from duban.grams import SQL_FUNCTION

SEARCH_TABLE = "case_search"
GRAMS_TABLE = "case_search_grams"


def _agg(dialect: str, expr: str) -> str:
    return f"group_concat({expr}, ' ')" if dialect == "sqlite" else f"string_agg({expr}, ' ')"


# (table, column, its redacted twin) of the texts added to a case after registration.
_CHILD_TEXTS = [("handling_reports", "text"), ("reviews", "reasons"), ("callbacks", "note")]


def _documents(dialect: str) -> tuple[str, str]:
    """The SELECT expressions of the two documents of the case `c` (joined to its complainant `p`)."""
    def children(suffix: str) -> str:
        parts = [f"coalesce((SELECT {_agg(dialect, f'x.{column}{suffix}')} FROM {table} x "
                 "WHERE x.case_id = c.id), '')" for table, column in _CHILD_TEXTS]
        return " || ' ' || ".join(parts)

    opened = ("c.number || ' ' || c.title_redacted || ' ' || c.summary_redacted || ' ' || "
              f"{children('_redacted')}")
    raw = ("c.title || ' ' || c.summary || ' ' || coalesce(p.name, '') || ' ' || coalesce(p.phone, '') "
           f"|| ' ' || {children('')}")
    return opened, raw


def _grams_sql(ids: str, *, delete: bool) -> str:
    """SQLite: index (or, with `delete`, unindex) the grams of the stored documents `ids` selects.
    The table keeps no content, so a delete names the tokens it had: the same function of the
    same documents."""
    command = f"{GRAMS_TABLE}, rowid" if delete else "rowid"
    tag = "'delete', " if delete else ""
    return (f"INSERT INTO {GRAMS_TABLE}({command}, open_grams, raw_grams) SELECT {tag}rowid, "
            f"{SQL_FUNCTION}(open_text), {SQL_FUNCTION}(raw_text, open_text) FROM {SEARCH_TABLE} "
            f"WHERE rowid IN ({ids})")


def _refresh_sql(dialect: str, where: str, *, grams: bool = True) -> str:
    """Write the documents of the cases `where` selects (an upsert: one row per case); on SQLite
    the statements of a trigger body, the grams' index kept in step."""
    opened, raw = _documents(dialect)
    source = f"FROM cases c LEFT JOIN complainants p ON p.id = c.complainant_id WHERE {where}"
    if dialect == "sqlite":
        upsert = (f"INSERT OR REPLACE INTO {SEARCH_TABLE}(rowid, open_text, raw_text) "
                  f"SELECT c.id, {opened}, {raw} {source}")
        if not grams:
            return upsert
        ids = f"SELECT c.id FROM cases c WHERE {where}"
        return f"{_grams_sql(ids, delete=True)}; {upsert}; {_grams_sql(ids, delete=False)}"
    return (f"INSERT INTO {SEARCH_TABLE}(case_id, open_text, raw_text) SELECT c.id, {opened}, {raw} "
            f"{source} ON CONFLICT (case_id) DO UPDATE SET open_text = EXCLUDED.open_text, "
            "raw_text = EXCLUDED.raw_text")


# (table, events, the case id(s) to refresh): what a change to each source row touches.
_CASE_COLUMNS = "number, title, summary, title_redacted, summary_redacted, complainant_id"
_SOURCES = [
    ("cases", "INSERT", "NEW.id"),
    ("cases", f"UPDATE OF {_CASE_COLUMNS}", "NEW.id"),
    ("handling_reports", "INSERT", "NEW.case_id"),
    ("handling_reports", "UPDATE OF text, text_redacted", "NEW.case_id"),
    ("reviews", "INSERT", "NEW.case_id"),
    ("reviews", "UPDATE OF reasons, reasons_redacted", "NEW.case_id"),
    ("callbacks", "INSERT", "NEW.case_id"),
    ("callbacks", "UPDATE OF note, note_redacted", "NEW.case_id"),
    ("complainants", "UPDATE OF name, phone", None),  # every case of that person
]


def _trigger_name(i: int) -> str:
    return f"{SEARCH_TABLE}_t{i}"


def create_triggers(conn: Connection, *, grams: bool = True) -> None:
    """The triggers that keep the index in step with its source rows (`grams=False`: as before
    migration 0025, for its downgrade)."""
    dialect = conn.dialect.name
    for i, (table, when, case) in enumerate(_SOURCES):
        name = _trigger_name(i)
        if dialect == "sqlite":
            body = _refresh_sql(dialect, "c.complainant_id = NEW.id" if case is None else f"c.id = {case}",
                                grams=grams)
            conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {when} ON {table} "
                              f"BEGIN {body}; END"))
            continue
        call = ("PERFORM case_search_refresh(x.id) FROM cases x WHERE x.complainant_id = NEW.id;"
                if case is None else f"PERFORM case_search_refresh({case});")
        conn.execute(text(f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS "
                          f"$$ BEGIN {call} RETURN NULL; END $$"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        conn.execute(text(f"CREATE TRIGGER {name} AFTER {when} ON {table} "
                          f"FOR EACH ROW EXECUTE FUNCTION {name}_fn()"))
    if dialect == "sqlite":
        conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {SEARCH_TABLE}_gone AFTER DELETE ON cases "
                          f"BEGIN {_grams_sql('OLD.id', delete=True) + '; ' if grams else ''}"
                          f"DELETE FROM {SEARCH_TABLE} WHERE rowid = OLD.id; END"))


def drop_triggers(conn: Connection) -> None:
    """Bulk loads (bench, imports of millions) drop the triggers and `rebuild` once after."""
    for i, (table, _, _) in enumerate(_SOURCES):
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(i)}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {_trigger_name(i)} ON {table}"))
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {SEARCH_TABLE}_gone"))


def has_grams(conn: Connection) -> bool:
    """Whether the grams' index exists (a database migrated to 0025 or built since)."""
    if conn.dialect.name == "sqlite":
        found, name = "SELECT 1 FROM sqlite_master WHERE name = :n", GRAMS_TABLE
    else:
        found, name = "SELECT 1 FROM pg_indexes WHERE indexname = :n", f"ix_{SEARCH_TABLE}_open_text_grams"
    return conn.execute(text(found), {"n": name}).first() is not None


def install_grams(conn: Connection) -> None:
    """The grams' index on a database whose trigram index exists (migration 0025): the triggers
    again (SQLite's write the grams too), and the index filled."""
    drop_triggers(conn)
    install(conn)
    if conn.dialect.name == "sqlite":
        rebuild_grams(conn)


def rebuild(conn: Connection) -> None:
    """Every case's documents from scratch, in one statement."""
    dialect = conn.dialect.name
    conn.execute(text(f"DELETE FROM {SEARCH_TABLE}"))
    opened, raw = _documents(dialect)
    column = "rowid" if dialect == "sqlite" else "case_id"
    conn.execute(text(f"INSERT INTO {SEARCH_TABLE}({column}, open_text, raw_text) "
                      f"SELECT c.id, {opened}, {raw} FROM cases c "
                      "LEFT JOIN complainants p ON p.id = c.complainant_id"))
    if dialect == "sqlite":
        rebuild_grams(conn)


def rebuild_grams(conn: Connection) -> None:
    """SQLite: the grams' index of every stored document from scratch."""
    conn.execute(text(f"INSERT INTO {GRAMS_TABLE}({GRAMS_TABLE}) VALUES ('delete-all')"))
    conn.execute(text(f"INSERT INTO {GRAMS_TABLE}(rowid, open_grams, raw_grams) SELECT rowid, "
                      f"{SQL_FUNCTION}(open_text), {SQL_FUNCTION}(raw_text, open_text) FROM {SEARCH_TABLE}"))


# PostgreSQL: the distinct unigrams and bigrams of a document, lower-cased as ILIKE compares.
_PG_GRAMS = (f"CREATE OR REPLACE FUNCTION {GRAMS_TABLE}(t text) RETURNS text[] LANGUAGE sql IMMUTABLE "
             "STRICT PARALLEL SAFE AS $$ SELECT coalesce(array_agg(DISTINCT substr(x.l, i, n)), '{}') "
             "FROM (SELECT lower(t) AS l) x, generate_series(1, length(x.l)) i, (VALUES (1), (2)) v(n) "
             "WHERE i + n - 1 <= length(x.l) $$")


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
        # Rowids and columns only: a gram answers "does this document contain it", no positions.
        conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {GRAMS_TABLE} USING fts5("
                          "open_grams, raw_grams, tokenize = 'ascii', content = '', detail = 'column')"))
    else:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
                          "case_id integer PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE, "
                          "open_text text NOT NULL DEFAULT '', raw_text text NOT NULL DEFAULT '')"))
        create_indexes(conn)
        conn.execute(text(f"CREATE OR REPLACE FUNCTION case_search_refresh(cid integer) RETURNS void "
                          f"LANGUAGE sql AS $$ {_refresh_sql('postgresql', 'c.id = cid')} $$"))
    create_triggers(conn)


def uninstall_grams(conn: Connection) -> None:
    """Back to the trigram index alone (migration 0025's downgrade)."""
    if conn.dialect.name == "sqlite":
        drop_triggers(conn)
        conn.execute(text(f"DROP TABLE IF EXISTS {GRAMS_TABLE}"))
        create_triggers(conn, grams=False)
        return
    for column in ("open_text", "raw_text"):
        conn.execute(text(f"DROP INDEX IF EXISTS ix_{SEARCH_TABLE}_{column}_grams"))
    conn.execute(text(f"DROP FUNCTION IF EXISTS {GRAMS_TABLE}(text)"))


def uninstall(conn: Connection) -> None:
    drop_triggers(conn)
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS {GRAMS_TABLE}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SEARCH_TABLE}"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP FUNCTION IF EXISTS case_search_refresh(integer)"))
        conn.execute(text(f"DROP FUNCTION IF EXISTS {GRAMS_TABLE}(text)"))
        for i in range(len(_SOURCES)):
            conn.execute(text(f"DROP FUNCTION IF EXISTS {_trigger_name(i)}_fn()"))
