"""SQLite writers of one process queue on a lock in Python, not on SQLite's sleep-polling."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine

from duban.services import CaseService, ServiceContext
from tests.factories import world


@pytest.fixture
def ctx(engine: Engine, backend: str) -> ServiceContext:
    if backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows, not the database")
    return world(engine)


def test_a_second_writer_waits_for_the_first_then_goes_at_once(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    entered = threading.Event()

    def second() -> None:
        with service.transaction():
            entered.set()

    with service.transaction():
        other = threading.Thread(target=second)
        other.start()
        # (a Session begins lazily: without the lock the second writer would be inside at once)
        assert not entered.wait(0.3)
    assert entered.wait(5)
    other.join(5)


def test_a_nested_write_in_the_same_thread_does_not_wait_on_itself(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    with service.transaction():
        with service.transaction() as inner:
            assert inner is not None  # reentrant: reached, not blocked
