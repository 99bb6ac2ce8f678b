"""`duban privacy redact`: recompute every stored redacted text with the current rules."""

from __future__ import annotations

import typer

from duban.cli.common import console, context, printed, reported_errors

app = typer.Typer(no_args_is_help=True, help="Complainants' identity in stored texts (保密).")


@app.command("redact")
def redact(
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="rows per transaction"),
    check: bool = typer.Option(False, "--check", help="write nothing: count the twins that differ from "
                                                      "the rules (exit 1 if any)"),
) -> None:
    """Recompute every redacted twin (after changing privacy.toml or upgrading); prints counts."""
    from duban.services.reredact import redact_all

    per_table = "privacy.table_differ" if check else "privacy.table_rewritten"

    def progress(table: str, looked_at: int, changed: int) -> None:
        console.print("  " + printed(per_table, table=table, rows=looked_at, changed=changed), end="\r")

    with reported_errors():
        counts = redact_all(context().engine, chunk_size=chunk_size, progress=progress, check=check)
    for table, looked_at in counts.looked_at.items():
        console.print(printed(per_table, table=table, rows=looked_at, changed=counts.changed[table]))
    if check:
        console.print(printed("privacy.differ", changed=counts.total_changed))
        raise typer.Exit(1 if counts.total_changed else 0)
    console.print(printed("privacy.rewritten", changed=counts.total_changed))
