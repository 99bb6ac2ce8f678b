"""`duban privacy redact`: recompute every stored redacted text with the current rules."""

from __future__ import annotations

import typer

from duban.cli.common import console, context, reported_errors

app = typer.Typer(no_args_is_help=True, help="Complainants' identity in stored texts (保密).")


@app.command("redact")
def redact(
    chunk_size: int = typer.Option(1000, "--chunk-size", min=1, help="rows per transaction"),
    check: bool = typer.Option(False, "--check", help="write nothing: count the twins that differ from "
                                                      "the rules (exit 1 if any)"),
) -> None:
    """Recompute every redacted twin (after changing privacy.toml or upgrading); prints counts."""
    from duban.config.policy import get_labels
    from duban.services.reredact import redact_all

    done = "differ" if check else "rewritten"

    def progress(table: str, looked_at: int, changed: int) -> None:
        console.print(f"  {table}: {looked_at} rows with text, {changed} {done}", end="\r")

    with reported_errors():
        counts = redact_all(context().engine, chunk_size=chunk_size, progress=progress, check=check)
    for table, looked_at in counts.looked_at.items():
        console.print(f"{table}: {looked_at} rows with text, {counts.changed[table]} {done}")
    if check:
        label = f" ({get_labels().text['twins_differ_from_rules']})" if counts.total_changed else ""
        console.print(f"redacted twins that differ from the rules: {counts.total_changed}{label}")
        raise typer.Exit(1 if counts.total_changed else 0)
    console.print(f"redacted twins rewritten: {counts.total_changed}")
