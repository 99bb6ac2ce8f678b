"""Fault tests: crashes, mail outages, concurrency, fuzzing, security. Their figures are printed
at the end of the run (kills survived, requests fuzzed, 5xx seen, leaks found)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.appworld import AppWorld, LiveServer, app_for, fast_password_hashing, make_world  # noqa: F401
from tests.faults.figures import summary_lines


@pytest.fixture
def aw(engine: Engine) -> AppWorld:
    return make_world(engine)


@pytest.fixture
def client(aw: AppWorld) -> Iterator[httpx.Client]:
    with LiveServer(app_for(aw)) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if lines:
        terminalreporter.section("faults: figures")
        for line in lines:
            terminalreporter.write_line(line)
