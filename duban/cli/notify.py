"""`duban notify`: deliver the outbox, list it, put failed messages back in the queue."""

from __future__ import annotations

import json

import typer

from duban.cli.common import console, context, printed_of, reported_errors, said
from duban.cli.common import table as columns
from duban.clock import shanghai

app = typer.Typer(no_args_is_help=True, help="Email notifications (the outbox).")


@app.command("deliver")
def deliver(
    max_batches: int | None = typer.Option(None, min=1),
    flow: bool = typer.Option(False, "--flow", help="run the Prefect flow deliver-notifications"),
) -> None:
    """Send what is due now (SMTP from DUBAN_SMTP_HOST / DUBAN_SMTP_PORT)."""
    from duban.config.settings import get_settings

    ctx = context()
    with reported_errors():
        if flow:
            from duban.flows.common import local_run_settings, run_parameters
            from duban.flows.deliver_notifications import deliver_notifications_flow

            with local_run_settings():
                state = deliver_notifications_flow(max_batches=max_batches, return_state=True,
                                                   **run_parameters(ctx))
            result = state.result(raise_on_failure=False)
            if state.is_failed():  # mail left waiting for the server: said, and a non-zero status
                console.print_json(json.dumps(result))
                console.print(state.message or "")
                raise typer.Exit(1)
        else:
            from duban.notify.deliver import SmtpConfig, deliver_pending
            from duban.notify.sms import SmsConfig

            result = deliver_pending(ctx, SmtpConfig.from_settings(get_settings(), ctx),
                                     sms=SmsConfig.from_settings(get_settings(), ctx.policy.notify),
                                     max_batches=max_batches).as_dict()
    console.print_json(json.dumps(result))


@app.command("list")
def list_(
    failed: bool = typer.Option(False, "--failed", help="only messages that failed for good"),
    pending: bool = typer.Option(False, "--pending", help="only messages not sent yet"),
    limit: int = typer.Option(50, min=1, max=10000),
) -> None:
    """The outbox, newest first, with status, attempts and the last error."""
    from duban.services.outboxview import queued_mail

    table = columns("outbox")
    # A complainant's number or address is identity: never printed (queued_mail masks it).
    for n in queued_mail(context(), failed=failed, pending=pending, limit=limit):
        table.add_row(str(n.id), printed_of("outbox_status", n.status), str(n.attempts), n.to, n.subject[:40],
                      shanghai(n.created_at).strftime("%Y-%m-%d %H:%M"), n.last_error[:60])
    console.print(table)


@app.command("retry")
def retry(ids: list[int] = typer.Argument(..., help="ids of failed notifications")) -> None:
    """Queue failed messages again (after fixing an address, say)."""
    from duban.services.outbox import queue_again

    ctx = context()
    done = queue_again(ctx.engine, ids, now=ctx.now())
    console.print(said("queued_again", n=done))
