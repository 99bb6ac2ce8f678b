"""Requests per second and latency of the main HTTP routes, on the demo database, over loopback.

    python -m bench.http_bench [--seconds 10] [--concurrency 8] [--data-dir DIR] [--routes a,b]
                               [--database URL] [--cases N] [--workers N]

Run from the repository root. The first run builds the demo (seed 000's 1,481 cases, about a
minute) into DIR (default: a `duban-http-bench` folder in the temp directory), or into
`--database` (an empty database, e.g. PostgreSQL), and reuses it after. `--cases` is accepted
for `duban bench` and changes nothing: the demo's size is fixed.
The server is `create_app` under uvicorn (one worker process by default, `--workers N` for N of
them, as `duban serve --workers N` runs; no scheduler) in a subprocess, so the client's own work
does not share its interpreter; the client is httpx with `concurrency` requests in flight, and
shares the machine's cores with the server. Each route runs for a bounded time, after one second
of unmeasured warm-up.
Writes (register, an action) go through the service layer like any other request, so the numbers
include the transaction, the audit event and the answer (the case's row; for an action, where the
case stands and what may be done next). The bench's key-supervised cases gain a progress report
with every action request, and the data folder is reused: their history grows from run to run.

Prints req/s, p50, p99 and errors per route, and a BENCH line each (bench/common.py) with the
server's peak memory during that route (with several workers, the sum over the worker processes
and their supervisor). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import backend_of, emit, memory_mb

ROOT = Path(__file__).resolve().parents[1]


def prepare(data_dir: Path) -> dict[str, str]:
    """The demo database in data_dir (built once) and bench users; returns username → password."""
    os.environ["DUBAN_DATA_DIR"] = str(data_dir)
    from sqlmodel import Session, func, select

    from duban.config.settings import get_settings
    from duban.demo.accounts import ensure_demo_accounts
    from duban.demo.build import build_demo
    from duban.models import Case
    from duban.services.context import ServiceContext

    ctx = ServiceContext.from_settings()
    with Session(ctx.engine) as session:
        cases = session.exec(select(func.count()).select_from(Case)).one()
    if cases == 0:
        started = time.perf_counter()
        print("building the demo database (once)…", flush=True)
        summary = build_demo(ctx, seed=2023, fresh=False)
        print(summary, f"in {time.perf_counter() - started:.0f} s", flush=True)
    accounts = ensure_demo_accounts(ctx, get_settings().data_dir)
    ctx.engine.dispose()
    return {a.username: a.password for a in accounts}


def bench_app():  # type: ignore[no-untyped-def]
    """The app on the demo database (DUBAN_DATA_DIR), no scheduler: what each worker serves."""
    from duban.app import create_app
    from duban.services.context import ServiceContext

    return create_app(ServiceContext.from_settings())


def serve(port: int, workers: int) -> None:
    """The server process: uvicorn with `workers` processes (1: the app in this process)."""
    import uvicorn

    from duban.cli.serve import run_workers

    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "log_level": "warning",
                               "access_log": False, "ws": "none"}
    if workers == 1:
        uvicorn.run(bench_app(), **options)
    else:  # as `duban serve --workers N` runs them (its listener keeps TCP_NODELAY)
        run_workers("bench.http_bench:bench_app", workers=workers, **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_pids(pid: int) -> list[int]:
    """The server process and its children (uvicorn's workers), from /proc."""
    pids = [pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(stat.parent.name))
    return pids


def reset_peak(pid: int) -> bool:
    """Start a new peak-memory (VmHWM) window for the server's processes (Linux: clear_refs 5)."""
    try:
        for each in server_pids(pid):
            Path(f"/proc/{each}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def server_peak_mb(pid: int) -> float:
    return sum(memory_mb(pid=each) for each in server_pids(pid))


@dataclass
class Result:
    route: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (f"{self.route:<34} {self.count / self.seconds:8.1f} req/s   p50 {p50:7.1f} ms   "
                f"p99 {p99:7.1f} ms   n={self.count:<6} errors={self.errors}")


Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def drive(name: str, call: Call, clients: list[httpx.AsyncClient], seconds: float) -> Result:
    latencies: list[float] = []
    errors = 0
    warm_until = time.perf_counter() + 1.0
    stop = warm_until + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            began = time.perf_counter()
            if began >= stop:
                return
            try:
                status = (await call(client)).status_code
            except httpx.TransportError:  # the server dropped the request: an error, not the end
                status = 599
            took = time.perf_counter() - began
            if began >= warm_until:
                latencies.append(took)
            if status >= 400:  # counted in the warm-up too: a failure is one whenever it happens
                errors += 1

    await asyncio.gather(*(worker(c) for c in clients))
    return Result(name, len(latencies), errors, seconds, latencies)


async def connect(clients: list[httpx.AsyncClient], base: str) -> None:
    """Open each client's connection, one after the other, as users arriving would.

    Opened all at once, every connection goes to whichever uvicorn worker wakes first (its accept
    loop takes all that are waiting), and N workers measure as one.
    """
    for client in clients:
        await client.get("/api/meta/health")
        await asyncio.sleep(0.02)


async def login(base: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.post("/api/auth/login", json={"username": username, "password": password})
        answer.raise_for_status()
        return str(answer.json()["token"])


async def page_session(base: str, username: str, password: str) -> dict[str, str]:
    import re

    async with httpx.AsyncClient(base_url=base) as client:
        form = await client.get("/login")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert token is not None
        await client.post("/login", data={"username": username, "password": password, "csrf": token.group(1)})
        return dict(client.cookies)


async def run(base: str, accounts: dict[str, str], *, seconds: float, concurrency: int,
              only: set[str], server_pid: int, backend: str, workers: int) -> list[Result]:
    dispatcher = await login(base, "dispatcher", accounts["dispatcher"])
    unit = await login(base, "unit", accounts["unit"])
    cookies = await page_session(base, "dispatcher", accounts["dispatcher"])
    bearer = {"Authorization": f"Bearer {dispatcher}"}
    async with httpx.AsyncClient(base_url=base, headers=bearer) as probe:
        listed = (await probe.get("/api/cases", params={"limit": 500})).json()["items"]
        progress = (await probe.get("/api/cases", params={"state": "key_supervised", "limit": 500})).json()
    numbers = [r["number"] for r in listed]
    keyed = [r["number"] for r in progress["items"] if r["number"].startswith("GS-20")] or \
        [r["number"] for r in progress["items"]]
    rng = random.Random(1)
    serial = itertools.count()

    def register(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        n = next(serial)
        return client.post("/api/cases", json={
            "office_code": "GS", "title": f"压测登记第{n}件：某小区供水管网老化漏水", "category": "water",
            "priority": "livelihood", "complainant_name": "压测反映人", "complainant_phone": "19900000000",
            "subject_name": "某区水务局"})

    routes: dict[str, tuple[str, dict[str, str], dict[str, str], Call]] = {
        "GET /api/cases (province, 50)": ("http_list", bearer, {},
                                          lambda c: c.get("/api/cases", params={"limit": 50})),
        "GET /api/cases (unit)": ("http_list_unit", {"Authorization": f"Bearer {unit}"}, {},
                                  lambda c: c.get("/api/cases", params={"limit": 50})),
        "GET /api/cases/{number}": ("http_case", bearer, {},
                                    lambda c: c.get(f"/api/cases/{rng.choice(numbers)}")),
        "POST .../actions/report_progress": ("http_action", bearer, {}, lambda c: c.post(
            f"/api/cases/{rng.choice(keyed)}/actions/report_progress",
            json={"form": {"text": "本周进展：已约谈施工方，制定还款计划。"}})),
        "POST /api/cases (register)": ("http_register", bearer, {}, register),
        "GET /api/meta/dashboard": ("http_dashboard", bearer, {}, lambda c: c.get("/api/meta/dashboard")),
        "GET /inbox (page)": ("http_inbox_page", {}, cookies, lambda c: c.get("/inbox")),
        "GET /cases/{number} (page)": ("http_case_page", {}, cookies,
                                       lambda c: c.get(f"/cases/{rng.choice(numbers)}")),
        "GET /cases (list page)": ("http_list_page", {}, cookies, lambda c: c.get("/cases")),
    }
    results = []
    for name, (figure, headers, jar, call) in routes.items():
        if only and not any(word in name or word == figure for word in only):
            continue
        clients = [httpx.AsyncClient(base_url=base, headers=headers, cookies=jar, timeout=60)
                   for _ in range(concurrency)]
        await connect(clients, base)
        windowed = reset_peak(server_pid)
        try:
            result = await drive(name, call, clients, seconds)
        finally:
            for client in clients:
                await client.aclose()
        print(result.line(), flush=True)
        lat = sorted(result.latencies) or [0.0]
        emit(figure, result.count / result.seconds, "req/s", peak_mb=server_peak_mb(server_pid),
             backend=backend, route=name, errors=result.errors, concurrency=concurrency, workers=workers,
             p50_ms=statistics.median(lat) * 1000, peak_scope="route" if windowed else "server run",
             note=f"{name}; p50 {statistics.median(lat) * 1000:.1f} ms, {result.errors} errors")
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per route")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "duban-http-bench")
    parser.add_argument("--routes", default="", help="comma list of words (or figure names) selecting routes")
    parser.add_argument("--database", default=None, help="database for the demo (default: SQLite in DIR)")
    parser.add_argument("--cases", type=int, default=None, help="accepted, ignored: the demo's size is fixed")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: the server process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workers)
        return
    if args.database:
        os.environ["DUBAN_DATABASE_URL"] = args.database
    accounts = prepare(args.data_dir)
    port = free_port()
    env = {**os.environ, "DUBAN_DATA_DIR": str(args.data_dir)}
    server = subprocess.Popen([sys.executable, "-m", "bench.http_bench", "--serve", str(port),
                               "--workers", str(args.workers)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/meta/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        where = args.database or f"SQLite {args.data_dir / 'duban.db'}"
        print(f"uvicorn ({args.workers} worker{'s' if args.workers > 1 else ''}) on {base}, {where}, "
              f"{args.concurrency} in flight, {args.seconds:g} s per route, {os.cpu_count()} CPUs")
        only = {w.strip() for w in args.routes.split(",") if w.strip()}
        backend = backend_of(args.database) if args.database else "sqlite"
        asyncio.run(run(base, accounts, seconds=args.seconds, concurrency=args.concurrency, only=only,
                        server_pid=server.pid, backend=backend, workers=args.workers))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
