"""The processes the crash harness kills: the web service, a sweep loop and a delivery loop.

Run as `python -m tests.faults.procs KIND --url DATABASE_URL --origin ISO ...` from the repository
root. Each builds its service context the way `duban serve` / `duban sweep` / `duban notify
deliver` do (settings from DUBAN_* in the environment), except for the clock: the harness runs
everything on one shared timeline that starts at `--origin` (real time, shifted into 2023, so the
calendar is the published one), and the engine runs `--ahead-days` later than the web service,
so that every case the clients dispatch is already far past its handling limit when the sweep
sees it and the whole escalation ladder is due. The loops never stop by themselves: the harness
kills them (SIGKILL) or, at the end, stops them with SIGTERM between two runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time

from duban.clock import OffsetClock, parse_local
from duban.services.context import ServiceContext

VIRTUAL_START = "2023-03-01 09:00"  # a Wednesday; 2023's holidays are published


class Stop:
    """SIGTERM asks a loop to finish its current run and exit (SIGKILL does not ask)."""

    requested = False

    @classmethod
    def install(cls) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(cls, "requested", True))


def clock(origin: str, ahead_days: float) -> OffsetClock:
    real_start = dt.datetime.fromisoformat(origin)
    virtual = parse_local(VIRTUAL_START) + dt.timedelta(days=ahead_days)
    return OffsetClock(virtual, real_start)


def context(args: argparse.Namespace) -> ServiceContext:
    return ServiceContext.from_settings(clock=clock(args.origin, args.ahead_days))


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from duban.app import create_app

    uvicorn.run(create_app(context(args)), host="127.0.0.1", port=args.port, log_level="warning",
                access_log=False)


def sweep_loop(args: argparse.Namespace) -> None:
    from duban.services.sweeps import run_deadline_sweep

    ctx = context(args)
    Stop.install()
    while not Stop.requested:
        print("begin", flush=True)  # noqa: T201  (the harness tells a kill mid-run by a begin without end)
        result = run_deadline_sweep(ctx, chunk_size=args.chunk_size)
        print("end", result.visited, result.as_dict(), flush=True)  # noqa: T201
        time.sleep(0.02)


def deliver_loop(args: argparse.Namespace) -> None:
    from duban.config.settings import get_settings
    from duban.notify.deliver import SmtpConfig, deliver_pending
    from duban.notify.sms import SmsConfig

    ctx = context(args)
    smtp = SmtpConfig.from_settings(get_settings(), ctx)
    sms = SmsConfig.from_settings(get_settings(), ctx.policy.notify)
    Stop.install()
    while not Stop.requested:
        print("begin", flush=True)  # noqa: T201
        result = deliver_pending(ctx, smtp, sms=sms, max_batches=1)
        print("end", result.claimed, result.as_dict(), flush=True)  # noqa: T201
        if not result.claimed:
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tests.faults.procs")
    parser.add_argument("kind", choices=("serve", "sweep", "deliver"))
    parser.add_argument("--origin", required=True, help="real time (ISO) at which the timeline starts")
    parser.add_argument("--ahead-days", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunk-size", type=int, default=5)
    args = parser.parse_args(argv)
    {"serve": serve, "sweep": sweep_loop, "deliver": deliver_loop}[args.kind](args)


if __name__ == "__main__":
    main(sys.argv[1:])
