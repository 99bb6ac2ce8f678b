"""`duban import` and `duban export`: offices' Excel ledgers in, filtered case lists out."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from duban.cli.common import AS_HELP, actor_from, console, context, err_console, reported_errors, said
from duban.cli.common import table as columns


def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="ledger .xlsx or .csv"),
    office: str | None = typer.Option(None, help="office code for rows without 受理单位编码"),
    errors: Path | None = typer.Option(None, "--errors", help="also write rejected rows to this CSV"),
    force: bool = typer.Option(False, "--force", help="replace the --errors file if it exists"),
    as_: str = typer.Option("clerk", "--as", help=AS_HELP),
    user: str | None = typer.Option(None, help="name recorded in the audit trail"),
) -> None:
    """Register the cases of an Excel/CSV ledger (台账); bad rows are reported, not half-imported."""
    from duban.cells import csv_row
    from duban.files import database_files, write_private
    from duban.importer import import_file

    ctx = context()
    with reported_errors():
        actor = actor_from(ctx, as_, user)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task(file.name, total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = import_file(ctx, file, actor=actor, default_office=office, progress=advance)
    console.print(said("imported", source=result.source, rows=result.rows, created=result.created,
                       linked=result.linked, skipped=result.skipped, rejected=result.rejected))
    if result.errors:
        table = columns("import_errors")
        for e in result.errors[:200]:
            table.add_row(str(e.row), e.column, e.reason)
        err_console.print(table)
        if len(result.errors) > 200:
            err_console.print(said("more_errors", n=len(result.errors) - 200))
        if errors:
            def write(out: Path) -> None:
                with out.open("w", encoding="utf-8-sig", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(ctx.labels.columns["import_errors"])
                    writer.writerows(csv_row([e.row, e.column, e.reason]) for e in result.errors)

            with reported_errors():
                write_private(errors, write, force=force, protected=database_files(ctx.engine))
            console.print(said("errors_written", file=errors))
        raise typer.Exit(1 if not (result.created or result.linked or result.skipped) else 0)


def export(
    file: Path = typer.Argument(..., dir_okay=False, help="write .xlsx or .csv"),
    state: str | None = None,
    disposition: str | None = None,
    level: str | None = None,
    priority: str | None = None,
    warning: str | None = typer.Option(None, help="none, blue, yellow or red"),
    overdue: bool = typer.Option(False, "--overdue"),
    open_only: bool = typer.Option(False, "--open"),
    text: str | None = None,
    limit: int = typer.Option(1_000_000, min=1),
    as_: str = typer.Option("dispatcher", "--as", help=AS_HELP),
    force: bool = typer.Option(False, "--force", help="replace FILE if it exists (never the database)"),
) -> None:
    """Export a filtered case list; a unit's or a leader's file never holds complainant identity.

    FILE is created readable by you only; an existing FILE is kept unless --force.
    """
    from duban.reports.export import export_cases
    from duban.services.reading import scope

    ctx = context()
    with reported_errors():
        actor = actor_from(ctx, as_)
        flt = scope(ctx, actor=actor)
        flt.state, flt.disposition, flt.level, flt.priority, flt.warning = (
            state, disposition, level, priority, warning)
        flt.overdue, flt.open_only, flt.text, flt.limit = overdue or None, open_only, text, limit
        count = export_cases(ctx, flt, file, actor=actor, force=force)
    console.print(said("exported", file=file, n=count))
