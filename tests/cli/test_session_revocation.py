"""Revocation across worker processes: `duban serve --workers 2`, a user signed in on both workers,
then sign-out, `duban user passwd` or `duban user disable`: the next request on either worker refuses
the old cookie and the old token (each worker remembers token owners for 5 s: services/sessions.py).

Which worker served a request is read from /proc: the server side of the request's connection is a
socket that exactly one of the worker processes holds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import get_engine, make_engine
from duban.schema import upgrade
from duban.services import ServiceContext
from duban.services.users import create_user
from tests.appworld import live_client
from tests.cli.serving import free_port, wait_until_healthy
from tests.factories import ORGS, install_orgs

PASSWORD = "correct horse 甘肃"
USERS = ("leaving", "forgetful", "dismissed")


@dataclass
class Served:
    url: str
    port: int
    pid: int
    data_dir: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("revocation")
    engine = make_engine(f"sqlite:///{data_dir / 'duban.db'}")
    upgrade(engine)
    install_orgs(engine, ORGS)
    ctx = ServiceContext(engine=engine)
    for username in USERS:
        create_user(ctx, username=username, password=PASSWORD, role="clerk", org_code="GS")
    engine.dispose()
    port = free_port()
    env = {**os.environ, "DUBAN_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from duban.cli import main; main()", "serve", "--no-demo",
               "--no-scheduler", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(server, port, 90)
        yield Served(f"http://127.0.0.1:{port}", port, server.pid, data_dir)
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode("utf-8", "replace")
    assert output.count("Started server process") == 2, output


def _workers(supervisor: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == supervisor:
            children.append(int(stat.parent.name))
    return children


def worker_of(served: Served, answer: httpx.Response) -> int:
    """The pid of the worker process holding the server side of the answer's connection."""
    client_port = answer.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)) == (served.port, client_port):
            inode = fields[9]
    assert inode is not None, "the connection is not in /proc/net/tcp"
    for pid in _workers(served.pid):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if f"socket:[{inode}]" in links:
            return pid
    raise AssertionError("no worker holds the connection")


def _sign_in(served: Served, username: str) -> tuple[str, dict[str, str]]:
    """A bearer token and a page cookie of the user."""
    token = httpx.post(f"{served.url}/api/auth/login",
                       json={"username": username, "password": PASSWORD}).json()["token"]
    with live_client(base_url=served.url) as browser:
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', browser.get("/login").text)
        assert csrf is not None
        signed = browser.post("/login", data={"username": username, "password": PASSWORD,
                                              "csrf": csrf.group(1)})
        assert signed.status_code == 303
        return token, dict(browser.cookies)


def _on_both_workers(served: Served, token: str, cookies: dict[str, str]) -> dict[int, list[httpx.Client]]:
    """Keep-alive clients until each worker has one on which the token and the cookie worked."""
    clients: dict[int, list[httpx.Client]] = {}
    for _ in range(60):
        client = live_client(base_url=served.url, cookies=cookies,
                              headers={"Authorization": f"Bearer {token}"})
        me = client.get("/api/auth/me")
        assert me.status_code == 200 and client.get("/inbox").status_code == 200
        clients.setdefault(worker_of(served, me), []).append(client)
        if len(clients) == 2:
            return clients
    raise AssertionError("the kernel never handed a connection to the second worker")


def _run_cli(served: Served, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    """`duban ARGS` on the server's data folder (in this process: faster than the 5 s cache)."""
    monkeypatch.setenv("DUBAN_DATA_DIR", str(served.data_dir))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
    finally:
        get_engine(get_settings().resolved_database_url).dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


@pytest.mark.parametrize("how", ["logout", "passwd", "disable"])
def test_every_worker_refuses_the_old_cookie_and_token_on_the_next_request(
        served: Served, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    username = dict(zip(("logout", "passwd", "disable"), USERS, strict=True))[how]
    token, cookies = _sign_in(served, username)
    spare_token, _ = _sign_in(served, username)  # another device's: it ends too
    clients = _on_both_workers(served, token, cookies)
    try:
        for group in clients.values():  # fresh in every worker's cache just before the revocation
            for client in group:
                assert client.get("/api/auth/me").status_code == 200
                assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {spare_token}"}
                                  ).status_code == 200
        if how == "logout":
            assert clients[min(clients)][0].post("/api/auth/logout").status_code == 204
        elif how == "passwd":
            _run_cli(served, monkeypatch, "user", "passwd", username, "--password", "new passphrase 甘肃")
        else:
            _run_cli(served, monkeypatch, "user", "disable", username)
        refused_by = set()
        for group in clients.values():
            for client in group:
                me = client.get("/api/auth/me")
                assert me.status_code == 401, (how, me.text)
                spare = client.get("/api/auth/me", headers={"Authorization": f"Bearer {spare_token}"})
                assert spare.status_code == 401
                page = client.get("/inbox")
                assert page.status_code == 303 and page.headers["location"].startswith("/login")
                refused_by.add(worker_of(served, me))
        assert refused_by == set(clients) and len(refused_by) == 2
    finally:
        for group in clients.values():
            for client in group:
                client.close()
    again = httpx.post(f"{served.url}/api/auth/login", json={"username": username, "password": PASSWORD})
    assert again.status_code == (200 if how == "logout" else 401)  # the old password, after passwd: no
    if how == "disable":
        assert again.json()["code"] == "account_disabled"
        _run_cli(served, monkeypatch, "user", "enable", username)
        assert httpx.post(f"{served.url}/api/auth/login",
                          json={"username": username, "password": PASSWORD}).status_code == 200
