"""Engines: a PostgreSQL connection the server dropped while it sat in the pool is replaced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from duban import db
from duban.db import make_engine


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
