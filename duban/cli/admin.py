"""`duban audit verify`, `duban backup`, `duban restore`: keeping the record whole."""

from __future__ import annotations

from pathlib import Path

import typer

from duban.cli.common import console, context, err_console, reported_errors
from duban.config.settings import get_settings

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail (审计记录).")


@audit_app.command("verify")
def verify(
    all_: bool = typer.Option(False, "--all", help="list every broken chain, not only the first"),
) -> None:
    """Check every case's audit chain; report the first tampered or missing event (exit 1)."""
    from duban.services.integrity import verify_audit

    cases, events, broken = verify_audit(context(), stop_at_first=not all_)
    for b in broken:
        err_console.print(f"[red]{b.case_number}[/red]: {b.problem}")
    if broken:
        raise typer.Exit(1)
    console.print(f"audit trail intact: {cases} cases, {events} events")


def backup(target: Path = typer.Argument(..., help="file to write (created readable by you only)"),
           force: bool = typer.Option(False, "--force", help="replace TARGET if it exists")) -> None:
    """Back up the database while the service runs (SQLite online backup, or pg_dump)."""
    from duban.services.backup import backup as run_backup

    with reported_errors():
        run_backup(context().engine, target, force=force)
    console.print(f"backup written to {target}")


def restore(source: Path = typer.Argument(..., help="backup file"),
            yes: bool = typer.Option(False, "--yes", help="confirm replacing the database")) -> None:
    """Replace the database with a backup (stop the service first), then verify the audit trail."""
    from duban.services.backup import restore as run_restore
    from duban.services.integrity import verify_audit

    if not yes:
        raise typer.BadParameter("restoring replaces the whole database: add --yes", param_hint="--yes")
    with reported_errors():
        run_restore(get_settings().resolved_database_url, source)
    cases, events, broken = verify_audit(context())
    if broken:
        err_console.print(f"[red]restored, but the audit chain is broken[/red]: {broken[0]}")
        raise typer.Exit(1)
    console.print(f"restored from {source}; audit trail intact ({cases} cases, {events} events)")
