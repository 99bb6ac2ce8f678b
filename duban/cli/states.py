"""`duban states`: the case machine drawn from the same data that runs it."""

from __future__ import annotations

import shutil
import subprocess

import typer

from duban.cli.common import console
from duban.states.diagram import to_dot, to_mermaid

app = typer.Typer(no_args_is_help=True, help="The case state machine.")


@app.command("diagram")
def diagram(fmt: str = typer.Option("mermaid", "--format", help="mermaid, dot or svg")) -> None:
    """Print the state machine as Mermaid, Graphviz DOT, or SVG (needs Graphviz's `dot`)."""
    if fmt == "mermaid":
        console.print(to_mermaid(), markup=False)
    elif fmt == "dot":
        console.print(to_dot(), markup=False)
    elif fmt == "svg":
        dot = shutil.which("dot")
        if dot is None:
            raise typer.BadParameter("svg needs Graphviz: apt-get install graphviz", param_hint="--format")
        svg = subprocess.run([dot, "-Tsvg"], input=to_dot(), capture_output=True, text=True, check=True)
        typer.echo(svg.stdout)
    else:
        raise typer.BadParameter("use mermaid, dot or svg", param_hint="--format")
