"""`duban states`: the case machine drawn from the same data that runs it."""

from __future__ import annotations

import shutil
import subprocess

import typer

from duban.cli.common import console
from duban.cli.usage import refuse
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
            refuse("needs_graphviz", "--format")
        svg = subprocess.run([dot, "-Tsvg"], input=to_dot(), capture_output=True, text=True, check=True)
        typer.echo(svg.stdout)
    else:
        refuse("one_of", "--format", names="mermaid、dot、svg")
