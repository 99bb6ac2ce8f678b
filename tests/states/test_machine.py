"""Firing from the precomputed table does what the `transitions` machine it is read from does."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from transitions.core import MachineError

from duban.states.definition import CaseState
from duban.states.machine import MACHINE, decide, failed_guards, fire, triggers


class _Guarded:
    """A case whose guards answer from a table, with a state both machines read and write."""

    def __init__(self, state: str, answers: dict[str, bool]) -> None:
        self.state = state
        self._answers = answers

    def __getattr__(self, name: str) -> Any:
        answers = self.__dict__["_answers"]
        if name not in answers:
            raise AttributeError(name)
        return lambda **_: answers[name]


def _cases() -> list[tuple[str, str, dict[str, bool]]]:
    """Every (state, trigger) the definition has, under every combination of its guards' answers."""
    cases = []
    for state in CaseState:
        for trigger in triggers(state.value):
            guards = sorted({c.func for t in MACHINE.events[trigger].transitions[state.value]
                             for c in t.conditions})
            for answers in itertools.product((True, False), repeat=len(guards)):
                cases.append((state.value, trigger, dict(zip(guards, answers, strict=True))))
    return cases


def test_the_table_fires_every_trigger_where_the_library_would_under_every_guard_answer() -> None:
    cases = _cases()
    assert len(cases) > 100  # the definition's whole table, not a handful
    for state, trigger, answers in cases:
        ours, theirs = _Guarded(state, answers), _Guarded(state, answers)
        fired = MACHINE.events[trigger].trigger(theirs)
        decision = decide(ours, trigger)  # type: ignore[arg-type]
        assert (not decision.failed) == fired, (state, trigger, answers)
        assert fire(ours, trigger) == fired  # type: ignore[arg-type]
        assert ours.state == theirs.state, (state, trigger, answers)
        assert bool(failed_guards(_Guarded(state, answers), trigger)) != fired  # type: ignore[arg-type]


def test_a_trigger_the_state_does_not_have_is_refused_as_the_library_refuses_it() -> None:
    case = _Guarded(CaseState.CLOSED.value, {})
    with pytest.raises(MachineError):
        fire(case, "transfer")  # type: ignore[arg-type]
    with pytest.raises(MachineError):
        MACHINE.events["transfer"].trigger(case)
    assert failed_guards(case, "transfer") == []  # type: ignore[arg-type]
