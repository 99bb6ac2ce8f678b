"""`duban audit …`, `duban backup`, `duban restore`: keeping the record whole."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.text import Text

from duban.cli.common import console, context, err_console, printed, reported_errors
from duban.cli.usage import refuse
from duban.config.settings import get_settings

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail (审计记录).")


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        refuse("time_format", "--since")
    if parsed.tzinfo is None:
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return parsed


@audit_app.command("verify")
def verify(
    all_: bool = typer.Option(False, "--all", help="(kept for scripts: every finding is listed anyway)"),
    case: str | None = typer.Option(None, "--case", help="check only this case (its number)"),
    since: str | None = typer.Option(None, "--since", help="check only cases with events since this "
                                                           "date or time (Asia/Shanghai)"),
    no_checkpoints: bool = typer.Option(False, "--no-checkpoints",
                                        help="do not compare with the checkpoint file"),
    other_database: bool = typer.Option(
        False, "--other-database",
        help="this database is not one the checkpoint file records (a copy, a test restore): "
             "pass without comparing rather than naming the missing checkpoints as a finding"),
    accept_unkeyed: bool = typer.Option(
        False, "--accept-unkeyed",
        help="a database from before the keyed chain (migration 0005): accept its old unkeyed events "
             "while their plain chain holds; they are only as safe as the first checkpoint taken "
             "after the upgrade, and an unkeyed event after a keyed one is still named"),
) -> None:
    """Check every event's MAC, the rows events name, each case row against its events, the
    account record and every user row against it, and the database against its last signed
    checkpoint; name each finding (exit 1)."""
    from duban.services.checkpoints import Place
    from duban.services.integrity import verify as run

    after = _since(since)  # a usage error before the database
    with reported_errors():
        report = run(context(), case=case, since=after,
                     place=None if no_checkpoints else Place.of(), accept_unkeyed=accept_unkeyed,
                     other_database=other_database)
    for finding in report.findings:
        err_console.print(Text.assemble((finding.case_number, "red"), f": {finding.problem}"), soft_wrap=True)
    against = printed("audit.against", checkpoint=report.checkpoint) if report.checkpoint else ""
    if report.findings:
        err_console.print(printed("audit.findings", findings=len(report.findings), cases=report.cases,
                                  events=report.events, against=against))
        raise typer.Exit(1)
    accounts = "" if case is not None else printed("audit.accounts", events=report.account_events)
    console.print(printed("audit.intact", cases=report.cases, events=report.events, against=against,
                          accounts=accounts))


@audit_app.command("checkpoint")
def checkpoint(
    other_database: bool = typer.Option(
        False, "--other-database",
        help="the file has no checkpoint of this database and it is not one moved here: do not "
             "compare it with the file's last checkpoint"),
) -> None:
    """Append a signed checkpoint of every case's chain head to the checkpoint file (the first
    of a database moved here is compared with the file's last; what went back is signed in it)."""
    from duban.services.checkpoints import Place, write_checkpoint

    place = Place.of()
    line = write_checkpoint(context().engine, place, other_database=other_database)
    console.print(printed("audit.checkpoint", n=line["n"], cases=line["cases"], events=line["events"],
                          root=line["root"][:16], file=place.log))
    for alarm in line["alarms"]:
        err_console.print(alarm, style="red", soft_wrap=True)
    if line["alarm_count"]:
        err_console.print(printed("audit.alarms", alarms=line["alarm_count"], n=line["n"]))


@audit_app.command("rotate-key")
def rotate_key() -> None:
    """Make a new audit key current; the old ones stay in the key file to verify old events."""
    from duban.services.auditkeys import rotate_key as run

    with reported_errors():
        old, new = run()
    console.print(printed("audit.key_rotated", new=new, old=old))


@audit_app.command("export")
def export(
    case: str | None = typer.Option(None, "--case", help="the case number"),
    accounts: bool = typer.Option(False, "--accounts", help="the account record instead of a case"),
    output: Path | None = typer.Option(None, "--output", "-o", help="file to write (default: stdout; "
                                                                    "created readable by you only)"),
    force: bool = typer.Option(False, "--force", help="replace OUTPUT if it exists"),
) -> None:
    """Write one case's trail, or the account record, with what an outside auditor needs to check
    it (scripts/audit-check)."""
    from duban.services.auditexport import export_accounts, export_case
    from duban.services.checkpoints import Place

    if (case is None) == (not accounts):
        refuse("case_or_accounts", "--case")
    with reported_errors():
        doc = export_case(context(), case, Place.of()) if case is not None else \
            export_accounts(context(), Place.of())
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    if output is None:
        console.out(text, highlight=False)
    else:
        from duban.files import database_files, write_private_text

        with reported_errors():
            write_private_text(output, text, force=force, protected=database_files(context().engine))
        events = len(doc["events"])
        console.print(printed("audit.accounts_exported", events=events, file=output) if case is None
                      else printed("audit.case_exported", number=case, events=events, file=output))


def backup(target: Path = typer.Argument(..., help="file to write (created readable by you only)"),
           force: bool = typer.Option(False, "--force", help="replace TARGET if it exists")) -> None:
    """Back up the database while the service runs (SQLite online backup, or pg_dump), after a
    signed checkpoint of the audit trail; the attached files go to TARGET.files beside it."""
    from duban.services.attachments import store_of
    from duban.services.backup import backup as run_backup
    from duban.services.backup import backup_files, files_beside
    from duban.services.checkpoints import Place, write_checkpoint

    ctx = context()
    with reported_errors():
        line = write_checkpoint(ctx.engine, Place.of())
        run_backup(ctx.engine, target, force=force)
        files = backup_files(ctx.engine, store_of(ctx), target)
    console.print(printed("backup.written", file=target, n=line["n"], files=files,
                          folder=files_beside(target)))


def restore(source: Path = typer.Argument(..., help="backup file"),
            yes: bool = typer.Option(False, "--yes", help="confirm replacing the database"),
            accept_older: bool = typer.Option(
                False, "--accept-older",
                help="restore even if the backup is older than the last checkpoint of this database "
                     "(events recorded since are lost; a backup cut short shows the same way)"),
            other_database: bool = typer.Option(
                False, "--other-database",
                help="the checkpoint file holds no checkpoint of this database, and that is expected"),
            accept_broken: bool = typer.Option(False, "--accept-broken",
                                               help="restore even if the backup fails verification")) -> None:
    """Replace the database with a backup (stop the service first), if its audit trail verifies,
    also against this database's checkpoints as `duban audit verify` does."""
    from duban.services.backup import restore_verified
    from duban.services.checkpoints import Place

    if not yes:
        refuse("restore_needs_yes", "--yes")
    with reported_errors():
        check = restore_verified(get_settings().resolved_database_url, source, force=accept_broken,
                                 accept_older=accept_older, place=Place.of(), other_database=other_database)
    report = check.report
    for finding in report.findings[:50]:
        err_console.print(Text.assemble((finding.case_number, "red"), f": {finding.problem}"), soft_wrap=True)
    if check.older:
        match = (printed("backup.matches_checkpoint", n=check.matching["n"], at=check.matching["at"])
                 if check.matching is not None else printed("backup.matches_no_checkpoint"))
        err_console.print(printed("backup.older", file=source, checkpoint=report.checkpoint, match=match),
                          soft_wrap=True)
    if not check.restored:
        if check.broken:
            err_console.print(printed("backup.refused_broken", file=source, findings=len(check.broken)),
                              style="red", soft_wrap=True)
        else:
            err_console.print(printed("backup.refused_older", file=source), style="red", soft_wrap=True)
        raise typer.Exit(1)
    if report.findings:
        err_console.print(printed("backup.restored_despite", file=source, findings=len(report.findings)),
                          style="yellow")
        _restore_files(source)
        return
    against = printed("audit.against", checkpoint=report.checkpoint) if report.checkpoint else ""
    console.print(printed("backup.restored", file=source, cases=report.cases, events=report.events,
                          against=against))
    _restore_files(source)


def _restore_files(source: Path) -> None:
    """The attached files the restored database names, put back into the store from the backup.

    Through an engine of its own: the database file was just replaced, and a pooled connection
    to the one before would read a file that is no longer there."""
    from duban.db import make_engine
    from duban.services.backup import files_beside, restore_files
    from duban.services.filestore import default_store

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with reported_errors():
            put, missing = restore_files(engine, default_store(), source)
    finally:
        engine.dispose()
    console.print(printed("backup.files_put_back", files=put, folder=files_beside(source)))
    if missing:
        for key in missing[:50]:
            err_console.print(printed("backup.file_missing", key=key), style="red")
        err_console.print(printed("backup.files_missing", files=len(missing)), style="red")
        raise typer.Exit(1)
