"""`duban simulate`: replay months of synthetic cases under one policy, or two side by side."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from duban.cli.common import calendar_day, console, reported_errors


def _policy(path: Path | None):  # type: ignore[no-untyped-def]
    """The packaged policy with FILE's keys over it (as an office's override folder would)."""
    from duban.config.policy import load_policy

    if path is None:
        return load_policy()
    folder = Path(tempfile.mkdtemp(prefix="duban-policy-"))
    try:
        shutil.copy(path, folder / "policy.toml")
        return load_policy(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def simulate(
    from_: str = typer.Option("2023-02-13", "--from", help="first simulated day (YYYY-MM-DD)"),
    to: str = typer.Option("2023-06-30", "--to", help="last simulated day"),
    policy: Path | None = typer.Option(None, "--policy", exists=True, dir_okay=False,
                                       help="a policy.toml whose keys replace the packaged ones"),
    compare: Path | None = typer.Option(None, "--compare", exists=True, dir_okay=False,
                                        help="a second policy.toml, simulated beside the first"),
    seed: int = typer.Option(2023, help="same seed, same complaints and units"),
    per_day: float = typer.Option(12.0, "--per-day", min=0.1, help="complaints per working day"),
    keep: Path | None = typer.Option(None, help="keep the simulated database(s) in this folder"),
) -> None:
    """Replay synthetic arrivals and handling on a simulated clock through the real sweep."""
    from duban.simulation.run import Simulation

    start, end = calendar_day(from_, "--from"), calendar_day(to, "--to")
    if end < start:
        raise typer.BadParameter("--to is before --from")
    runs = [("A", policy)] + ([("B", compare)] if compare else [])
    tallies = []
    with reported_errors():
        for name, path in runs:
            label = path.name if path else "packaged policy"
            workdir = Path(tempfile.mkdtemp(prefix=f"duban-sim-{name}-"))
            console.print(f"simulating {start} → {end} under {label} …")
            sim = Simulation(start=start, end=end, workdir=workdir, seed=seed, per_day=per_day,
                             policy=_policy(path), name=label)
            tallies.append(sim.run())
            sim.ctx.engine.dispose()
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(workdir / "simulation.db", keep / f"simulation-{name}.db")
            shutil.rmtree(workdir, ignore_errors=True)
        labels = sim.ctx.labels
    console.print(report_table(tallies, labels))


def report_table(tallies, labels) -> Table:  # type: ignore[no-untyped-def]
    from duban.simulation.run import LADDER_ROWS

    table = Table("", *(t.policy_name for t in tallies), title="simulation")

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    def pct(t) -> str:  # type: ignore[no-untyped-def]
        rate = t.on_time_rate
        return "—" if rate is None else f"{rate:.1%}"

    row("cases received", [str(t.received) for t in tallies])
    row("repeats linked", [str(t.linked) for t in tallies])
    row(f"turned {labels.of('warnings', 'yellow')}", [str(len(t.yellow)) for t in tallies])
    row(f"turned {labels.of('warnings', 'red')}", [str(len(t.red)) for t in tallies])
    for step in LADDER_ROWS:
        row(f"reached {labels.of('actions', step)} ({step})", [str(t.steps.get(step, 0)) for t in tallies])
    row(f"{labels.of('actions', 'remind_progress')}", [str(t.progress_reminders) for t in tallies])
    row(f"{labels.of('actions', 'queue_callback')}", [str(t.callbacks_queued) for t in tallies])
    row(f"{labels.of('actions', 'queue_revisit')}", [str(t.revisits_queued) for t in tallies])
    row("closed (units' cases)", [str(t.closed) for t in tallies])
    row("on-time closure rate", [pct(t) for t in tallies])
    row("emails queued", [str(t.emails) for t in tallies])
    row("sweeps run / seconds in sweeps", [f"{t.sweeps} / {t.sweep_seconds:.1f}" for t in tallies])
    row("wall time (s)", [f"{t.wall_seconds:.0f}" for t in tallies])
    return table
