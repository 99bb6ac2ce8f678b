"""SQLite writers take turns on a lock that wakes the next at once, not on SQLite's sleep-polling."""

from __future__ import annotations

import subprocess
import sys
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


def test_a_writer_in_another_process_waits_on_the_file_lock(ctx: ServiceContext) -> None:
    url = str(ctx.engine.url)
    child = ("import sys\nfrom duban.db import make_engine, writer_lock\n"
             f"with writer_lock(make_engine({url!r})):\n    print('in', flush=True)\n")
    service = CaseService(ctx)
    with service.transaction():
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=3)  # it starts, imports, and then must wait for us
            pytest.fail("the other process wrote while this one held the lock")
        except subprocess.TimeoutExpired:
            pass
    out, _ = proc.communicate(timeout=30)
    assert out.strip() == "in"
