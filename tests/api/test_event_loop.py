"""One case is read on the event loop (`deps.on_the_loop`); writes waiting for their turn do not stall it."""

from __future__ import annotations

import threading

import httpx
import pytest

from duban.db import writer_lock
from tests.api.test_cases import act, new_case, register
from tests.appworld import AppWorld


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL writers lock rows: no writers' turn to hold")


def test_writes_waiting_for_the_writers_turn_go_through_after_it_while_reads_are_served(
        aw: AppWorld, client: httpx.Client, sqlite_only: None) -> None:
    number = new_case(client, aw)
    answers: dict[str, httpx.Response] = {}

    def call(name: str, send: object) -> None:
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
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

