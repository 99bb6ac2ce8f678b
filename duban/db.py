"""Engine and sessions. SQLite is the embedded default; PostgreSQL is production."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel, create_engine

from duban.config.settings import get_settings


def make_engine(url: str) -> Engine:
    # hide_parameters: a failed statement's values (a complainant's name, a mail body) stay out of
    # exception messages and SQL logs, which reach log files and people who may not see them.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (see _sqlite_pragmas); BEGIN is ours, so a
        # writer can take the write lock up front with execution_options(sqlite_begin="IMMEDIATE").
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


_WRITERS: dict[str, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """Serialise this process's SQLite writers in Python, before BEGIN IMMEDIATE.

    SQLite makes a writer that finds the lock taken poll with growing sleeps (1, 2, 5, 10… ms):
    threads of one server waited longer than the writes took. Waiting here wakes the next one at
    once. Reentrant, so a nested write still meets SQLite's own timeout, as before. Other
    processes (workers, the CLI) still meet SQLite's lock; PostgreSQL locks rows, not this.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _WRITERS_GUARD:
        lock = _WRITERS.setdefault(key, threading.RLock())
    return lock


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    # Straight to the driver: BEGIN has no parameters or result, and it opens every transaction.
    conn.connection.dbapi_connection.execute(f"BEGIN {mode}")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().resolved_database_url)


def create_all(engine: Engine) -> None:
    import duban.models  # noqa: F401  (registers every table)

    SQLModel.metadata.create_all(engine)
