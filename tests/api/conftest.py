"""API tests: the app on a small world, served by uvicorn on loopback, called with httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.appworld import AppWorld, LiveServer, app_for, fast_password_hashing, live_client, make_world  # noqa: F401


@pytest.fixture
def aw(engine) -> AppWorld:  # type: ignore[no-untyped-def]
    return make_world(engine)


@pytest.fixture
def client(aw: AppWorld) -> Iterator[httpx.Client]:
    with LiveServer(app_for(aw)) as url, live_client(base_url=url) as http:
        yield http
