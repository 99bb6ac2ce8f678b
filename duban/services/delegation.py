"""二次交办: a government that handles a case passes it on to one of its own departments.

The government (an org of a kind in policy [delegation] allowed_from_kinds) stays the case's unit
(`cases.unit_id`): it answers for the case, the escalation ladder presses it, reports rank it. The
department it chose is `cases.delegate_id`: one of the government's own departments (an org of a
kind in `target_kinds` under the same office, its region and level), never an org the case
complains about (the avoidance rule of dispatch, `routing.avoided_for`).

While the case is delegated, the department does what policy `department_actions` lists (its
report, progress reports, an extension request) and the government does not; the department's
final report waits for the government (`cases.delegate_report_pending`), which forwards it to the
office (`forward_report`: the case is reported, and the office reviews it as any report) or
returns it to the department with reasons (`return_delegate_report`). The government may pass the
case on to another department or take it back (`recall_delegation`) while no report waits.
A case handed to another unit (reassignment, 提级直办, avoidance, 退单) ends its delegation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from duban.config.policy import Policy
from duban.deadlines import apply_limit, counted_deadline
from duban.errors import InvalidActionInput, OrgNotFound
from duban.models import Case, Review
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.routing import avoided_for, own_departments

if TYPE_CHECKING:
    from duban.services.handlers import Step


def may_delegate(orgs: OrgDirectory, policy: Policy, case: Case) -> bool:
    """Whether the case's unit is of a kind that passes cases on to its departments."""
    if case.unit_id is None:
        return False
    try:
        return orgs.by_id(case.unit_id).kind in policy.delegation.allowed_from_kinds
    except OrgNotFound:
        return False


def choices(session: Session, orgs: OrgDirectory, policy: Policy, case: Case) -> list[dict[str, Any]]:
    """The department picker of a case: each department with whether avoidance rules it out."""
    if case.unit_id is None:
        return []
    found = own_departments(orgs, policy, orgs.by_id(case.unit_id))
    if not found:
        return []
    avoided = avoided_for(session, orgs, policy, case)
    return [{"code": o.code, "name": o.name, "avoided": o.id in avoided,
             "current": o.id == case.delegate_id} for o in found]


def end(step: Step) -> None:
    """The case left the government (another unit, or back to the office): so did the department."""
    if step.case.delegate_id is not None:
        step.data["delegation_ended"] = step.ctx.orgs.by_id(step.case.delegate_id).code
    step.case.delegate_id = None
    step.case.delegate_report_pending = False


def _department(step: Step) -> OrgInfo:
    """The department the form names, checked: one of the government's, not the subject."""
    orgs, case = step.ctx.orgs, step.case
    assert case.unit_id is not None, "guarded by unit_may_delegate"
    unit = orgs.by_id(case.unit_id)
    kinds = step.ctx.policy.delegation.target_kinds
    allowed = own_departments(orgs, step.ctx.policy, unit)
    try:
        chosen = orgs.by_code(step.form.department)
    except OrgNotFound:
        chosen = None
    if chosen is None or chosen not in allowed:
        names = step.ctx.labels.text["list_sep"].join(step.ctx.labels.of("kinds", k) for k in kinds)
        raise InvalidActionInput(
            action=step.action, field="department", kind="delegate_target",
            message=f"must be a department of {unit.code} (an org of kind {', '.join(kinds)} under "
                    "its own office)",
            limits={"kinds": names, "region": unit.name})
    if chosen.id in avoided_for(step.session, orgs, step.ctx.policy, case):
        raise InvalidActionInput(
            action=step.action, field="department", kind="delegate_avoided",
            message="the case complains about this department; it may not handle it (回避)")
    if chosen.id == case.delegate_id:
        raise InvalidActionInput(
            action=step.action, field="department", kind="delegate_same",
            message="the case is already with this department")
    return chosen


def delegate(step: Step) -> None:
    chosen = _department(step)
    if step.case.delegate_id is not None:
        step.data["from_department"] = step.ctx.orgs.by_id(step.case.delegate_id).code
    step.case.delegate_id = chosen.id
    step.data["department"] = chosen.code
    step.reason = step.form.note


def recall(step: Step) -> None:
    assert step.case.delegate_id is not None, "guarded by delegated"
    step.data["department"] = step.ctx.orgs.by_id(step.case.delegate_id).code
    step.case.delegate_id = None
    step.reason = step.form.note


def department_report(step: Step) -> None:
    """The department's final report: recorded, and waiting for the government (no review limit
    yet: the office has nothing to review until the government forwards it)."""
    step.case.delegate_report_pending = True
    step.data["awaits"] = "government"


def _review(step: Step, decision: str, text: str) -> None:
    from duban.services.handlers import last_final_report_id

    step.insert(Review, case_id=step.case_id, report_id=last_final_report_id(step), decision=decision,
                reasons=text, reasons_redacted=step.redact(text), reviewer=step.actor.name,
                reviewed_at=step.now)
    step.reason = text
    step.case.delegate_report_pending = False
    assert step.case.delegate_id is not None
    step.data["department"] = step.ctx.orgs.by_id(step.case.delegate_id).code


def forward_report(step: Step) -> None:
    """The government passes its department's report on: the office's review starts now, and
    whether the handling limit was kept is judged now (what the office got, and when)."""
    _review(step, "forwarded", step.form.note)
    case = step.case
    if case.deadline_on is not None:
        due = counted_deadline(case.deadline_on, case.missed_deadline_on)
        assert due is not None
        step.data["due_on"] = due.isoformat()
        step.data["late"] = step.today > due
    apply_limit(case, step.calendar, kind="review", limit=step.ctx.policy.deadlines.review,
                start=step.today)


def return_report(step: Step) -> None:
    _review(step, "gov_returned", step.form.reasons)


DELEGATION_HANDLERS = {
    "delegate": delegate,
    "recall_delegation": recall,
    "forward_report": forward_report,
    "return_delegate_report": return_report,
}
