"""One case is read on the event loop of a local database (`duban.shortread`); writes waiting for
their turn do not stall it; a plain route is handed to the thread pool once a request
(api/routing.py)."""

from __future__ import annotations

import inspect
import pkgutil
import threading
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

import duban.api
from duban.db import make_engine, reads_on_loop, writer_lock
from duban.shortread import short_read
from tests.api.test_cases import act, new_case, register
from tests.api.test_refusals import signed_in
from tests.appworld import AppWorld, live_client


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows: no writers' turn to hold")


def test_writes_waiting_for_the_writers_turn_go_through_after_it_while_reads_are_served(
        aw: AppWorld, client: httpx.Client, sqlite_only: None) -> None:
    number = new_case(client, aw)
    answers: dict[str, httpx.Response] = {}

    def call(name: str, send: object) -> None:
        with live_client(base_url=client.base_url) as own:
            answers[name] = send(own)  # type: ignore[operator]

    writers = [
        threading.Thread(target=call, args=("act", lambda c: act(
            c, aw, number, "key_supervise", "dispatcher", form={"unit": "GS-LZ-CG-GOV"}))),
        threading.Thread(target=call, args=("register", lambda c: register(c, aw))),
    ]
    with writer_lock(aw.ctx.engine):  # a long writer elsewhere (a sweep, an import) has the turn
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(0.5)
            assert writer.is_alive()  # waiting for the turn…
        read = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher"))
        assert read.status_code == 200 and read.json()["case"]["state"] == "received"  # …not the loop
        listed = client.get("/api/cases", headers=aw.auth("dispatcher"))
        assert listed.status_code == 200
    for writer in writers:
        writer.join(30)
    assert answers["act"].status_code == 200, answers["act"].text
    assert answers["act"].json()["case"]["state"] == "key_supervised"
    assert answers["register"].status_code == 201, answers["register"].text


def test_every_api_route_is_a_coroutine_so_its_answer_is_validated_without_a_second_hand_over() -> None:
    routers = [module.router for module in (import_module(f"duban.api.{info.name}")
                                            for info in pkgutil.iter_modules(duban.api.__path__))
               if isinstance(getattr(module, "router", None), APIRouter)]
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    assert len(routers) >= 11 and len(routes) >= 34
    plain = [route.path for route in routes if not inspect.iscoroutinefunction(route.dependant.call)]
    assert plain == []


def hand_overs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What is handed to the thread pool from here on."""
    seen: list[Any] = []
    to_pool = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(func)
        return await to_pool(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return seen


def test_a_plain_route_is_handed_to_the_thread_pool_once_a_request(
        aw: AppWorld, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    number = new_case(client, aw)
    assert client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher")).status_code == 200
    # the dispatcher's token is known from here on: no lookup in the pool
    handed = hand_overs(monkeypatch)
    answer = act(client, aw, number, "key_supervise", "dispatcher", form={"unit": "GS-LZ-CG-GOV"})
    assert answer.status_code == 200 and answer.json()["case"]["state"] == "key_supervised", answer.text
    assert len(handed) == 1, handed  # the action; its answer validated on the loop
    handed.clear()
    assert client.get("/api/meta/health").json() == {"status": "ok"}
    assert len(handed) == 1


def test_a_case_and_its_page_are_read_on_the_event_loop_of_a_local_database(
        aw: AppWorld, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    if not reads_on_loop(aw.ctx.engine):
        pytest.skip("the suite's database is across a network: its reads go to threads")
    number = new_case(client, aw)
    with signed_in(client, "dispatcher") as browser:
        token_known = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher"))
        assert token_known.status_code == 200
        seen = hand_overs(monkeypatch)
        assert browser.get(f"/cases/{number}").status_code == 200
        assert len(seen) == 1  # the navigation counted the reader's work queues first: in a thread
        seen.clear()
        answer = client.get(f"/api/cases/{number}", headers=aw.auth("dispatcher"))
        assert answer.status_code == 200 and answer.json()["case"]["number"] == number
        page = browser.get(f"/cases/{number}")
        assert page.status_code == 200 and number in page.text
        assert seen == []
        assert browser.get(f"/cases/{number}/history/timeline").status_code == 200
        assert len(seen) == 1  # a case's whole history, page by page, still in a thread


def test_a_case_read_of_a_server_across_a_network_is_handed_to_a_thread(
        aw: AppWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    handed = hand_overs(monkeypatch)
    remote = make_engine("postgresql://duban@db.example.org/duban")  # never connected
    threads: list[int] = []

    def read() -> str:
        threads.append(threading.get_ident())
        return "read"

    try:
        far: Any = SimpleNamespace(engine=remote)  # all short_read asks of its context
        assert anyio.run(short_read, far, read) == "read"
        assert len(handed) == 1 and threads[-1] != threading.get_ident()
        assert anyio.run(short_read, aw.ctx, read) == "read"  # the suite's own database is local
        assert len(handed) == 1 and threads[-1] == threading.get_ident()
    finally:
        remote.dispose()
