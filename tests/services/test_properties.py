"""Random action sequences through the service layer keep the engine's invariants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from duban.errors import (
    ActionNotAllowed,
    AvoidanceViolation,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
)
from duban.models import AuditEvent, Case, Subject
from duban.services import Actor, CaseService
from duban.services.forms import FORMS
from duban.services.integrity import verify
from duban.states.definition import TRANSITIONS
from tests.factories import ORGS, advance, complaint, fresh_databases, world

TRIGGERS = sorted({t["trigger"] for t in TRANSITIONS})
# An office among them too: it is never a dispatch target (duban.services.routing.check_target).
UNITS = [o.code for o in ORGS if o.kind != "office"] + ["GS-LZ-CG"]
TARGET_REFUSALS = ("dispatch_target", "refer_target", "escalate_target",
                   "delegate_target", "delegate_avoided", "delegate_same")
ROLES = ["dispatcher", "supervisor", "unit", "clerk", "admin"]
FIELD_VALUES = {"text": "报告", "reason": "理由", "reasons": "事实不清", "days": 10, "note": "",
                "outcome": "dismissed", "handling_continues": False, "method": "phone",
                "result": "satisfied", "opinion": "rehandle", "reply": "复查意见", "finding": "true",
                "actions_taken": "已处理", "decline_reason": "outside_remit"}


# Where a field's valid value depends on the action: closing without a callback takes a reason of
# policy [callbacks] close_reasons, not free text.
ACTION_VALUES = {("close", "reason"): "declined"}


def form_for(action: str, unit: str) -> dict[str, object]:
    """A valid form for any action, built from its model so new actions are covered too."""
    fields = FORMS[action].model_fields
    form: dict[str, object] = {name: ACTION_VALUES.get((action, name), FIELD_VALUES[name])
                               for name in fields if name in FIELD_VALUES}
    if "unit" in fields and action not in ("escalate", "refer"):
        form["unit"] = unit
    if "department" in fields:  # 二次交办: any org, a department of the government or not
        form["department"] = unit
    return form


class CaseLife(RuleBasedStateMachine):
    """Registers a few cases and throws any action by any role at them, at any time."""

    fresh: Callable[[], Engine]  # an empty database per example, set by the test

    @initialize()
    def setup(self) -> None:
        self.engine = self.fresh()
        self.ctx = world(self.engine, start="2023-09-25 09:00")
        self.service = CaseService(self.ctx)
        self.numbers = [
            self.service.register(complaint(title=f"事项{i}", subject_org_code=s, subject_name=s),
                                  actor=Actor("c", "clerk")).case.number
            for i, s in enumerate(["GS-LZ-CG-ZJJ", "GS-LZ-CG-GOV", "GS-LZ"])
        ]

    @rule(case=st.integers(0, 2), action=st.sampled_from(TRIGGERS), unit=st.sampled_from(UNITS),
          role=st.sampled_from(ROLES))
    def act(self, case: int, action: str, unit: str, role: str) -> None:
        number = self.numbers[case]
        current = self.service.get(number)
        actor = Actor("p", role, current.unit_id if role == "unit" else None)
        try:
            self.service.act(number, action, actor=actor, form=form_for(action, unit))
            event(f"performed {action}")
        except (ActionNotAllowed, PermissionDenied, AvoidanceViolation, CaseNotFound,
                InvalidActionInput) as exc:
            assert not isinstance(exc, InvalidActionInput) or exc.kind in TARGET_REFUSALS
            after = self.service.get(number)
            assert (after.version, after.state, after.audit_seq) == (
                current.version, current.state, current.audit_seq)

    @rule(case=st.integers(0, 2), data=st.data(), unit=st.sampled_from(UNITS))
    def act_as_allowed(self, case: int, data: st.DataObject, unit: str) -> None:
        number = self.numbers[case]
        current = self.service.get(number)
        allowed = self.service.allowed_actions(current)
        if not allowed:
            return
        action = data.draw(st.sampled_from(allowed))
        role = data.draw(st.sampled_from(self.ctx.policy.roles[action]))
        # On a delegated case (二次交办) the department does its part, the government the rest.
        department = (current.delegate_id is not None
                      and action in self.ctx.policy.delegation.department_actions)
        actor = Actor("p", role, (current.delegate_id if department else current.unit_id)
                      if role == "unit" else None)
        try:
            self.service.act(number, action, actor=actor, form=form_for(action, unit))
            event(f"performed {action}")
        except (AvoidanceViolation, CaseNotFound, InvalidActionInput) as exc:
            # Only avoidance (no office above the subject), a unit-less case, or a unit that is
            # not a dispatch target (an office, a commission to transfer to) may refuse here.
            assert not isinstance(exc, InvalidActionInput) or exc.kind in TARGET_REFUSALS
            assert self.service.get(number).version == current.version

    @rule(days=st.integers(1, 20))
    def time_passes(self, days: int) -> None:
        advance(self.ctx, days=days)

    @invariant()
    def audit_replays_to_the_current_state(self) -> None:
        if not hasattr(self, "engine"):
            return
        assert verify(self.ctx).findings == []  # chains, rows and facts
        with Session(self.engine) as session:
            for case in session.exec(select(Case)):
                events = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                      .order_by(AuditEvent.seq)).all()
                state = None
                for event in events:
                    assert event.from_state == state
                    state = event.to_state
                assert state == case.state

    @invariant()
    def no_case_is_with_the_unit_it_complains_about(self) -> None:
        if not hasattr(self, "engine"):
            return
        with Session(self.engine) as session:
            for case, subject in session.exec(select(Case, Subject).join(Subject)):
                assert case.unit_id is None or case.unit_id != subject.org_id

    @invariant()
    def deadlines_fall_on_working_days(self) -> None:
        if not hasattr(self, "engine"):
            return
        cal = self.ctx.calendars.official
        assert verify(self.ctx).findings == []  # chains, rows and facts
        with Session(self.engine) as session:
            for case in session.exec(select(Case)):
                if case.deadline_on is not None:
                    assert cal.is_workday(case.deadline_on).workday
                    assert case.deadline_on > dt.date(2023, 9, 25)
                assert (case.state == "closed") == (case.closed_at is not None)

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()


def test_random_action_sequences_keep_the_invariants(tmp_path: Path,
                                                     _sqlite_schema: Callable[[], Path]) -> None:
    class Run(CaseLife):
        fresh = staticmethod(fresh_databases(tmp_path, _sqlite_schema))

    run_state_machine_as_test(Run, settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
