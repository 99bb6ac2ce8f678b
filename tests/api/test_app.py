"""The application's lifetime: the scheduler starts with it and stops with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import duban.app
from duban.app import create_app
from tests.appworld import AppWorld, LiveServer


class FakeScheduler:
    def __init__(self) -> None:
        self.stopped = False

    def shutdown(self) -> None:
        self.stopped = True


def test_the_scheduler_runs_exactly_while_the_app_does(aw: AppWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Any] = []
    handle = FakeScheduler()

    def start(ctx: Any, *, settings: Any) -> FakeScheduler:
        started.append((ctx, settings))
        return handle

    monkeypatch.setattr(duban.app, "_scheduler_starter", lambda: start)
    app = create_app(aw.ctx, secret="s", scheduler=True)
    with LiveServer(app) as url:
        assert httpx.get(f"{url}/api/meta/health").status_code == 200
        assert started and started[0][0] is aw.ctx and not handle.stopped
    assert handle.stopped


def test_without_a_scheduler_module_the_app_still_serves(
        aw: AppWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duban.app, "_scheduler_starter", lambda: None)
    with LiveServer(create_app(aw.ctx, secret="s", scheduler=True)) as url:
        assert httpx.get(f"{url}/api/meta/health").status_code == 200


def test_an_unknown_route_is_a_json_404_under_api_and_a_chinese_page_elsewhere(
        aw: AppWorld, client: httpx.Client) -> None:
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and api.json()["code"] == "not_found" and api.json()["message_zh"]
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "找不到" in page.text
