"""Engines: a PostgreSQL connection the server dropped while it sat in the pool is replaced; a
write transaction's BEGIN travels with its first statement; a rollback keeps the statements
psycopg prepared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import pq
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from duban import db
from duban.db import make_engine, write_transaction
from duban.models import Org
from duban.services.driver import Prepared


@pytest.fixture
def dropped(engine: Engine) -> Iterator[tuple[Engine, int]]:
    """An engine of its own whose one pooled connection the server has just ended; its pid."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection, and its connections are not pinged")
    own = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with own.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.begin() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        yield own, pid
    finally:
        own.dispose()


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_not_failed(
        dropped: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    own, pid = dropped
    monkeypatch.setattr(db, "_IDLE_BEFORE_PING", 0.0)
    with own.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_a_connection_used_a_moment_ago_is_not_pinged_before_its_next_use(
        dropped: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    own, pid = dropped
    monkeypatch.setattr(db, "_IDLE_BEFORE_PING", 3600.0)
    # No SELECT 1 went first (it would have found the dead backend and replaced it): the
    # statement itself meets the dropped connection, and the pool then starts afresh.
    with pytest.raises(OperationalError), own.connect() as conn:
        conn.execute(text("SELECT 1"))
    with own.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


@pytest.fixture
def pg(engine: Engine) -> Iterator[Engine]:
    """An engine of its own: on the suite's shared engine a pooled connection that has opened
    five transactions sends BEGIN as a statement psycopg prepared, by name, not by its text."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to talk to: BEGIN costs no round trip there")
    own = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield own
    finally:
        own.dispose()


_COUNT_PROBES = Prepared(select(func.count()).select_from(Org))
_ADD_ORG = Prepared(insert(Org).values(code=bindparam("code"), name=bindparam("code"), kind="bureau",
                                       level="city", region_name="", email="", head_email="",
                                       leader_email="", autonomous=False))


def _sent_before_first_answer(conn: Connection, tmp_path: Path, run: Callable[[], object]) -> str:
    """What the client sent the server before the server's first answer, in libpq's trace."""
    pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    path = tmp_path / "libpq.trace"
    with path.open("w") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
    lines = path.read_text().splitlines()
    first_answer = next(i for i, line in enumerate(lines) if line.startswith("B\t"))
    return "\n".join(lines[:first_answer])


def test_a_write_transaction_sends_begin_with_its_first_statement_in_one_round_trip(
        pg: Engine, tmp_path: Path) -> None:
    with write_transaction(pg) as conn:
        sent = _sent_before_first_answer(conn, tmp_path, lambda: _COUNT_PROBES.scalar(conn))
    assert '"BEGIN"' in sent and "SELECT count(*)" in sent
    assert "Query" not in sent  # not BEGIN alone by the simple protocol, answered first


def test_the_first_statements_write_commits_with_the_block_and_rolls_back_when_it_raises(
        pg: Engine) -> None:
    with write_transaction(pg) as conn:
        _ADD_ORG.run(conn, {"code": "KEPT"})
    with pytest.raises(LookupError), write_transaction(pg) as conn:
        _ADD_ORG.run(conn, {"code": "GONE"})
        raise LookupError
    with write_transaction(pg) as conn:
        codes = set(conn.execute(select(Org.code)).scalars())
    assert "KEPT" in codes and "GONE" not in codes


def test_a_failing_first_statement_is_raised_as_sqlalchemy_would_and_the_connection_serves_on(
        pg: Engine) -> None:
    with write_transaction(pg) as conn:
        _ADD_ORG.run(conn, {"code": "TWICE"})
    with pytest.raises(IntegrityError), write_transaction(pg) as conn:
        _ADD_ORG.run(conn, {"code": "TWICE"})  # the code is unique
    for _ in range(3):  # whichever pooled connection comes next: in a transaction of its own again
        with write_transaction(pg) as conn:
            assert _COUNT_PROBES.scalar(conn) >= 1
            assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
            assert conn.connection.driver_connection.info.transaction_status \
                == pq.TransactionStatus.INTRANS  # type: ignore[union-attr]


@pytest.fixture
def pg_own(engine: Engine) -> Iterator[Engine]:
    """An engine of its own on the test's PostgreSQL database."""
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    own = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield own
    finally:
        own.dispose()


def test_statements_prepared_in_reads_survive_the_rollback_that_ends_each_read(pg_own: Engine) -> None:
    with pg_own.connect() as conn:
        for _ in range(8):  # psycopg prepares a statement on its 5th run
            assert conn.execute(text("SELECT count(*) FROM cases WHERE id > :n"), {"n": 0}).scalar_one() >= 0
            conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one() >= 1


def test_a_rollback_still_undoes_writes_and_clears_a_failed_transaction(pg_own: Engine) -> None:
    with pg_own.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE scratch (x int)"))
        conn.commit()
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == 0
        conn.rollback()
        with pytest.raises(Exception, match="division by zero"):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_a_kept_statement_is_planned_for_its_values_never_generically(pg_own: Engine) -> None:
    # A generic plan is blind to the values: for a search's word or a list's office it can be slower
    # by orders of magnitude than the plan made for them (docs/bench.md, "Short queries at 1M").
    with pg_own.connect() as conn:
        for n in range(12):
            conn.execute(text("SELECT count(*) FROM cases WHERE id > :n"), {"n": n}).scalar_one()
            conn.rollback()
        plans = conn.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                  "WHERE statement LIKE 'SELECT count(*) FROM cases WHERE id >%'")).one()
    assert plans.generic_plans == 0 and plans.custom_plans >= 5, plans


def test_no_statement_is_compiled_by_jit(pg_own: Engine) -> None:
    # JIT compiles what the planner costs high for tens of milliseconds, more than our statements run.
    with pg_own.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"


def test_a_connection_has_memory_for_an_exact_bitmap_of_a_common_word_s_rows(pg_own: Engine) -> None:
    # Past work_mem a bitmap keeps pages, not rows, and every row of them is compared again, its
    # grams worked out anew: 水 at a million cases with their reports took 834 ms at the 4 MB default.
    from duban.db import PG_WORK_MEM

    with pg_own.connect() as conn:
        assert conn.execute(text("SHOW work_mem")).scalar_one() == PG_WORK_MEM
        kilobytes = conn.execute(text("SELECT setting::int FROM pg_settings WHERE name = 'work_mem'")
                                 ).scalar_one()
    assert kilobytes >= 32 * 1024


def test_a_read_of_one_statement_is_one_round_trip_and_leaves_the_pool_transactional(
        pg: Engine, tmp_path: Path) -> None:
    """db.one_statement: on PostgreSQL the statement is its own transaction, no BEGIN before it
    nor ROLLBACK after; the connection goes back to the pool as every other, opening
    transactions again."""
    path = tmp_path / "libpq.trace"
    with db.one_statement(pg).connect() as conn:
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
        with path.open("w") as out:
            pgconn.trace(out.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            assert _COUNT_PROBES.scalar(conn) >= 0
            conn.close()  # back to the pool, still traced
            pgconn.untrace()
    sent = [line for line in path.read_text().splitlines() if line.startswith("F\t")]
    assert any("SELECT count(*)" in line for line in sent)
    assert not [line for line in sent if "BEGIN" in line or "ROLLBACK" in line], sent
    with pg.connect() as conn:
        _COUNT_PROBES.scalar(conn)
        assert conn.connection.driver_connection.pgconn.transaction_status \
            == pq.TransactionStatus.INTRANS  # type: ignore[union-attr]
        assert conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


def test_a_read_of_one_statement_on_sqlite_is_the_engine_itself(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's is the test above")
    assert db.one_statement(engine) is engine


@pytest.mark.parametrize(("url", "pghost", "local"), [
    ("postgresql://duban@127.0.0.1:5432/duban", None, True),
    ("postgresql://duban@127.8.0.3/duban", None, True),
    ("postgresql://duban@localhost/duban", None, True),
    ("postgresql+psycopg://duban@LocalHost/duban", None, True),
    ("postgresql://duban@[::1]:5432/duban", None, True),
    ("postgresql:///duban", None, True),  # libpq's Unix socket
    ("postgresql:///duban?host=/var/run/postgresql", None, True),
    ("postgresql:///duban?host=127.0.0.1,localhost", None, True),
    ("postgresql://duban@db.example.org/duban", None, False),
    ("postgresql://duban@10.0.0.5:5432/duban", None, False),
    ("postgresql://duban@[2001:db8::5]/duban", None, False),
    ("postgresql:///duban?host=127.0.0.1,10.0.0.2", None, False),  # a fallback across the network
    ("postgresql:///duban", "db.example.org", False),
    ("postgresql:///duban", "/run/postgresql", True),
    ("postgresql://duban@127.0.0.1/duban", "db.example.org", True),  # the URL's host wins
])
def test_a_server_is_on_this_host_only_by_a_socket_or_a_loopback_name_or_address(
        url: str, pghost: str | None, local: bool) -> None:
    environ = {} if pghost is None else {"PGHOST": pghost}
    assert db.server_on_this_host(url, environ) is local


def test_a_case_is_read_on_the_event_loop_of_a_local_database_only(engine: Engine) -> None:
    assert db.reads_on_loop(engine)  # SQLite, and the suite's PostgreSQL on loopback
    remote = make_engine("postgresql://duban@db.example.org/duban")  # never connected
    try:
        assert not db.reads_on_loop(remote)
    finally:
        remote.dispose()


def test_two_processes_that_make_the_application_role_at_once_both_succeed(pg_own: Engine) -> None:
    """Roles are the cluster's: two test workers (or two services) upgrading fresh databases at
    once both find no role and both create it; the second's CREATE then waits for the first and
    fails on the role's unique name, which the statement takes as the role being made."""
    import threading
    import uuid

    from duban.models.audit import APP_ROLE, APP_ROLE_GRANTS

    role = f"duban_race_{uuid.uuid4().hex[:8]}"
    statement = text(APP_ROLE_GRANTS[0].replace(APP_ROLE, role))
    second: list[BaseException | None] = []

    def make_it_too() -> None:
        try:
            with pg_own.begin() as conn:
                conn.execute(statement)
            second.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            second.append(exc)

    try:
        with pg_own.connect() as first:
            first.execute(statement)  # made, not committed: the other sees no role yet
            other = threading.Thread(target=make_it_too)
            other.start()
            other.join(timeout=1)
            assert other.is_alive(), "the second CREATE ROLE should wait for the first transaction"
            first.commit()
        other.join(timeout=30)
        assert second == [None]
    finally:
        with pg_own.begin() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
