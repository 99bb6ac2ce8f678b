"""Firing from the precomputed table does what the `transitions` machine it is read from does."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from transitions.core import MachineError

from duban.states.definition import CaseState
from duban.states.machine import MACHINE, allowed_actions, can_fire, decide, failed_guards, fire, triggers


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


class _Counted(_Guarded):
    """A _Guarded case that counts how often each guard is asked."""

    def __init__(self, state: str, answers: dict[str, bool]) -> None:
        super().__init__(state, answers)
        self.asked: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        answer = super().__getattr__(name)
        asked = self.__dict__["asked"]

        def ask(**kw: Any) -> bool:
            asked[name] = asked.get(name, 0) + 1
            return bool(answer(**kw))
        return ask


def _state_answers(state: str, rng: random.Random) -> list[dict[str, bool]]:
    """Every combination of the answers of all the guards of a state's triggers, or (above 2**8 of
    them) 300 drawn at random besides all-true and all-false."""
    guards = sorted({c.func for t in triggers(state) for way in MACHINE.events[t].transitions[state]
                     for c in way.conditions})
    if len(guards) <= 8:
        return [dict(zip(guards, answers, strict=True))
                for answers in itertools.product((True, False), repeat=len(guards))]
    drawn = [{g: rng.random() < 0.5 for g in guards} for _ in range(300)]
    return [dict.fromkeys(guards, True), dict.fromkeys(guards, False), *drawn]


def test_the_allowed_actions_are_the_triggers_that_can_fire_each_guard_asked_once() -> None:
    rng = random.Random(17)
    checked = 0
    for state in CaseState:
        for answers in _state_answers(state.value, rng):
            case = _Counted(state.value, answers)
            expected = [t for t in triggers(state.value)
                        if can_fire(_Guarded(state.value, answers), t)]  # type: ignore[arg-type]
            assert allowed_actions(case) == expected, (state, answers)  # type: ignore[arg-type]
            assert all(n == 1 for n in case.asked.values()), (state, case.asked)
            checked += 1
    assert checked > 1000
