"""`duban privacy redact`: recompute every stored redacted text with the current rules."""

from __future__ import annotations

import typer

from duban.cli.common import console, context, reported_errors

app = typer.Typer(no_args_is_help=True, help="Complainants' identity in stored texts (保密).")


@app.command("redact")
def redact(
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="rows per transaction"),
) -> None:
    """Recompute every redacted twin (after changing privacy.toml or upgrading); prints counts."""
    from duban.services.reredact import redact_all

    def progress(table: str, looked_at: int, changed: int) -> None:
        console.print(f"  {table}: {looked_at} rows with text, {changed} rewritten", end="\r")

    with reported_errors():
        counts = redact_all(context().engine, chunk_size=chunk_size, progress=progress)
    for table, looked_at in counts.looked_at.items():
        console.print(f"{table}: {looked_at} rows with text, {counts.changed[table]} rewritten")
    console.print(f"redacted twins rewritten: {counts.total_changed}")
