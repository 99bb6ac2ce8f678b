"""`duban bench`: the benchmark suite in one command, its figures in one table.

The benchmarks are the scripts in `bench/` at the root of a source checkout (outside the
package: they load millions of rows and import `tests.factories`). This command runs each one
as a subprocess (`python -m bench.<script>`, from the checkout) with `--cases` and `--database`
passed down, echoes what they print, collects the `BENCH {json}` line each figure comes with
(bench/common.py) and prints one table: figure, value, goal, met?, peak memory. It runs on
SQLite (temporary files, fresh for each script), then, when `--database` is a PostgreSQL URL,
on that server: in a scratch database `<name>_bench` created afresh for each script and dropped
at the end, so the database named is only used to reach the server, never written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# The bench prints its own words in Rich's markup (every line a script printed is escaped).
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


FULL = 1_000_000  # the size the goals are stated for
PREFIX = "BENCH "


@dataclass(frozen=True)
class Goal:
    op: str  # "<=" (a time) or ">=" (a rate or a ratio)
    value: float
    backends: tuple[str, ...] = ("sqlite", "postgresql")
    at_full_size: bool = False  # stated for a million cases
    workers: int | None = None  # HTTP: stated for this many server processes

    def met(self, value: float) -> bool:
        return value <= self.value if self.op == "<=" else value >= self.value

    def applies(self, backend: str, record: dict[str, Any]) -> bool:
        return backend in self.backends and (
            self.workers is None or int(record.get("workers") or 1) == self.workers)


@dataclass(frozen=True)
class Figure:
    label: str
    goals: tuple[Goal, ...] = ()

    def goal_for(self, backend: str, record: dict[str, Any]) -> Goal | None:
        return next((goal for goal in self.goals if goal.applies(backend, record)), None)


def _goal(op: str, value: float, *backends: str, workers: int | None = None,
          at_full_size: bool = False) -> tuple[Goal, ...]:
    return (Goal(op, value, backends or ("sqlite", "postgresql"), at_full_size, workers),)


# Issue 15's goal for a search or a list: its page and total in 100 ms at a million cases.
SEARCH_GOAL = _goal("<=", 0.1, at_full_size=True)
# The figures, in table order, with the goals of issues 7 and 17 (2-core machine).
FIGURES: dict[str, Figure] = {
    "service_actions": Figure("transitions, service layer (register + 6 actions per case)",
                              _goal(">=", 2500, "sqlite") + _goal(">=", 1000, "postgresql")),
    "http_action": Figure("transitions over HTTP (POST …/report_progress), {workers} uvicorn process(es)",
                          _goal(">=", 500, "sqlite", workers=1) + _goal(">=", 900, "sqlite", workers=2)
                          + _goal(">=", 500, "postgresql", workers=2)),
    "http_register": Figure("registrations over HTTP (POST /api/cases), {workers} process(es)"),
    "http_case": Figure("GET /api/cases/{number}, {workers} process(es)", _goal(">=", 1000, workers=2)),
    "http_list": Figure("GET /api/cases (province, 50)"),
    "http_list_unit": Figure("GET /api/cases (unit)"),
    "http_dashboard": Figure("GET /api/meta/dashboard"),
    "http_inbox_page": Figure("GET /inbox (page)"),
    "http_case_page": Figure("GET /cases/{number} (page), {workers} process(es)",
                             _goal(">=", 300, workers=2)),
    "http_list_page": Figure("GET /cases (list page)"),
    # Issue 15: what a browser receives (gzip), the dispatcher's heaviest case page of the demo.
    "page_case_gzip": Figure("case page, dispatcher, heaviest of the demo's (gzip)", _goal("<=", 60)),
    "page_case_plain": Figure("the same case page uncompressed"),
    "page_case_median_gzip": Figure("case page, median (gzip)"),
    "page_list_gzip": Figure("case list page (gzip)"),
    "page_inbox_gzip": Figure("inbox page (gzip)"),
    "page_dashboard_gzip": Figure("dashboard page (gzip)"),
    "sweep_nothing_due": Figure("sweep, {cases} open cases, nothing due", _goal("<=", 1, at_full_size=True)),
    "sweep_due": Figure("sweep, {cases} open cases, {due} due (催办)", _goal("<=", 10, at_full_size=True)),
    "sweep_again": Figure("the same sweep again (nothing left)"),
    "recompute": Figure("deadline recompute after a calendar change, {cases} open cases",
                        _goal("<=", 10, at_full_size=True)),
    "recompute_scan": Figure("recompute scan, calendar unchanged"),
    "report_month": Figure("monthly report over {cases} cases (first run)",
                           _goal("<=", 2, at_full_size=True)),
    "report_month_warm": Figure("monthly report (warm, median)", _goal("<=", 2, at_full_size=True)),
    "import": Figure("import of {rows} ledger rows (CaseService.register)"),
    "import_rate": Figure("import: ledger rows per second", _goal(">=", 5000)),
    "audit_verify": Figure("audit verify over {cases} cases (MACs, row digests, facts)",
                           _goal("<=", 10, "sqlite", at_full_size=True)),
    "audit_action_before": Figure("an action with the audit chain as before (plain SHA-256)"),
    "audit_action_keyed": Figure("an action with the keyed audit chain (HMAC-SM3, rows, facts)"),
    "audit_action_slower": Figure("keyed audit chain: an action slower by (%)", _goal("<=", 10)),
    "audit_seal_added": Figure("keyed audit chain: added per event, in process (µs)"),
    "search_generate": Figure("search: building {cases} cases and their index"),
    "search_keyword": Figure("search: a keyword, {cases} cases (page + total)",
                             SEARCH_GOAL),
    "search_filters": Figure("search: keyword + state + received dates", SEARCH_GOAL),
    "search_phone": Figure("search: a caller's phone, identity role", SEARCH_GOAL),
    "search_short": Figure("search: a 2-character query", SEARCH_GOAL),
    "search_page100": Figure("list: page 100 sorted by received", SEARCH_GOAL),
    "peer_duban": Figure("peer path: Duban"),
    "peer_spiff_held": Figure("peer path: SpiffWorkflow, workflow held in memory"),
    "peer_spiff_reload": Figure("peer path: SpiffWorkflow, reloaded per step"),
    "peer_ratio_held": Figure("Duban ÷ SpiffWorkflow (held)"),
    "peer_ratio_reload": Figure("Duban ÷ SpiffWorkflow (reload)", _goal(">=", 5)),
}
HIDDEN = {"report_generate", "search_generate"}  # setup, not a figure: in --save only
# Issue 15's goal holds for every search and list bench/search_bench.py measures, for each of its
# readers (the province's dispatcher, a county's, the biggest city's, the smallest's).
SEARCH_READERS = ("search_", "county_", "city_", "smallcity_")


def figure_of(name: str) -> Figure:
    """The figure a BENCH line names: its label and goals (a search not listed above: the goal of
    every search, under its own name)."""
    if name in FIGURES:
        return FIGURES[name]
    if name.startswith(SEARCH_READERS):
        return Figure(f"search: {name}", SEARCH_GOAL)
    return Figure(name)


@dataclass(frozen=True)
class Part:
    """One script run: its module and its arguments for a size."""

    name: str
    module: str
    args: Callable[[int], list[str]]
    extra_args: Callable[[Path], list[str]] = lambda tmp: []  # given a temporary folder


def _quick(cases: int) -> bool:
    return cases < FULL


PARTS: list[Part] = [
    Part("transitions", "bench.engine_bench",
         lambda n: ["--part", "transitions", "--cases", str(n), "--actions", str(min(3500, max(140, n)))]),
    Part("http", "bench.http_bench",
         lambda n: ["--cases", str(n), "--seconds", "3" if _quick(n) else "10"]
         + (["--routes", "http_action,http_register,http_case"] if _quick(n) else []),
         lambda tmp: ["--data-dir", str(tmp / "http")]),
    # One uvicorn process per core, as `duban serve --workers 2` runs on this machine.
    Part("http2", "bench.http_bench",
         lambda n: ["--cases", str(n), "--seconds", "3" if _quick(n) else "10", "--workers", "2",
                    "--routes", "http_action,http_register,http_case"],
         lambda tmp: ["--data-dir", str(tmp / "http")]),
    Part("pages", "bench.page_weight", lambda n: ["--cases", str(n)],
         lambda tmp: ["--data-dir", str(tmp / "http")]),
    Part("sweep", "bench.sweep_bench", lambda n: ["--cases", str(n), "--due", str(max(10, n // 100))]),
    Part("recompute", "bench.engine_bench", lambda n: ["--part", "recompute", "--cases", str(n)]),
    Part("report", "bench.report_bench", lambda n: ["--part", "report", "--cases", str(n)]),
    Part("import", "bench.report_bench",
         lambda n: ["--part", "import", "--cases", str(n), "--import-rows", str(max(10, n // 10))]),
    Part("audit", "bench.audit_bench",
         lambda n: ["--cases", str(n), "--actions", str(min(1400, max(140, n)))]),
    Part("search", "bench.search_bench",
         lambda n: ["--cases", str(n), "--runs", "3" if _quick(n) else "5"]
         + ([] if _quick(n) else ["--sweep"])),
    Part("peer", "bench.peer_bench",
         lambda n: ["--cases", str(n)] + (["--instances", "100", "--rounds", "1"] if _quick(n)
                                          else ["--instances", "500", "--rounds", "3"])),
]

PART_NAMES = ", ".join(part.name for part in PARTS)


@dataclass
class Outcome:
    """What one backend's run gave: figures, and the parts that failed."""

    backend: str
    cases: int
    figures: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def bench_root() -> Path:
    """The checkout `duban` was installed from (editable), which holds bench/ and tests/."""
    import duban

    root = Path(duban.__file__).resolve().parent.parent
    if not (root / "bench" / "engine_bench.py").is_file() or not (root / "tests" / "factories.py").is_file():
        raise FileNotFoundError(
            f"duban bench runs the scripts in bench/ of a source checkout, and this install "
            f"({root}) has none (bench/ and tests/ are not packaged). Run it from a checkout "
            f"installed with `pip install -e .` (scripts/bootstrap does that).")
    return root


def parse(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The figures among a script's output lines."""
    found = []
    for line in lines:
        if line.startswith(PREFIX):
            record = json.loads(line[len(PREFIX):])
            if isinstance(record, dict) and "figure" in record:
                found.append(record)
    return found


def run_part(part: Part, *, root: Path, cases: int, url: str | None, tmp: Path, echo: bool) -> tuple[
        list[dict[str, Any]], str | None]:
    """Run one script; returns its figures and, if it failed, the last lines it printed."""
    args = [sys.executable, "-m", part.module, *part.args(cases)]
    args += part.extra_args(tmp) + (["--database", url] if url else [])
    env = {**os.environ, "DUBAN_DATA_DIR": str(tmp / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DUBAN_DATABASE_URL", None)  # nothing reaches the user's own database by accident
    lines: list[str] = []
    with subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if echo and not line.startswith(PREFIX):
                console.print(f"  [dim]{escape(line)}[/dim]")
    figures = parse(lines)
    if proc.returncode != 0:
        return figures, "\n".join(lines[-15:]) or f"exit status {proc.returncode}"
    return figures, None


def run_backend(backend: str, *, root: Path, cases: int, parts: list[Part], database: str | None,
                echo: bool) -> Outcome:
    from duban.scratchdb import Scratch

    outcome = Outcome(backend, cases)
    scratch = Scratch(database) if backend == "postgresql" and database else None
    try:
        for part in parts:
            console.rule(f"[bold]{backend}[/bold]: {part.name} ({part.module})")
            started = time.monotonic()
            with tempfile.TemporaryDirectory(prefix=f"duban-bench-{part.name}-") as tmp:
                url = scratch.fresh() if scratch else None  # SQLite: each script's temporary file
                figures, failure = run_part(part, root=root, cases=cases, url=url, tmp=Path(tmp), echo=echo)
            outcome.seconds[part.name] = time.monotonic() - started
            outcome.figures += figures
            if failure is not None:
                outcome.failed[part.name] = failure
                err_console.print(f"[red]{backend} {part.name} failed[/red]:\n{escape(failure)}")
    finally:
        if scratch is not None:
            scratch.drop()
    return outcome


# -- the table ---------------------------------------------------------------------------------

def _value(record: dict[str, Any]) -> str:
    value, unit = float(record["value"]), str(record["unit"])
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:,.1f} s"
    if unit == "x":
        return f"{value:.2f}×"
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"
    return f"{value:,.2f} {unit}"


def _goal_text(goal: Goal, unit: str) -> str:
    sign = "≤" if goal.op == "<=" else "≥"
    shown = f"{goal.value:g}×" if unit == "x" else f"{goal.value:,g} {unit}"
    return f"{sign} {shown}" + (" at 1M" if goal.at_full_size else "")


def _label(figure: Figure, record: dict[str, Any]) -> str:
    label = figure.label
    for key in ("cases", "due", "rows", "workers"):  # not str.format: labels hold routes like {number}
        label = label.replace(f"{{{key}}}", f"{int(record.get(key) or 0):,}")
    return label


def _yardstick(outcome: Outcome) -> str:
    """The machine's speed while this backend's figures were taken (bench.common.yardstick_ms,
    each script's): the median, and the spread when the machine moved during the run."""
    seen = sorted(float(r["yardstick_ms"]) for r in outcome.figures if r.get("yardstick_ms"))
    if not seen:
        return ""
    middle = seen[len(seen) // 2]
    spread = f", {seen[0]:g}–{seen[-1]:g}" if seen[-1] > seen[0] * 1.1 else ""
    return f"machine yardstick {middle:g} ms{spread} (lower is faster)"


def table(outcomes: list[Outcome]) -> Table:
    """One table, a section per backend; a goal stated for 1M cases is marked when run smaller."""
    grid = Table(title="Duban benchmarks", header_style="bold")
    grid.add_column("figure", min_width=30)
    grid.add_column("value", justify="right", no_wrap=True)
    grid.add_column("goal", justify="right", no_wrap=True)
    grid.add_column("met?", justify="center", no_wrap=True)
    grid.add_column("peak memory", justify="right", no_wrap=True)
    grid.add_column("note", style="dim", max_width=60)
    scaled = False
    for outcome in outcomes:
        order = {key: i for i, key in enumerate(FIGURES)}
        records = sorted((r for r in outcome.figures if r["figure"] not in HIDDEN),
                         key=lambda r: order.get(r["figure"], len(order)))
        names = {"sqlite": "SQLite (temporary file, WAL)", "postgresql": "PostgreSQL (scratch database)"}
        grid.add_row(f"[bold]{names.get(outcome.backend, outcome.backend)}[/bold], "
                     f"--cases {outcome.cases:,}", "", "", "", "", _yardstick(outcome))
        for record in records:
            figure = figure_of(record["figure"])
            goal = figure.goal_for(outcome.backend, record)
            met = ""
            if goal is not None:
                ok = goal.met(float(record["value"]))
                small = goal.at_full_size and int(record.get("cases") or outcome.cases) < FULL
                scaled |= small
                met = ("[green]yes[/green]" if ok else "[red]no[/red]") + ("*" if small else "")
            peak = record.get("peak_mb")
            grid.add_row(escape(_label(figure, record)), _value(record),
                         _goal_text(goal, str(record["unit"])) if goal else "", met,
                         f"{peak:,.0f} MB" if isinstance(peak, int | float) else "",
                         escape(str(record.get("note", ""))))
        for part, failure in outcome.failed.items():
            last = failure.strip().splitlines()[-1] if failure.strip() else ""
            grid.add_row(f"{part}: FAILED", "", "", "[red]no[/red]", "", escape(last))
        grid.add_section()
    if scaled:
        grid.caption = "* run smaller than the 1,000,000 cases the goal is stated for"
    return grid


def bench(
    cases: int = typer.Option(FULL, "--cases", min=100, help="open cases / cases per benchmark "
                              "(1,000,000: the full run; 20,000: a few minutes)"),
    database: str | None = typer.Option(None, "--database", help="a PostgreSQL URL to run on as well, "
                                        "in a scratch database <name>_bench (SQLite: temporary files)"),
    only: str = typer.Option("", "--only", help=f"comma list of parts: {PART_NAMES}"),
    save: Path | None = typer.Option(None, "--save", help="also write every figure as JSON to this file"),
    quiet: bool = typer.Option(False, "--quiet", help="only the table, not what the scripts print"),
    sqlite: bool = typer.Option(True, "--sqlite/--no-sqlite", help="run on SQLite (--no-sqlite: only "
                                "on the --database server)"),
) -> None:
    """Run the benchmark suite (bench/) and print its figures against the goals."""
    try:
        root = bench_root()
    except FileNotFoundError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from None
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    unknown = wanted - {p.name for p in PARTS}
    if unknown:
        err_console.print(f"[red]unknown part(s) {', '.join(sorted(unknown))}[/red]; "
                          f"parts: {', '.join(p.name for p in PARTS)}")
        raise typer.Exit(2)
    parts = [p for p in PARTS if not wanted or p.name in wanted]
    backends = ["sqlite"] if sqlite else []
    if database and database.startswith("postgresql"):
        backends.append("postgresql")
    elif database:
        err_console.print("[red]--database takes a postgresql:// URL[/red] (SQLite always runs, "
                          "on temporary files: TMPDIR says where)")
        raise typer.Exit(2)
    if not backends:
        err_console.print("[red]--no-sqlite needs --database postgresql://…[/red]")
        raise typer.Exit(2)
    outcomes = [run_backend(backend, root=root, cases=cases, parts=parts, database=database,
                            echo=not quiet) for backend in backends]
    # A pipe or a log file gets a wide table, not the 80 columns Rich assumes without a terminal.
    out = console if console.is_terminal else Console(highlight=False, width=160)
    out.print(table(outcomes))
    for outcome in outcomes:
        spent = ", ".join(f"{name} {seconds:,.0f} s" for name, seconds in outcome.seconds.items())
        console.print(f"[dim]{outcome.backend}: {spent}[/dim]")
    if save is not None:
        save.write_text(json.dumps([{"backend": o.backend, "cases": o.cases, "figures": o.figures,
                                     "failed": o.failed, "seconds": o.seconds} for o in outcomes],
                                   ensure_ascii=False, indent=2), encoding="utf-8")
    if any(outcome.failed for outcome in outcomes):
        raise typer.Exit(1)
