"""`duban case documents` and `duban case issue-document`: a case's official documents on the
command line, through duban.services.documents with the actor `--as` names (the same rules as the
web: who may issue each kind, identity only with consent, a case out of scope is not found)."""

from __future__ import annotations

from pathlib import Path

import typer

from duban.cli.common import AS_HELP, actor_from, console, context, reported_errors
from duban.cli.common import table as columns


def register(app: typer.Typer) -> None:
    app.command("documents")(documents)
    app.command("issue-document")(issue_document)


def documents(number: str = typer.Argument(..., help="case number"),
              as_: str = typer.Option("dispatcher", "--as", help=AS_HELP)) -> None:
    """List the documents issued on the case, oldest first."""
    from duban.services.documents import documents_of

    ctx = context()
    with reported_errors():
        found = documents_of(ctx, number, actor=actor_from(ctx, as_))
    table = columns("documents")
    for d in found:
        table.add_row(str(d.id), d.label, d.number, d.to, str(d.issued_at)[:16], d.issued_by)
    console.print(table)


def issue_document(
    number: str = typer.Argument(..., help="case number"),
    kind: str = typer.Argument(..., help="transfer_form (交办单), supervision_letter (督办函), "
                                         "work_reminder (重要工作提示) or public_notice (通报)"),
    to: str | None = typer.Option(None, "--to", help="the unit's org code (the unit handling the case)"),
    pdf: Path | None = typer.Option(None, "--pdf", help="also write the document as a PDF here"),
    force: bool = typer.Option(False, "--force", help="replace --pdf if it exists"),
    as_: str = typer.Option("dispatcher", "--as", help=AS_HELP),
    user: str | None = typer.Option(None, help="name recorded in the audit trail"),
) -> None:
    """Issue the document (or find it, issued already) and print its 发文字号; --pdf writes it."""
    from duban.files import database_files, refuse_output, write_private
    from duban.reports.documents import document_pdf
    from duban.services.documents import compose
    from duban.services.documents import issue_document as issue

    ctx = context()
    with reported_errors():
        actor = actor_from(ctx, as_, user)
        if pdf is not None:
            refuse_output(pdf, force=force, protected=database_files(ctx.engine))  # before issuing
        issued = issue(ctx, number, kind, actor=actor, to=to)
        if pdf is not None:
            data = document_pdf(compose(ctx, number, issued.id, actor=actor))
            write_private(pdf, lambda tmp: tmp.write_bytes(data), force=force,
                          protected=database_files(ctx.engine))
    console.print(f"{issued.case_number}: {issued.label} {issued.number} → {issued.to}"
                  + (f"  → {pdf}" if pdf else ""))
