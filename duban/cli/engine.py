"""`duban sweep`, `duban scheduler`, `duban callbacks`: the deadline engine from the command line.

`register(app)` adds them (and `duban notify`, `duban simulate`) to the main app.
"""

from __future__ import annotations

import json
import time

import typer

from duban.cli.common import AS_HELP, actor_from, console, context, printed, printed_of, reported_errors
from duban.cli.common import table as columns
from duban.cli.usage import refuse

scheduler_app = typer.Typer(no_args_is_help=True, help="The engine's timetable (APScheduler).")
callbacks_app = typer.Typer(no_args_is_help=True, help="The callback queue: 抽查回访 and 回头看.")


def sweep(
    flow: bool = typer.Option(False, "--flow", help="run it as the Prefect flow deadline-sweep"),
    chunk_size: int | None = typer.Option(None, min=1, help="cases per transaction"),
) -> None:
    """Run one deadline sweep now: colours, escalation-ladder steps, progress reminders."""
    ctx = context()
    with reported_errors():
        if flow:
            from duban.flows.common import local_run_settings, run_parameters
            from duban.flows.deadline_sweep import deadline_sweep_flow

            with local_run_settings():
                result = deadline_sweep_flow(chunk_size=chunk_size, **run_parameters(ctx))
        else:
            from duban.services.checkpoints import checkpoint_after
            from duban.services.sweeps import run_deadline_sweep

            result = run_deadline_sweep(ctx, chunk_size=chunk_size).as_dict()
            line = checkpoint_after(ctx.engine, "sweep")
            result["audit_checkpoint"] = line["n"] if line else None
    console.print_json(json.dumps(result, ensure_ascii=False))


@scheduler_app.command("run")
def scheduler_run() -> None:
    """Run the engine alone in the foreground (sweeps, mail, callbacks, monthly cycle)."""
    from duban.config.settings import get_settings
    from duban.scheduler import start_scheduler

    ctx = context()
    with reported_errors():
        scheduler = start_scheduler(ctx, settings=get_settings())
    for job in scheduler.get_jobs():
        console.print(printed("scheduler.job", job=job.id, trigger=job.trigger, next=job.next_run_time))
    console.print(printed("scheduler.running"))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)


@scheduler_app.command("run-job")
def scheduler_run_job(name: str = typer.Argument(..., help="deadline-sweep, deliver-notifications, "
                                                           "sample-callbacks or monthly-cycle")) -> None:
    """Run one of the scheduled jobs once, now, as the scheduler would."""
    from duban.config.settings import get_settings
    from duban.scheduler import JOBS, run_job

    if name not in JOBS:
        refuse("one_of", "NAME", names="、".join(JOBS))
    console.print_json(json.dumps(run_job(name, context(), get_settings()), ensure_ascii=False, default=str))


@callbacks_app.command("list")
def callbacks_list(kind: str | None = typer.Option(None, help="callback or revisit"),
                   limit: int = typer.Option(50, min=1),
                   as_: str = typer.Option("clerk", "--as", help=AS_HELP)) -> None:
    """The open call list, oldest first."""
    from duban.services.callbacks import callback_queue

    ctx = context()
    actor = actor_from(ctx, as_)
    table = columns("callback_queue")
    for item in callback_queue(ctx, actor=actor, kind=kind, limit=limit):
        table.add_row(str(item.id), ctx.labels.of("actions", f"queue_{item.kind}"), item.case_number,
                      item.title[:24], item.unit, printed_of("callback_reasons", item.reason),
                      str(item.queued_at)[:16], item.assignee)
    console.print(table)


@callbacks_app.command("sample")
def callbacks_sample() -> None:
    """Sample verified and long-closed cases into the call list now."""
    from duban.services.callbacks import sample_callbacks

    console.print_json(json.dumps(sample_callbacks(context()).as_dict()))


@callbacks_app.command("revisit-ok")
def callbacks_revisit_ok(number: str, note: str = typer.Option(""),
                         as_: str = typer.Option("supervisor", "--as", help=AS_HELP)) -> None:
    """Record a revisit (回头看) that found the problem still solved."""
    from duban.services.callbacks import complete_revisit

    ctx = context()
    with reported_errors():
        case = complete_revisit(ctx, number, actor=actor_from(ctx, as_), note=note)
    console.print(f"{case.number}: {ctx.labels.of('actions', 'revisit_satisfied')}")


def register(app: typer.Typer) -> None:
    from duban.cli import notify, simulate

    app.command("sweep")(sweep)
    app.add_typer(scheduler_app, name="scheduler")
    app.add_typer(callbacks_app, name="callbacks")
    app.add_typer(notify.app, name="notify")
    app.command("simulate")(simulate.simulate)
