"""Binds the transition data to a case through a small adapter.

`transitions` cannot attach to a SQLModel row (pydantic refuses its trigger attributes), so the
machine is built once, with no models, and each event is fired on a `CaseAdapter` whose `state`
reads and writes the row. Guards are the adapter's methods named in the transition data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from transitions import Machine

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


def _transitions_for(trigger: str, state: str) -> list:
    event = MACHINE.events.get(trigger)
    if event is None:
        return []
    return list(event.transitions.get(CaseState(state).value, []))


def failed_guards(adapter: CaseAdapter, trigger: str) -> list[str]:
    """Names of the guards that stop `trigger` now (empty when it may fire)."""
    failed: list[str] = []
    for transition in _transitions_for(trigger, adapter.state):
        names = [c.func for c in transition.conditions if not _holds(adapter, c)]
        if not names:
            return []
        failed += names
    return failed


def _holds(adapter: CaseAdapter, condition: Any) -> bool:
    return bool(getattr(adapter, condition.func)()) == condition.target


def can_fire(adapter: CaseAdapter, trigger: str) -> bool:
    return bool(_transitions_for(trigger, adapter.state)) and not failed_guards(adapter, trigger)


def allowed_actions(adapter: CaseAdapter) -> list[str]:
    return [t for t in triggers(adapter.state) if can_fire(adapter, t)]


def fire(adapter: CaseAdapter, trigger: str) -> bool:
    """Fire an event; the caller has checked can_fire. Returns whether a transition ran."""
    return bool(MACHINE.events[trigger].trigger(adapter))


def dest_of(adapter: CaseAdapter, trigger: str) -> str | None:
    """Where `trigger` would take the case now (None for an internal transition)."""
    for transition in _transitions_for(trigger, adapter.state):
        if all(_holds(adapter, c) for c in transition.conditions):
            return transition.dest
    return None
