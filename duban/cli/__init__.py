"""The `duban` command: one Typer app, a sub-command module per concern."""

from __future__ import annotations

import typer

from duban.cli import (
    admin,
    bench,
    calendar,
    cases,
    db,
    demo,
    documents,
    orgs,
    privacy,
    reports,
    serve,
    states,
    users,
)
from duban.cli.engine import register as register_engine_commands
from duban.cli.usage import UsageInChinese
from duban.flows.common import quiet_prefect_defaults

app = typer.Typer(cls=UsageInChinese, no_args_is_help=True, add_completion=False,
                  help="Duban (督办): supervision cases from hotline to solution.")
app.add_typer(calendar.app, name="calendar")
app.add_typer(cases.app, name="case")
documents.register(cases.app)  # documents, issue-document
app.add_typer(states.app, name="states")
register_engine_commands(app)  # sweep, scheduler, callbacks, notify, simulate
app.command("demo")(demo.demo)
reports.register(app)  # report, board, import, export
app.command("serve")(serve.serve)
app.add_typer(users.app, name="user")
app.add_typer(orgs.app, name="org")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(db.app, name="db")
app.add_typer(privacy.app, name="privacy")
app.command("backup")(admin.backup)
app.command("restore")(admin.restore)
app.command("bench")(bench.bench)


def main() -> None:
    quiet_prefect_defaults()
    app()
