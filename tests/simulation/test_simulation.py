"""Simulated months through the real sweep: reproducible, and sensitive to the policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from duban.config.policy import load_policy
from duban.simulation.decider import Decider, with_modes
from duban.simulation.run import Simulation, Tally

pytestmark = pytest.mark.slow


def simulate(tmp_path: Path, name: str, **policy_changes: object) -> Tally:
    policy = load_policy()
    if policy_changes:
        policy = policy.model_copy(update=policy_changes)
    workdir = tmp_path / name
    workdir.mkdir()
    sim = Simulation(start=dt.date(2023, 2, 13), end=dt.date(2023, 4, 14), workdir=workdir,
                     seed=7, per_day=4, policy=policy, name=name)
    try:
        return sim.run()
    finally:
        sim.ctx.engine.dispose()


def test_a_simulation_replays_the_same_world_twice(tmp_path: Path) -> None:
    a, b = simulate(tmp_path, "a"), simulate(tmp_path, "b")
    assert a.received > 100 and a.sweeps == 61
    assert (a.received, a.closed, len(a.red), dict(a.steps), a.emails) == (
        b.received, b.closed, len(b.red), dict(b.steps), b.emails)
    assert a.steps["remind"] > 0 and a.callbacks_queued > 0
    assert a.red and a.yellow
    assert a.on_time_rate is not None and 0.5 < a.on_time_rate < 1


def test_a_ladder_without_steps_sends_no_reminders(tmp_path: Path) -> None:
    ladder = load_policy().ladder.model_copy(update={"steps": []})
    quiet = simulate(tmp_path, "quiet", ladder=ladder)
    # A referral's late notice is reminded to the commission whatever the ladder (policy [referral]).
    assert not {step for step in quiet.steps if not step.startswith("remind_notice")}
    assert quiet.red  # deadlines still pass: colours do not depend on the ladder


def test_proposed_interviews_are_taken_only_when_a_supervisor_confirms_them(tmp_path: Path) -> None:
    def run(name: str, mode: str, confirm_rate: float) -> Tally:
        policy = with_modes(load_policy(), ["interview", "public_notice"], mode)
        workdir = tmp_path / name
        workdir.mkdir()
        sim = Simulation(start=dt.date(2023, 2, 13), end=dt.date(2023, 5, 12), workdir=workdir,
                         seed=7, per_day=5, policy=policy, name=name,
                         decider=Decider(confirm_rate, (1, 3)))
        try:
            return sim.run()
        finally:
            sim.ctx.engine.dispose()

    automatic, never, always = run("a", "automatic", 0.0), run("n", "propose", 0.0), run("y", "propose", 1.0)
    assert automatic.received == never.received == always.received  # the same world
    assert automatic.steps["interview"] > 0 and not automatic.decisions.proposed
    # Nobody confirms: the engine proposed every interview and none was held.
    assert never.decisions.proposed["interview"] > 0 and never.steps["interview"] == 0
    assert (never.decisions.dismissed["interview"] + never.decisions.moot["interview"]
            == never.decisions.proposed["interview"])
    # Someone confirms every proposal still due: those interviews are held, on the record.
    d = always.decisions
    assert d.confirmed["interview"] > 0 and not d.dismissed
    assert d.confirmed["interview"] + d.moot["interview"] == d.proposed["interview"]
    assert always.steps["interview"] == len(d.confirmed_cases["interview"])
