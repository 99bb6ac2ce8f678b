"""`duban serve`: the API, the pages and the scheduler on one port, with demo data on first start.

With `--workers N` uvicorn runs N worker processes (one per core: a Python process uses one), and
the scheduler runs once, in the supervising process, never in a worker: every worker runs the
same app, and a scheduler in each would run every job N times.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from duban.cli.common import console, context, migrated_context, printed
from duban.cli.common import table as columns

if TYPE_CHECKING:
    from duban.config.settings import Settings
    from duban.services.context import ServiceContext

# Tells the worker processes to run on the demo clock, as `serve` does in one process.
WORKER_CLOCK = "DUBAN_SERVE_CLOCK"
WORKER_PING_SECONDS = 30


def _empty(ctx) -> bool:  # type: ignore[no-untyped-def]
    from duban.services.reading import any_case

    return not any_case(ctx)


def worker_app():  # type: ignore[no-untyped-def]
    """The app one uvicorn worker serves (`duban serve --workers N`): no scheduler."""
    from duban.app import create_app
    from duban.config.settings import get_settings

    settings = get_settings()
    ctx = context()
    if os.environ.get(WORKER_CLOCK) == "demo":
        from duban.demo.clock import demo_clock

        ctx.clock = demo_clock(settings.data_dir)  # kept in the data folder: the same in every worker
    return create_app(ctx, settings=settings, scheduler=False)


def tcp_listener(host: str, port: int) -> socket.socket:
    """The listening socket uvicorn's worker processes share, made the way asyncio makes its own.

    uvicorn binds that socket itself with `proto` 0 (uvicorn issue #3149, open in 0.54); asyncio
    then never sets TCP_NODELAY on the connections it accepts, and every keep-alive request after
    a connection's first waits for the client's delayed ACK: two workers served fewer requests
    than one, with the CPU mostly idle (docs/bench.md).
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


class WorkerListener(socket.socket):
    """The workers' listener as the supervisor holds it: bound, never listening; each worker
    process that unpickles it gets a listener of its own on the same port (SO_REUSEPORT).

    With one socket shared by the workers, the worker that wakes first accepts every
    connection waiting (asyncio accepts up to the backlog per wake-up): eight connections opened
    together landed 7 and 1. With a socket per worker the kernel spreads connections over them.
    """

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return own_listener, (host, port)


def own_listener(host: str, port: int, kind: type[socket.socket] = socket.socket) -> socket.socket:
    """A listener in the port's SO_REUSEPORT group (made as tcp_listener makes its socket)."""
    family, sock_type, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    sock = kind(family, sock_type, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


@contextmanager
def stopped_by_signal_is_a_clean_exit() -> Iterator[None]:
    """SIGTERM and SIGINT end `serve` with status 0 once uvicorn has shut down gracefully.

    uvicorn re-raises the signal it caught after its shutdown, to the handler that was there
    before it: the default one kills the process (143 / 130) after a clean stop. As the
    multi-process supervisor does, serve ends normally instead.
    """
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_workers(app: str, *, workers: int, host: str, port: int, **options: Any) -> None:
    """uvicorn.run(app, workers=N, factory=True), each worker on its own listener of the port
    (WorkerListener), each keeping TCP_NODELAY."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    # uvicorn kills a worker that does not answer its supervisor's ping within 5 s: on a busy
    # 2-core machine a worker still importing the app answered later, and was killed and
    # replaced again and again ("Child process died"). A hung worker is still replaced.
    options.setdefault("timeout_worker_healthcheck", WORKER_PING_SECONDS)
    config = uvicorn.Config(app, factory=True, workers=workers, host=host, port=port, **options)
    Multiprocess(config, sockets=[own_listener(host, port, WorkerListener)]).run()


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0: every interface)"),
    port: int | None = typer.Option(None, min=1, max=65535, show_default="web in config/ports.toml"),
    demo: bool = typer.Option(True, "--demo/--no-demo",
                              help="on an empty database, build the demo cases and demo accounts"),
    seed: int = typer.Option(2023, help="random seed of the demo cases"),
    scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler",
                                   help="run the deadline sweeps here (one process per database should)"),
    real_clock: bool = typer.Option(False, "--real-clock",
                                    help="with demo data, run on today's date instead of the demo's"),
    workers: int = typer.Option(1, min=1, max=64,
                                help="worker processes (one per core); the scheduler runs once, beside them"),
) -> None:
    """Serve the web pages, the JSON API (/docs) and the deadline scheduler."""
    from duban.config.ports import default_port
    from duban.config.settings import get_settings

    port = port or default_port("web")
    settings = get_settings()
    ctx = migrated_context()
    if demo and not real_clock:
        _use_demo_clock(ctx, settings)
    if demo and _empty(ctx):
        from duban.demo.build import build_demo

        console.print(printed("serve.building_demo"))
        console.print(build_demo(ctx, seed=seed, fresh=False, progress=console))
    _welcome(ctx, settings, host=host, port=port, demo=demo)
    if workers == 1:
        _serve_one(ctx, settings, host=host, port=port, scheduler=scheduler)
    else:
        _serve_many(ctx, settings, host=host, port=port, scheduler=scheduler, workers=workers,
                    demo_clock=demo and not real_clock)


def _use_demo_clock(ctx: ServiceContext, settings: Settings) -> None:
    """The demo's cases live in 2023: served on today's clock, every one would be three years
    overdue and the escalation ladder would fire on all of them at the first sweep."""
    from duban.clock import shanghai
    from duban.demo.clock import demo_clock

    ctx.clock = demo_clock(settings.data_dir)
    console.print(printed("serve.demo_clock", time=f"{shanghai(ctx.now()):%Y-%m-%d %H:%M}"))


def _welcome(ctx: ServiceContext, settings: Settings, *, host: str, port: int, demo: bool) -> None:
    """Where to open the service, and with demo data the accounts to sign in with."""
    from duban.demo.accounts import ensure_demo_accounts

    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(printed("serve.database", url=settings.resolved_database_url))
    if demo:
        table = columns("demo_accounts", title=ctx.labels.cli.get("demo_accounts"))
        for account in ensure_demo_accounts(ctx, settings.data_dir):
            table.add_row(account.username, account.password, ctx.labels.of("roles", account.role),
                          f"{account.org_name} ({account.org_code})")
        console.print(table)
    console.print(printed("serve.open", url=url))


def _serve_one(ctx: ServiceContext, settings: Settings, *, host: str, port: int, scheduler: bool) -> None:
    import uvicorn

    from duban.app import create_app

    with stopped_by_signal_is_a_clean_exit():
        uvicorn.run(create_app(ctx, settings=settings, scheduler=scheduler), host=host, port=port,
                    log_level="info", proxy_headers=False)


def _serve_many(ctx: ServiceContext, settings: Settings, *, host: str, port: int, scheduler: bool,
                workers: int, demo_clock: bool) -> None:
    """N uvicorn workers, and the scheduler once, here in the supervising process."""
    console.print(printed("serve.workers", workers=workers)
                  + (printed("serve.scheduler_here") if scheduler else ""))
    if demo_clock:
        os.environ[WORKER_CLOCK] = "demo"  # inherited by the worker processes
    handle = None
    if scheduler:
        from duban.scheduler import start_scheduler

        handle = start_scheduler(ctx, settings=settings)
    try:
        run_workers("duban.cli.serve:worker_app", workers=workers, host=host, port=port, log_level="info",
                    proxy_headers=False)
    finally:
        if handle is not None:
            handle.shutdown()
