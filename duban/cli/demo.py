"""`duban demo`: a database of synthetic cases matching seed 000's figures, and a status paragraph."""

from __future__ import annotations

import typer

from duban.cli.common import console, migrated_context


def demo(
    seed: int = typer.Option(2023, help="random seed for the synthetic cases"),
    fresh: bool = typer.Option(True, "--fresh/--keep", help="start from an empty database"),
) -> None:
    """Build the demo database by driving every case through the real service layer."""
    from duban.demo.build import build_demo
    from duban.demo.status import status_paragraph

    ctx = migrated_context()
    summary = build_demo(ctx, seed=seed, fresh=fresh, progress=console)
    console.print(summary)
    console.print(status_paragraph(ctx), soft_wrap=True)
