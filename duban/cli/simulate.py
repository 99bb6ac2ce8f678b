"""`duban simulate`: replay months of synthetic cases under one policy, or two side by side.

`--compare` runs the same world with the ladder's 约谈/通报 automatic and then in propose mode
(decided by a simulated supervisor); `--against FILE` runs a second policy beside the first.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from duban.cli.common import calendar_day, console, printed, reported_errors, said
from duban.cli.usage import refuse


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
    compare: bool = typer.Option(False, "--compare",
                                 help="simulate the same world twice: the --propose steps automatic, "
                                      "then proposed and decided by a simulated supervisor"),
    propose: str = typer.Option("interview,public_notice", "--propose",
                                help="with --compare: the ladder steps whose mode differs"),
    confirm_rate: float | None = typer.Option(
        None, "--confirm-rate", min=0.0, max=1.0,
        help="with --compare: how often the supervisor confirms a proposal still due "
             "(default: duban/simulation/people.toml \\[decider])"),
    against: Path | None = typer.Option(None, "--against", exists=True, dir_okay=False,
                                        help="a second policy.toml, simulated beside the first"),
    seed: int = typer.Option(2023, help="same seed, same complaints and units"),
    per_day: float = typer.Option(12.0, "--per-day", min=0.1, help="complaints per working day"),
    keep: Path | None = typer.Option(None, help="keep the simulated database(s) in this folder"),
) -> None:
    """Replay synthetic arrivals and handling on a simulated clock through the real sweep."""
    from duban.config.policy import get_labels
    from duban.simulation.decider import Decider, with_modes
    from duban.simulation.run import Simulation, people

    start, end = calendar_day(from_, "--from"), calendar_day(to, "--to")
    if end < start:
        refuse("to_before_from", "--to")
    if compare and against:
        refuse("compare_or_against", "--against")
    decider = Decider.of(dict(people()["decider"]))
    if confirm_rate is not None:
        decider = Decider(confirm_rate, decider.within_workdays)
    with reported_errors():
        base = _policy(policy)
        # (what --keep names the run's database by, what the output calls it, its policy)
        runs = [(policy.name, policy.name, base) if policy else
                ("packaged policy", printed("simulate.packaged_policy"), base)]
        if against:
            runs.append((against.name, against.name, _policy(against)))
        if compare:
            steps = [s.strip() for s in propose.split(",") if s.strip()]
            known = [s.action for s in base.ladder.steps]
            if not steps or any(s not in known for s in steps):
                refuse("ladder_steps", "--propose", names="、".join(known))
            pressure = get_labels().pressure
            runs = [(mode, pressure.get(f"mode_{mode}", mode), with_modes(base, steps, mode))
                    for mode in ("automatic", "propose")]
        tallies = []
        for n, (label, shown_as, run_policy) in enumerate(runs):
            workdir = Path(tempfile.mkdtemp(prefix=f"duban-sim-{n}-"))
            console.print(printed("simulate.running", first=start, last=end, policy=shown_as))
            sim = Simulation(start=start, end=end, workdir=workdir, seed=seed, per_day=per_day,
                             policy=run_policy, name=shown_as, decider=decider)
            tallies.append(sim.run())
            sim.ctx.engine.dispose()
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(workdir / "simulation.db", keep / f"simulation-{label}.db")
            shutil.rmtree(workdir, ignore_errors=True)
        labels = sim.ctx.labels
    console.print(report_table(tallies, labels))
    if any(t.proposing for t in tallies):
        console.print(decider_note(decider), soft_wrap=True)


def decider_note(decider) -> str:  # type: ignore[no-untyped-def]
    low, high = decider.within_workdays
    return printed("simulate.decider", low=low, high=high, rate=f"{decider.confirm_rate:.0%}")


def report_table(tallies, labels) -> Table:  # type: ignore[no-untyped-def]
    from duban.simulation.run import LADDER_ROWS

    table = Table("", *(t.policy_name for t in tallies), title=said("simulation"))

    def row(name: str, values: list[str]) -> None:
        table.add_row(name, *values)

    def pct(t) -> str:  # type: ignore[no-untyped-def]
        rate = t.on_time_rate
        return "—" if rate is None else f"{rate:.1%}"

    row(printed("simulate.received"), [str(t.received) for t in tallies])
    row(printed("simulate.linked"), [str(t.linked) for t in tallies])
    for colour in ("yellow", "red"):  # the Tally's lists of the cases that turned each colour
        row(printed("simulate.turned", warning=labels.of("warnings", colour)),
            [str(len(getattr(t, colour))) for t in tallies])
    decided = {s for t in tallies for s in t.proposing}
    for step in LADDER_ROWS:
        row(printed("simulate.reached", step=labels.of("actions", step), code=step),
            [str(t.steps.get(step, 0)) for t in tallies])
        if step in decided:
            row(printed("simulate.decisions"),
                [" / ".join(str(c[step]) for c in (t.decisions.proposed, t.decisions.confirmed,
                                                    t.decisions.dismissed, t.decisions.moot))
                 if step in t.proposing else printed("simulate.automatic") for t in tallies])
    row(labels.of("actions", "remind_progress"), [str(t.progress_reminders) for t in tallies])
    row(labels.of("actions", "queue_callback"), [str(t.callbacks_queued) for t in tallies])
    row(labels.of("actions", "queue_revisit"), [str(t.revisits_queued) for t in tallies])
    row(printed("simulate.closed"), [str(t.closed) for t in tallies])
    row(printed("simulate.on_time"), [pct(t) for t in tallies])
    row(printed("simulate.overdue_end"), [str(t.overdue_end) for t in tallies])
    row(printed("simulate.overdue_days"), [str(t.overdue_days) for t in tallies])
    row(printed("simulate.emails"), [str(t.emails) for t in tallies])
    row(printed("simulate.sweeps"), [f"{t.sweeps} / {t.sweep_seconds:.1f}" for t in tallies])
    row(printed("simulate.wall"), [f"{t.wall_seconds:.0f}" for t in tallies])
    return table
