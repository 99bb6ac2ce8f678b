"""Binds the transition data to a case through a small adapter.

`transitions` cannot attach to a SQLModel row (pydantic refuses its trigger attributes), so the
machine is built once, with no models, and each event is fired on a `CaseAdapter` whose `state`
reads and writes the row. Guards are the adapter's methods named in the transition data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from transitions import Machine
from transitions.core import MachineError

from duban.states.definition import TRANSITIONS, CaseState


class GuardContext(Protocol):
    """What guards need to know beyond the row: today, the calendar and the policy."""

    def objection_window_open(self, case: Any) -> bool: ...
    def pending_return(self, case: Any) -> bool: ...
    def extension_allowed(self, case: Any) -> bool: ...
    def pending_extension(self, case: Any) -> bool: ...
    def referral_stage(self, case: Any) -> str | None: ...
    def referral_real_name(self, case: Any) -> bool: ...
    def counts_satisfied(self, result: str) -> bool: ...
    def unreachable_reached(self, case: Any) -> bool: ...
    def review_open(self, case: Any, level: str) -> bool: ...
    def rehandles(self, outcome: str | None) -> bool: ...
    def may_delegate(self, case: Any) -> bool: ...


@dataclass
class CaseAdapter:
    case: Any  # models.Case; Any keeps states/ free of the table layer
    ctx: GuardContext
    form: Any = None  # the action's form, for guards that read what the actor chose

    @property
    def state(self) -> str:
        return CaseState(self.case.state).value

    @state.setter
    def state(self, value: str) -> None:
        self.case.state = CaseState(value).value

    # Guards, named in TRANSITIONS.
    def within_objection_window(self, **_: Any) -> bool:
        return self.ctx.objection_window_open(self.case)

    def has_pending_return(self, **_: Any) -> bool:
        return self.ctx.pending_return(self.case)

    def no_pending_return(self, **_: Any) -> bool:
        return not self.ctx.pending_return(self.case)

    def awaits_signing(self, **_: Any) -> bool:
        # Set on every handover to a unit (not to an office handling the case itself), cleared
        # when the unit signs.
        return self.case.sign_due_on is not None

    def can_request_extension(self, **_: Any) -> bool:
        return self.ctx.extension_allowed(self.case)

    def has_pending_extension(self, **_: Any) -> bool:
        return self.ctx.pending_extension(self.case)

    def key_supervised_disposition(self, **_: Any) -> bool:
        # Progress reports follow the disposition (重点督办), not the state it is in now.
        return bool(self.case.disposition == "key_supervise")

    # A case's open referral passes through stages (duban.services.referrals.stage): None (none
    # open), "acknowledgement", "outcome", "feedback".
    def handling_continues(self, **_: Any) -> bool:
        return bool(getattr(self.form, "handling_continues", False))

    def no_open_referral(self, **_: Any) -> bool:
        return self.ctx.referral_stage(self.case) is None

    def referral_awaits_acknowledgement(self, **_: Any) -> bool:
        return self.ctx.referral_stage(self.case) == "acknowledgement"

    def referral_awaits_outcome(self, **_: Any) -> bool:
        return self.ctx.referral_stage(self.case) == "outcome"

    def referral_awaits_feedback(self, **_: Any) -> bool:
        return self.ctx.referral_stage(self.case) == "feedback"

    def feedback_owed(self, **_: Any) -> bool:
        return self.ctx.referral_real_name(self.case)

    def referral_notice_pending(self, **_: Any) -> bool:
        return self.ctx.referral_stage(self.case) in ("acknowledgement", "feedback") and bool(
            self.case.notice_due_on)

    # 回访: the result on the form, counted satisfied or not by policy; None for 联系不上.
    def _callback_result(self) -> str | None:
        result = getattr(self.form, "result", None)
        return None if result in (None, "unreachable") else str(result)

    def result_counts_satisfied(self, **_: Any) -> bool:
        result = self._callback_result()
        return result is not None and self.ctx.counts_satisfied(result)

    def result_not_satisfied(self, **_: Any) -> bool:
        result = self._callback_result()
        return result is not None and not self.ctx.counts_satisfied(result)

    def unreachable_attempts_reached(self, **_: Any) -> bool:
        return self.ctx.unreachable_reached(self.case)

    # 复查 / 复核 (duban.services.reviews): asked within its window after the reply; the decision's
    # outcome (policy [reviews.outcomes]) says whether the unit handles the case again.
    def reexamination_open(self, **_: Any) -> bool:
        return self.ctx.review_open(self.case, "reexamination")

    def recheck_open(self, **_: Any) -> bool:
        return self.ctx.review_open(self.case, "recheck")

    def rehandling_ordered(self, **_: Any) -> bool:
        return self.ctx.rehandles(getattr(self.form, "opinion", None))

    # 二次交办: the unit passed the case on to a department (cases.delegate_id), whose report may
    # wait for the unit's review (cases.delegate_report_pending).
    def unit_may_delegate(self, **_: Any) -> bool:
        return self.ctx.may_delegate(self.case)

    def delegated(self, **_: Any) -> bool:
        return self.case.delegate_id is not None

    def delegate_report_pending(self, **_: Any) -> bool:
        return bool(self.case.delegate_report_pending)

    def no_delegate_report_pending(self, **_: Any) -> bool:
        return not self.case.delegate_report_pending

    def handled_by_a_unit(self, **_: Any) -> bool:
        # A referred case's result is the commission's; revisits reopen only units' work.
        return self.case.unit_id is not None and self.case.disposition != "refer"


def _build() -> Machine:
    return Machine(
        model=None,
        states=[s.value for s in CaseState],
        transitions=[_plain(t) for t in TRANSITIONS],
        initial=CaseState.RECEIVED.value,
        auto_transitions=False,
        model_attribute="state",
        send_event=False,
    )


def _plain(transition: dict) -> dict:
    def value(x: Any) -> Any:
        if isinstance(x, list):
            return [value(i) for i in x]
        return x.value if isinstance(x, CaseState) else x

    return {k: value(v) for k, v in transition.items()}


MACHINE = _build()


# The machine is fixed once built: each state's triggers are looked up, not recomputed per action.
_TRIGGERS = {s.value: tuple(MACHINE.get_triggers(s.value)) for s in CaseState}


def triggers(state: str) -> list[str]:
    """Every action defined from a state, guards not evaluated."""
    return list(_TRIGGERS[CaseState(state).value])


class _Way(NamedTuple):
    """One transition of a trigger from a state: the guards it needs and where it leads."""

    conditions: tuple[tuple[str, bool], ...]  # (guard, the value it must return)
    dest: str | None  # None: an internal transition, the state stays


class Decision(NamedTuple):
    """What a trigger does from the case's state now (`decide`)."""

    failed: list[str]  # the guards that stop it; empty when it fires
    dest: str | None  # where it takes the case (None: it stays, or it does not fire)


def _ways() -> dict[tuple[str, str], tuple[_Way, ...]]:
    """Each (state, trigger)'s transitions in the order `transitions` tries them, read off the
    machine once. Firing a trigger is then a lookup and the guards' calls: the library's event
    machinery (event data, callback lists, state enter and exit) does nothing more here, since
    no transition or state has callbacks; this refuses to build if one ever does."""
    ways: dict[tuple[str, str], tuple[_Way, ...]] = {}
    for state in MACHINE.states.values():
        if state.on_enter or state.on_exit:
            raise TypeError(f"state {state.name} has callbacks: fire() would skip them")
    for trigger, event in MACHINE.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                if t.prepare or t.before or t.after:
                    raise TypeError(f"{trigger} from {source} has callbacks: fire() would skip them")
            ways[source, trigger] = tuple(
                _Way(tuple(_guard(c) for c in t.conditions), t.dest) for t in transitions)
    return ways


def _guard(condition: Any) -> tuple[str, bool]:
    if not isinstance(condition.func, str):  # TRANSITIONS names guards: the adapter's methods
        raise TypeError(f"guard {condition.func!r} is not named by a CaseAdapter method")
    return condition.func, bool(condition.target)


_WAYS = _ways()


def decide(adapter: CaseAdapter, trigger: str) -> Decision:
    """Whether `trigger` fires now and where to: the first transition whose guards all hold, as
    `transitions` picks it; else every guard that failed, for the refusal's message."""
    state = CaseState(adapter.state).value
    ways = _WAYS.get((state, trigger))
    if ways is None:  # as the library refuses it
        raise MachineError(f"Can't trigger event {trigger} from state {state}!")
    failed: list[str] = []
    for way in ways:
        names = [name for name, target in way.conditions
                 if bool(getattr(adapter, name)()) != target]
        if not names:
            return Decision([], way.dest)
        failed += names
    return Decision(failed, None)


def failed_guards(adapter: CaseAdapter, trigger: str) -> list[str]:
    """Names of the guards that stop `trigger` now (empty when it may fire)."""
    if (CaseState(adapter.state).value, trigger) not in _WAYS:
        return []
    return decide(adapter, trigger).failed


def can_fire(adapter: CaseAdapter, trigger: str) -> bool:
    return (CaseState(adapter.state).value, trigger) in _WAYS and not decide(adapter, trigger).failed


def allowed_actions(adapter: CaseAdapter) -> list[str]:
    """The triggers that may fire now, each guard asked at most once: a case page asks all of a
    state's triggers, whose transitions share guards (`can_fire` of each asked them again)."""
    state = CaseState(adapter.state).value
    answers: dict[str, bool] = {}

    def holds(name: str, target: bool) -> bool:
        answer = answers.get(name)
        if answer is None:
            answer = answers[name] = bool(getattr(adapter, name)())
        return answer == target

    return [trigger for trigger in _TRIGGERS[state]
            if any(all(holds(name, target) for name, target in way.conditions)
                   for way in _WAYS.get((state, trigger), ()))]


def fire(adapter: CaseAdapter, trigger: str) -> bool:
    """Fire an event; the caller has checked can_fire. Returns whether a transition ran."""
    decision = decide(adapter, trigger)
    if decision.failed:
        return False
    take(adapter, decision)
    return True


def take(adapter: CaseAdapter, decision: Decision) -> None:
    """Move the case as `decide` found it may (an internal transition leaves the state)."""
    assert not decision.failed, "the trigger may not fire"
    if decision.dest is not None:
        adapter.state = decision.dest


def dest_of(adapter: CaseAdapter, trigger: str) -> str | None:
    """Where `trigger` would take the case now (None for an internal transition)."""
    return decide(adapter, trigger).dest
