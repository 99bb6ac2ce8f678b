"""Requests per second and latency of the main HTTP routes, measured with wrk, on the demo database.

    python -m bench.http_bench [--seconds 10] [--concurrency 8] [--threads 2] [--data-dir DIR]
                               [--routes a,b] [--database URL] [--cases N] [--workers N]
                               [--check-seconds S]

Run from the repository root; needs wrk (`apt-get install wrk`). The first run builds the demo
(seed 000's 1,481 cases, about a minute) into DIR (default: a `duban-http-bench` folder in the
temp directory), or into `--database` (an empty database, e.g. PostgreSQL), and reuses it after.
`--cases` is accepted for `duban bench` and changes nothing: the demo's size is fixed.
The server is `create_app` under uvicorn (one worker process by default, `--workers N` for N of
them, as `duban serve --workers N` runs; no scheduler) in a subprocess. The load is wrk's
(bench/wrk.py): `--concurrency` keep-alive connections (8), `--seconds` per route after one
unmeasured second; it shares the machine's cores with the server. Then the project's own client
(httpx, as many connections) loads the same route for `--check-seconds` as a second opinion.
A route where wrk saw any status ≥ 400 or socket error is reported FAILED, gets no figure, and
the script exits 1 after the other routes.
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
import json
import os
import random
import socket
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
from bench.wrk import Load, WrkMissing, run_wrk, wrk_path

ROOT = Path(__file__).resolve().parents[1]


def prepare(data_dir: Path) -> dict[str, str]:
    """The demo database in data_dir (migrated, then built once, as `duban demo` does) and bench
    users; returns username → password."""
    os.environ["DUBAN_DATA_DIR"] = str(data_dir)
    from sqlmodel import Session, func, select

    from duban.cli.common import migrated_context
    from duban.config.settings import get_settings
    from duban.demo import build
    from duban.demo.accounts import ensure_demo_accounts
    from duban.models import Case

    ctx = migrated_context()
    with Session(ctx.engine) as session:
        cases = session.exec(select(func.count()).select_from(Case)).one()
    if cases == 0:
        started = time.perf_counter()
        print("building the demo database (once)…", flush=True)
        summary = build.build_demo(ctx, seed=2023, fresh=False)
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


def server_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the server's processes have used so far, from /proc.

    Per request, it is the figure a shared machine disturbs least: req/s falls when other work
    takes the cores, the CPU a request costs much less.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in server_pids(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def database_cpu(url: str | None) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench's database, by pid, when
    the server runs on this host and /proc shows it; {} otherwise (SQLite works in the server's
    own process). Per request beside the server's: PostgreSQL's share of what a request costs."""
    if not url or backend_of(url) != "postgresql":
        return {}
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            pids = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")]
    except psycopg.Error:
        return {}
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def server_peak_mb(pid: int) -> float:
    return sum(memory_mb(pid=each) for each in server_pids(pid))


@dataclass
class Result:
    route: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]


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
            if not 200 <= status < 300:  # counted in the warm-up too: a failure is one whenever it happens
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


def route_loads(*, dispatcher: str, unit: str, cookie: str, numbers: list[str], keyed: list[str],
                nonce: str) -> dict[str, tuple[str, Load]]:
    """The routes measured: name → (figure, what wrk sends)."""
    bearer = {"Authorization": f"Bearer {dispatcher}"}
    as_json = {**bearer, "Content-Type": "application/json"}
    register = json.dumps({
        "office_code": "GS", "title": f"压测登记{nonce}-{{n}}：某小区供水管网老化漏水", "category": "water",
        "priority": "livelihood", "complainant_name": "压测反映人", "complainant_phone": "19900000000",
        "subject_name": "某区水务局"})  # ASCII (\u escapes): wrk's script is given ASCII
    progress = json.dumps({"form": {"text": "本周进展：已约谈施工方，制定还款计划。"}})
    page = {"Cookie": cookie, "Accept-Encoding": "gzip"}
    return {
        "GET /api/cases (province, 50)": ("http_list", Load("GET", ["/api/cases?limit=50"], bearer)),
        "GET /api/cases (unit)": ("http_list_unit", Load("GET", ["/api/cases?limit=50"],
                                                         {"Authorization": f"Bearer {unit}"})),
        "GET /api/cases/{number}": ("http_case", Load("GET", [f"/api/cases/{n}" for n in numbers], bearer)),
        "POST .../actions/report_progress": ("http_action", Load(
            "POST", [f"/api/cases/{n}/actions/report_progress" for n in keyed], as_json, body=progress)),
        "POST /api/cases (register)": ("http_register", Load("POST", ["/api/cases"], as_json,
                                                             serial_body=register)),
        "GET /api/meta/dashboard": ("http_dashboard", Load("GET", ["/api/meta/dashboard"], bearer)),
        # Pages as a browser asks for them: compressed (they are gzipped above 1 KB).
        "GET /inbox (page)": ("http_inbox_page", Load("GET", ["/inbox"], page)),
        "GET /cases/{number} (page)": ("http_case_page", Load("GET", [f"/cases/{n}" for n in numbers],
                                                              page)),
        "GET /cases (list page)": ("http_list_page", Load("GET", ["/cases"], page)),
    }


async def second_opinion(base: str, load: Load, *, seconds: float, concurrency: int) -> Result:
    """The same load from the project's own client (httpx, `concurrency` connections)."""
    rng = random.Random(1)
    serial = itertools.count()
    body = load.body.encode() if load.body is not None else None

    def call(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
        content = load.serial_body.replace("{n}", f"x-{next(serial)}").encode() if load.serial_body else body
        return client.request(load.method, rng.choice(load.paths), content=content)

    clients = [httpx.AsyncClient(base_url=base, headers=load.headers, timeout=60) for _ in range(concurrency)]
    await connect(clients, base)
    try:
        return await drive("httpx", call, clients, seconds)
    finally:
        for client in clients:
            await client.aclose()


async def sessions(base: str, accounts: dict[str, str]) -> dict[str, Any]:
    """Tokens, a page cookie and the case numbers the routes use."""
    dispatcher = await login(base, "dispatcher", accounts["dispatcher"])
    unit = await login(base, "unit", accounts["unit"])
    cookies = await page_session(base, "dispatcher", accounts["dispatcher"])
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {dispatcher}"}) as probe:
        listed = (await probe.get("/api/cases", params={"limit": 500})).json()["items"]
        progress = (await probe.get("/api/cases", params={"state": "key_supervised", "limit": 500})).json()
    keyed = [r["number"] for r in progress["items"] if r["number"].startswith("GS-20")] or \
        [r["number"] for r in progress["items"]]
    return {"dispatcher": dispatcher, "unit": unit, "numbers": [r["number"] for r in listed], "keyed": keyed,
            "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def run(base: str, accounts: dict[str, str], *, seconds: float, connections: int, threads: int,
        only: set[str], server_pid: int, backend: str, workers: int, check_seconds: float,
        database: str | None = None) -> list[str]:
    """Each route under wrk (then, briefly, the own client); returns the routes that failed."""
    given = asyncio.run(sessions(base, accounts))
    loads = route_loads(dispatcher=given["dispatcher"], unit=given["unit"], cookie=given["cookie"],
                        numbers=given["numbers"], keyed=given["keyed"], nonce=f"{time.time():.0f}")
    failed = []
    for name, (figure, load) in loads.items():
        if only and not any(word in name or word == figure for word in only):
            continue
        # wrk counts statuses >= 400 as errors, not a redirect (a page whose session ended): one
        # request first must answer 2xx.
        probe = httpx.request(load.method, base + load.paths[0], headers=load.headers, timeout=60,
                              content=(load.serial_body or "").replace("{n}", "probe") or load.body)
        if not 200 <= probe.status_code < 300:
            print(f"{name:<34} FAILED: answered {probe.status_code} before the load", flush=True)
            failed.append(f"{name}: answered {probe.status_code}")
            continue
        run_wrk(base, load, seconds=1, connections=connections, threads=threads)  # warm-up, unmeasured
        windowed = reset_peak(server_pid)
        cpu, db_before = server_cpu_seconds(server_pid), database_cpu(database)
        result = run_wrk(base, load, seconds=seconds, connections=connections, threads=threads)
        cpu_ms = (server_cpu_seconds(server_pid) - cpu) * 1000 / max(1, result.requests)
        db_after = database_cpu(database)
        db_ms = (sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items()) * 1000
                 / max(1, result.requests)) if db_after else None
        peak = server_peak_mb(server_pid)
        p50, p99 = (result.percentiles.get(p, 0.0) * 1000 for p in (50, 99))
        db_text = f" + PostgreSQL {db_ms:.2f}" if db_ms is not None else ""
        line = (f"{name:<34} {result.rate:8.1f} req/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   "
                f"server CPU {cpu_ms:5.2f}{db_text} ms/req   n={result.requests:<6} errors={result.errors}")
        opinion = None
        if check_seconds > 0:
            opinion = asyncio.run(second_opinion(base, load, seconds=check_seconds, concurrency=connections))
            line += f"   (httpx: {opinion.count / opinion.seconds:.0f} req/s, errors={opinion.errors})"
        if result.failed:
            print(f"{line}\n  FAILED: {result.why_failed()}", flush=True)
            failed.append(f"{name}: {result.why_failed()}")
            continue  # a refused request answered fast is not a figure
        print(line, flush=True)
        note = (f"{name}; wrk, {connections} connections; p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                f"server CPU {cpu_ms:.2f} ms per request")
        extra: dict[str, Any] = {}
        if db_ms is not None:
            note += f", PostgreSQL's {db_ms:.2f} ms"
            extra["db_cpu_ms"] = db_ms
        if opinion is not None:
            extra["httpx_rps"] = opinion.count / opinion.seconds
            note += f"; httpx {extra['httpx_rps']:.0f} req/s"
        emit(figure, result.rate, "req/s", peak_mb=peak, backend=backend, route=name, errors=result.errors,
             concurrency=connections, workers=workers, client="wrk", p50_ms=p50, p99_ms=p99, cpu_ms=cpu_ms,
             peak_scope="route" if windowed else "server run", note=note, **extra)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per route (wrk)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (wrk's -c; default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads (default 2)")
    parser.add_argument("--check-seconds", type=float, default=None,
                        help="seconds of the own httpx client per route, as a second opinion "
                             "(default: a third of --seconds, at least 1; 0: none)")
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
    try:
        wrk_path()
    except WrkMissing as exc:
        raise SystemExit(str(exc)) from None
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
              f"wrk with {args.concurrency} connections, {args.seconds:g} s per route, {os.cpu_count()} CPUs")
        only = {w.strip() for w in args.routes.split(",") if w.strip()}
        backend = backend_of(args.database) if args.database else "sqlite"
        check = args.check_seconds if args.check_seconds is not None else max(1.0, args.seconds / 3)
        failed = run(base, accounts, seconds=args.seconds, connections=args.concurrency, threads=args.threads,
                     only=only, server_pid=server.pid, backend=backend, workers=args.workers,
                     check_seconds=check, database=args.database)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failed:
        raise SystemExit("FAILED (requests refused under load): " + "; ".join(failed))


if __name__ == "__main__":
    main()
