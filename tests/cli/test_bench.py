"""`duban bench`: runs the scripts in bench/, collects their BENCH lines, prints one table.

Nothing here asserts on time: the figures are whatever this machine gives; what is checked is
that each one reaches the table with its goal and memory, and that a failing script shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import duban
from duban.cli import app
from duban.cli.bench import Outcome, bench_root, parse, table

CANNED = """\
database: sqlite
service layer: 3500 actions (register + 6 transitions per case) in 2.10 s = 1,667 actions/s
BENCH {"figure": "service_actions", "value": 1667.0, "unit": "actions/s", "peak_mb": 77.5}
BENCH {"figure": "sweep_nothing_due", "value": 0.013, "unit": "s", "peak_mb": 63.0, "cases": 20000}
BENCH {"figure": "sweep_due", "value": 6.1, "unit": "s", "peak_mb": 83.0, "cases": 1000000, "due": 10000}
BENCH {"figure": "peer_ratio_held", "value": 5.4, "unit": "x", "peak_mb": null, "note": "Duban vs Spiff"}
BENCH {"figure": "report_generate", "value": 250.0, "unit": "s", "peak_mb": 300.0}
BENCH {"figure": "city_categorychar", "value": 0.108, "unit": "s", "peak_mb": 96.0, "cases": 1000000}
a line that only looks like one: BENCH {"figure": "nope"}
"""


def rendered(outcomes: list[Outcome]) -> str:
    console = Console(record=True, width=220, color_system=None)
    console.print(table(outcomes))
    return console.export_text()


def test_only_bench_lines_are_figures() -> None:
    figures = parse(CANNED.splitlines())
    assert [f["figure"] for f in figures] == ["service_actions", "sweep_nothing_due", "sweep_due",
                                              "peer_ratio_held", "report_generate", "city_categorychar"]


def test_each_figure_is_shown_against_its_goal_with_its_peak_memory() -> None:
    text = rendered([Outcome("sqlite", 20_000, parse(CANNED.splitlines()))])
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    service = lines["transitions, service layer (register + 6 actions per case)"]
    assert "1,667 actions/s" in service and "≥ 2,500 actions/s" in service and " no " in service
    assert "78 MB" in service
    quiet = lines["sweep, 20,000 open cases, nothing due"]
    assert "0.013 s" in quiet and "≤ 1 s at 1M" in quiet and "yes*" in quiet  # run smaller
    due = lines["sweep, 1,000,000 open cases, 10,000 due (催办)"]
    assert "6.100 s" in due and "yes " in due and "yes*" not in due  # at full size
    assert "5.40×" in lines["Duban ÷ SpiffWorkflow (held)"]
    searched = lines["search: city_categorychar"]  # every reader's search has the search goal
    assert "≤ 0.1 s at 1M" in searched and " no " in searched
    assert "250" not in text  # setup time is not a figure
    assert "* run smaller than the 1,000,000 cases" in text


def test_a_failed_script_is_a_row_of_its_own() -> None:
    outcome = Outcome("postgresql", 2000, [], failed={"sweep": "Traceback...\nOperationalError: gone"})
    text = rendered([outcome])
    assert "sweep: FAILED" in text and "OperationalError: gone" in text


def test_outside_a_checkout_it_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(duban, "__file__", str(tmp_path / "site-packages" / "duban" / "__init__.py"))
    with pytest.raises(FileNotFoundError, match="source checkout"):
        bench_root()
    result = CliRunner().invoke(app, ["bench", "--cases", "1000"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_duban_bench_runs_the_scripts_and_prints_one_table() -> None:
    result = CliRunner().invoke(app, ["bench", "--cases", "300", "--only", "transitions,sweep", "--quiet"])
    assert result.exit_code == 0, result.output
    for label in ("transitions, service layer", "sweep, 300 open cases, nothing due",
                  "sweep, 300 open cases, 10 due (催办)", "the same sweep again"):
        assert label in result.output
    assert "FAILED" not in result.output


HTTP = """\
BENCH {"figure": "http_action", "value": 620.0, "unit": "req/s", "workers": 1}
BENCH {"figure": "http_action", "value": 880.0, "unit": "req/s", "workers": 2}
"""


def test_an_http_figure_meets_the_goal_stated_for_its_number_of_processes_and_backend() -> None:
    text = rendered([Outcome("sqlite", 20_000, parse(HTTP.splitlines())),
                     Outcome("postgresql", 20_000, parse(HTTP.splitlines()))])
    rows = [line for line in text.splitlines() if "report_progress" in line]
    sqlite_one, sqlite_two, pg_one, pg_two = rows
    assert "≥ 500 req/s" in sqlite_one and "yes" in sqlite_one
    assert "≥ 900 req/s" in sqlite_two and " no " in sqlite_two
    assert "≥" not in pg_one  # PostgreSQL's goal is stated for two processes only
    assert "≥ 500 req/s" in pg_two and "yes" in pg_two


def test_the_case_pages_weight_is_shown_against_its_60_kb_goal() -> None:
    lines = ['BENCH {"figure": "page_case_gzip", "value": 9.5, "unit": "KB", "note": "GS-2023-00001"}',
             'BENCH {"figure": "page_list_gzip", "value": 4.4, "unit": "KB"}']
    text = rendered([Outcome("sqlite", 1000, figures=parse(lines))])
    row = next(line for line in text.splitlines() if "heaviest of the demo's" in line)
    assert "9.50 KB" in row and "≤ 60 KB" in row and "yes" in row
    heavy = parse(['BENCH {"figure": "page_case_gzip", "value": 75.0, "unit": "KB"}'])
    assert "no" in next(line for line in rendered([Outcome("sqlite", 1000, figures=heavy)]).splitlines()
                        if "heaviest" in line)


def test_each_backend_shows_the_machine_yardstick_its_figures_were_taken_at(
        capsys: pytest.CaptureFixture[str]) -> None:
    from bench.common import emit

    emit("sweep_due", 6.1, "s", cases=1000)
    (record,) = parse(capsys.readouterr().out.splitlines())
    assert record["yardstick_ms"] > 0  # every figure carries the machine's speed of its run
    steady = [dict(record, yardstick_ms=40.0), dict(record, figure="sweep_nothing_due", yardstick_ms=41.0)]
    assert "machine yardstick 41 ms (lower is faster)" in rendered([Outcome("sqlite", 1000, steady)])
    moved = [*steady, dict(record, figure="service_actions", value=900.0, yardstick_ms=80.0)]
    assert "machine yardstick 41 ms, 40–80" in rendered([Outcome("sqlite", 1000, moved)])
    assert "yardstick" not in rendered([Outcome("sqlite", 1000, parse(CANNED.splitlines()))])
