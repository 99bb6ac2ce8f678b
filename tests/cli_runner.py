"""Running `duban` in-process as a person would, wide enough that tables do not wrap."""

from __future__ import annotations

from typer.testing import CliRunner

from duban.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    """The command's output; a non-zero exit fails the test with what it printed."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output
