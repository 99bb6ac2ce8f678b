"""`duban serve --workers N`: N uvicorn worker processes, the scheduler once beside them."""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import sqlite3
import subprocess
import sys
import time
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import httpx
import pytest

import duban.scheduler
from duban.cli.serve import WorkerListener, own_listener, tcp_listener, worker_app
from duban.db import create_all, get_engine
from tests.appworld import LiveServer, live_client
from tests.cli.serving import free_port, wait_until_healthy


def test_the_workers_listener_keeps_tcp_nodelay_on_accepted_connections() -> None:
    listener = tcp_listener("127.0.0.1", free_port())
    assert listener.proto == socket.IPPROTO_TCP

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0  # without it each keep-alive request waits ~40 ms


def test_each_worker_gets_a_listener_of_its_own_and_connections_spread_over_them() -> None:
    held = own_listener("127.0.0.1", 0, WorkerListener)  # what the supervisor holds: not listening
    port = held.getsockname()[1]
    # What each worker process finds when it unpickles the supervisor's socket list.
    workers = [pickle.loads(ForkingPickler.dumps(held)) for _ in range(2)]
    assert {w.getsockname()[1] for w in workers} == {port} and workers[0].fileno() != workers[1].fileno()
    assert all(w.proto == socket.IPPROTO_TCP for w in workers)  # TCP_NODELAY kept (see above)
    for worker in workers:
        worker.listen(64)
        worker.setblocking(False)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
    time.sleep(0.2)
    accepted = [0, 0]
    for i, worker in enumerate(workers):
        while True:
            try:
                worker.accept()[0].close()
            except BlockingIOError:
                break
            accepted[i] += 1
    assert sum(accepted) == 32 and min(accepted) > 0, accepted  # one shared socket: 32 and 0
    for sock in (*clients, *workers, held):
        sock.close()


def test_a_worker_never_starts_the_scheduler(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker started the scheduler")

    monkeypatch.setattr(duban.scheduler, "start_scheduler", refuse)
    create_all(get_engine())  # `serve` migrates before it starts its workers
    with LiveServer(worker_app()) as url:  # runs the app's lifespan
        assert httpx.get(f"{url}/api/meta/health").json() == {"status": "ok"}


def test_serve_with_two_workers_answers_and_schedules_the_jobs_once(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "policy.toml").write_text("[schedule]\nuse_prefect = false\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "DUBAN_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from duban.cli import main; main()", "serve", "--no-demo",
               "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        health = wait_until_healthy(server, port, 90)
        assert health.json() == {"status": "ok"}
        with live_client(base_url=f"http://127.0.0.1:{port}") as browser:
            assert all("登录督办系统" in browser.get("/login").text for _ in range(5))
        with sqlite3.connect(tmp_path / "duban.db") as db:
            jobs = sorted(row[0] for row in db.execute("SELECT id FROM apscheduler_jobs"))
        assert jobs == ["deadline-sweep", "deliver-notifications", "monthly-cycle", "sample-callbacks"]
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode("utf-8", "replace")
    assert server.returncode == 0, output
    assert output.count("Started server process") == 2, output  # the two workers
    assert "2个工作进程；调度器在主进程" in output
