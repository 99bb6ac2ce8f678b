"""Fault tests: crashes, mail outages, concurrency, fuzzing, security. Their figures are printed
at the end of the run (kills survived, requests fuzzed, 5xx seen, leaks found) by
tests/conftest.py, which pytest-xdist's controller loads (it collects no test, so never this file)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.appworld import AppWorld, LiveServer, app_for, fast_password_hashing, live_client, make_world  # noqa: F401


@pytest.fixture
def aw(engine: Engine) -> AppWorld:
    return make_world(engine)


@pytest.fixture
def client(aw: AppWorld) -> Iterator[httpx.Client]:
    with LiveServer(app_for(aw)) as url, live_client(base_url=url) as http:
        yield http
