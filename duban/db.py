"""Engine and sessions. SQLite is the embedded default; PostgreSQL is production."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import Select, event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlmodel import SQLModel, create_engine

from duban import scopekeys
from duban.config.settings import get_settings
from duban.files import create_private, private_dir
from duban.grams import NARROW_FUNCTION, SQL_FUNCTION, grams, narrow

# SQLite: the SQL function the search index's skippable trigger asks whether this connection's
# writer defers the index (models/search.py `deferred`), read from the connection's pool record.
SEARCH_DEFERRED = "duban_search_deferred"
# PostgreSQL: each sort's, hash's and bitmap's memory per connection (make_engine): a bitmap of
# 32 MB names each row of about five million index rows.
PG_WORK_MEM = "32MB"


def make_engine(url: str) -> Engine:
    # hide_parameters: a failed statement's values (a complainant's name, a mail body) stay out of
    # exception messages and SQL logs, which reach log files and people who may not see them.
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # Created here 0600 (and its folder 0700 if new): SQLite gives the -wal and -shm
            # files the database file's mode, so the three hold identity for the owner only.
            private_dir(Path(parsed.database).parent)
            create_private(parsed.database)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (see _sqlite_pragmas); BEGIN is ours, so a
        # writer can take the write lock up front with execution_options(sqlite_begin="IMMEDIATE").
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine.pool, "checkin", _undefer_search)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    # Statements psycopg prepares are kept across transactions (_rollback_keeping_prepared), and
    # PostgreSQL gives a statement run five times a generic plan, blind to its values: for a search
    # or a filtered list, whose best plan depends on the word or the office, that plan can be
    # slower by orders of magnitude. Every statement is planned for its values; it is still parsed
    # once. No JIT: it compiles a statement the planner costs high (a count over a million cases)
    # for tens of milliseconds, more than such a statement of ours runs. Memory enough for the
    # bitmap of a common word's index rows to name each row (a million cases: 水's 137,000 rows on
    # 70,000 pages): past the default 4 MB, PostgreSQL keeps only the pages and compares every row
    # of them again, working out each row's grams anew (PG_WORK_MEM).
    engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True,
                           connect_args={"options": "-c plan_cache_mode=force_custom_plan -c jit=off "
                                                    f"-c work_mem={PG_WORK_MEM}"})
    event.listen(engine.pool, "checkin", _idle_from)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    if engine.dialect.driver == "psycopg":
        engine.dialect.do_rollback = _rollback_keeping_prepared  # type: ignore[method-assign,assignment]
    return engine


def _rollback_keeping_prepared(dbapi_conn: Any) -> None:
    """ROLLBACK, keeping the connection's prepared statements.

    psycopg forgets every statement it prepared (and deallocates them on the server) whenever
    a transaction is rolled back, in case the transaction created an object they name. Every
    read of ours ends with a rollback, so no statement was ever prepared: the server parsed and
    planned each one anew (a case read is 15 of them: about half of the server's CPU for it).
    Ours create and drop no objects outside migrations, which commit. In pipeline mode, or
    with anything unusual, psycopg's own rollback.
    """
    from psycopg import pq

    pgconn = dbapi_conn.pgconn
    if pgconn.pipeline_status != pq.PipelineStatus.OFF or not hasattr(pgconn, "exec_"):
        dbapi_conn.rollback()
        return
    if pgconn.transaction_status == pq.TransactionStatus.IDLE:
        return
    result = pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        dbapi_conn.rollback()  # psycopg raises the connection's error, or rolls back its way


# A pooled PostgreSQL connection is tested before use only when it has been idle a while: one
# left over from before a server restart is replaced instead of failing its first statement,
# while a busy server's back-to-back transactions do not each pay a round trip for `SELECT 1`
# (what pool_pre_ping would do).
_IDLE_BEFORE_PING = 2.0  # seconds


def _idle_from(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
    record.info["idle_from"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
    idle_from = record.info.get("idle_from")
    if idle_from is None or time.monotonic() - idle_from < _IDLE_BEFORE_PING:
        return
    try:
        dbapi_conn.execute("SELECT 1")
        dbapi_conn.rollback()
    except Exception as error:  # the pool retries with a new connection
        raise exc.DisconnectionError(str(error)) from error


class WriterLock:
    """This process's turn to write an SQLite file: a thread lock, then the file's `flock`.

    SQLite makes a writer that finds the database locked poll with growing sleeps (1, 2, 5,
    10… ms): a server's threads and worker processes waited longer than the writes took. A
    blocked `flock` wakes the moment the holder lets go, and the kernel drops it with a process
    that dies. Reentrant per thread (a nested write meets SQLite's own timeout, as before).
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._thread = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0
        self._owner = 0  # the thread holding the turn
        self._kept: tuple[int, Engine, Connection] | None = None  # (pid, engine, its connection)

    def __enter__(self) -> None:
        self._thread.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._owner = threading.get_ident()

    def __exit__(self, *_: object) -> None:
        if self._depth == 1 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._depth -= 1
        self._thread.release()

    def connection(self, engine: Engine) -> Connection | None:
        """The connection this process's outermost writer uses, opened once and kept.

        Only the holder of the turn uses it, so one is enough: a write transaction then skips
        checking a connection out of the pool and back. None when nested (the inner writer
        opens its own, as before) or when not holding the turn.
        """
        if self._depth != 1 or self._owner != threading.get_ident():
            return None
        kept = self._kept
        if kept is not None and kept[0] == os.getpid() and kept[1] is engine and not kept[2].closed:
            return kept[2]
        if kept is not None and kept[0] == os.getpid():
            kept[2].close()  # another engine on the same file wrote last
        conn = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
        self._kept = (os.getpid(), engine, conn)
        if not event.contains(engine, "engine_disposed", self._release):
            event.listen(engine, "engine_disposed", self._release)
        return conn

    def _release(self, engine: Engine) -> None:
        kept = self._kept
        if kept is not None and kept[1] is engine:
            self._kept = None
            if kept[0] == os.getpid():
                # Closed for good, not returned to the pool the disposal left behind: a restore
                # replaces the file next.
                kept[2].invalidate()
                kept[2].close()


_WRITERS: dict[str, WriterLock] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(engine: Engine) -> WriterLock | AbstractContextManager[None]:
    """Writers of one SQLite database take turns here before BEGIN IMMEDIATE (see WriterLock).

    PostgreSQL locks rows, not the database: nothing to wait for here.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    database = engine.url.database
    key = str(engine.url)
    with _WRITERS_GUARD:
        if key not in _WRITERS:
            on_disk = bool(database) and database != ":memory:"
            _WRITERS[key] = WriterLock(f"{database}.writer-lock" if on_disk else None)
        return _WRITERS[key]


def serial_writer(engine: Engine) -> Engine:
    """The engine a read-check-write transaction uses: on SQLite it takes the write lock at
    BEGIN (BEGIN IMMEDIATE), so no other writer slips in between the read and the write; on
    PostgreSQL rows are locked as they are read (`row_locks`)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


@lru_cache(maxsize=16)
def _serial(engine: Engine) -> Engine:
    """serial_writer's engine, made once per engine (a transaction is opened per action)."""
    return serial_writer(engine)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Every write of ours: take the writer's turn, yield the connection; commit when the block
    ends, roll back when it raises.

    The transaction begins with the first statement (SQLAlchemy's autobegin; a statement sent
    straight to the driver begins it first, services/driver.py), so a writer that writes
    nothing, or a nested one of the same thread, does not take the database's lock.
    SQLite: the turn is `writer_lock`'s and BEGIN is IMMEDIATE (`serial_writer`), on the
    connection the outermost writer keeps; PostgreSQL: a pooled connection, rows locked as they
    are read (`row_locks`, `claim`). The service layer builds its transaction object and unit of
    work on this (services/writetx.py); Core writers (delivery marks, the recompute) use it as is.
    """
    lock = writer_lock(engine)
    with lock:
        kept = lock.connection(engine) if isinstance(lock, WriterLock) else None
        conn = kept if kept is not None else _serial(engine).connect()
        try:
            yield conn
            if conn.in_transaction():
                conn.commit()
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise
        finally:
            if conn is not kept:
                conn.close()


_ONE_STATEMENT: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def one_statement(engine: Engine) -> Engine:
    """`engine` for a read of one statement (who is signed in, whether anything is given to
    them: asked on every page). On PostgreSQL in autocommit: the statement is its own
    transaction, one round trip, where BEGIN with it and a ROLLBACK after cost the client
    about as much CPU again. SQLite's BEGIN and ROLLBACK cost next to nothing: as it is."""
    if engine.dialect.name != "postgresql":
        return engine
    found = _ONE_STATEMENT.get(engine)
    if found is None:
        found = _ONE_STATEMENT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


# An action's statements each find their rows by a key (a case's id or number, its rows' case_id,
# a matter key): the plan is the same whatever the value, and planning it anew for every
# execution (make_engine's force_custom_plan, which lists and searches need) was about 40 % of the
# server's CPU for an action. PostgreSQL's default lets a kept statement's plan be reused.
GENERIC_PLANS = "auto"
_SET_PLANS = {GENERIC_PLANS: "SET LOCAL plan_cache_mode = auto"}


def begins_with_statement(driver: Any) -> bool:
    """Whether a statement sent now on this DBAPI connection would open its transaction alone:
    psycopg sends BEGIN on its own, and waits for it, before the first statement of a
    transaction (`execute_opening` sends them together)."""
    return getattr(driver, "pgconn", None) is not None and not driver.autocommit \
        and driver.pgconn.transaction_status == TransactionStatus.IDLE


def execute_opening(driver: Any, sql: str, params: Any, *, plans: str | None = None) -> Any:
    """PostgreSQL: the transaction's BEGIN and its first statement in one round trip; the cursor.

    psycopg opens a transaction by sending BEGIN and waiting for its answer before the first
    statement, a round trip of its own in every write transaction (also in pipeline mode).
    Here both go in one pipeline, so the server answers them together. While they are queued
    psycopg must not add a BEGIN of its own (autocommit for that moment); once BEGIN is sent the
    connection is in its transaction, and psycopg's usual handling (statements inside it,
    COMMIT or ROLLBACK) carries on as if it had sent BEGIN itself. An error in either statement
    is raised here, the transaction left for the caller to roll back.

    `plans`: the transaction's `plan_cache_mode` (`SET LOCAL`, in the same round trip), for a
    transaction whose statements all find their rows by key (`GENERIC_PLANS`); None: the
    connection's own (make_engine: every statement planned for its values).
    """
    driver.autocommit = True
    try:
        with driver.pipeline():
            driver.execute("BEGIN")
            if plans is not None:
                driver.execute(_SET_PLANS[plans])
            cursor = driver.execute(sql, params)
    finally:
        # Not the `autocommit` setter: it refuses inside a transaction, and this one is ours.
        driver._autocommit = False
    return cursor


def row_locks(bind: Engine | Connection) -> bool:
    """Whether the database locks rows (SELECT … FOR UPDATE). SQLite has one writer at a time,
    so a row lock there would add nothing to serial_writer's."""
    return bind.dialect.name == "postgresql"


def claim(query: Select[Any], bind: Engine | Connection) -> Select[Any]:
    """`query` taking its rows for this transaction where the database locks rows, skipping rows
    another transaction holds: concurrent senders and samplers share the work, never wait."""
    return query.with_for_update(skip_locked=True) if row_locks(bind) else query


def writers_overlap(engine: Engine) -> bool:
    """Whether writers on several connections make progress at once (PostgreSQL); on SQLite they
    take turns, so splitting a write across threads only adds hand-offs."""
    return engine.dialect.name != "sqlite"


def reads_on_loop(engine: Engine) -> bool:
    """Whether a short read (one case) costs this process less on the event loop than handed to a
    thread: when the database answers without a network hop. SQLite is a file read under WAL,
    never waiting for a writer; a PostgreSQL server on this host answers a keyed statement in a
    fraction of a millisecond, and the hand-over to a worker thread and back, with the threads
    contending for the GIL, cost more than that (docs/http.md). A server across a network keeps
    each read in a thread, where its round trips overlap other requests' work."""
    found = _ON_LOOP.get(engine)
    if found is None:
        found = _ON_LOOP[engine] = engine.dialect.name == "sqlite" or server_on_this_host(engine.url)
    return found


_ON_LOOP: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def server_on_this_host(url: str | URL, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a PostgreSQL URL's server is on this host: a Unix socket (no host, or a directory)
    or a loopback name or address, for every host it lists. libpq reads a missing host from
    PGHOST (`environ`, default os.environ) and otherwise uses its Unix socket."""
    parsed = make_url(url)
    environ = os.environ if environ is None else environ
    hosts = parsed.query.get("host") or parsed.host or environ.get("PGHOST")
    if isinstance(hosts, tuple):  # the query's host given more than once
        hosts = ",".join(hosts)
    return all(_local_host(host.strip()) for host in (hosts or "").split(","))


def _local_host(host: str) -> bool:
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: resolving it here would put a DNS lookup in every request


def insert_or_skip(table: Any, *, key: list[str]) -> dict[str, Any]:
    """An INSERT that yields to a row with the same `key` (ON CONFLICT DO NOTHING), per dialect
    name: the statement is compiled once per dialect, so callers pick theirs by name."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return {name: make(table).on_conflict_do_nothing(index_elements=key)
            for name, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    # Straight to the driver: BEGIN has no parameters or result, and it opens every transaction.
    conn.connection.dbapi_connection.execute(f"BEGIN {mode}")


def _undefer_search(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
    """A connection goes back to the pool indexing as every writer does, whatever its last
    writer left (models/search.py `deferred` clears it itself; this is the second guard)."""
    if record is not None:
        record.info.pop(SEARCH_DEFERRED, None)


def _sqlite_pragmas(dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    sql_functions(dbapi_conn, record.info)  # what the SQLAlchemy connection's `.connection.info` is


def sql_functions(dbapi_conn: Any, info: dict[str, Any] | None = None) -> None:
    """SQLite: the functions the search index's triggers call (duban.grams, duban.scopekeys,
    models/search.py), on a DBAPI connection; `info`, where a writer says it defers the index
    (a bare connection, as a tool opens one, never does)."""
    dbapi_conn.create_function(SQL_FUNCTION, -1, grams, deterministic=True)
    dbapi_conn.create_function(NARROW_FUNCTION, 1, narrow, deterministic=True)  # migration 0038
    # Two arguments: the triggers before migration 0035 (regions only); five: a case's every key
    # before 0043; six: and whether it has no deadline (before 0047); seven: and whether it is
    # finished.
    dbapi_conn.create_function(scopekeys.SQL_FUNCTION, 2, scopekeys.tokens, deterministic=True)
    for arity in (5, 6, 7):
        dbapi_conn.create_function(scopekeys.SQL_FUNCTION, arity, scopekeys.case_tokens, deterministic=True)
    flags = info if info is not None else {}
    dbapi_conn.create_function(SEARCH_DEFERRED, 0, lambda: flags.get(SEARCH_DEFERRED, False))


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().resolved_database_url)


def create_all(engine: Engine) -> None:
    """A new database's schema from the models, recorded at the migrations' head (quicker than
    running every migration; tests, benches and simulations make many)."""
    import duban.models  # noqa: F401  (registers every table)
    from duban.migrations import stamp_head

    SQLModel.metadata.create_all(engine)
    stamp_head(engine)
