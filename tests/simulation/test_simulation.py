"""Simulated months through the real sweep: reproducible, and sensitive to the policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from duban.config.policy import load_policy
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
