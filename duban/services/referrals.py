"""移交纪检监察机关: a referral to a discipline commission, a path of its own beside handling.

A dispatcher (or supervisor) refers a case from received, from any handling state or from
reported, and says whether the unit's handling continues:

- it does not: the case leaves the handling track (state `referred`, the commission in unit_id,
  disposition "refer", no handling limit, never chased by the escalation ladder);
- it does: the case keeps its state, unit and limit; the referral runs beside it.

Either way the referral is a row of its own (models/referral.py) and goes through three stages:
acknowledgement (受理), outcome (处置, one of policy [referral.outcomes]) and, for a real-name
reporter, result feedback. Each notice to a real-name reporter has its limit (policy [referral]):
acceptance from the commission's receipt, the result from its conclusion. The day the next one is
due is `cases.notice_due_on`; a late notice is reminded to the commission by the sweep
(`remind_notice`, through pressure.plan like every engine step). On a referred case the notice
deadline is also the case's own deadline, so its colour follows the notices, not a handling limit.

Who acts for the commission: users of role "unit" whose org is the commission. A commission is an
org that receives cases like a handling unit does (it has staff, an address, a calendar), so the
existing role, its sign-in and its mail work unchanged; what a unit may do is bound by org, and
the commission's actions (`REFERRAL_ACTIONS`) are bound to the referral's commission, not to the
case's unit (`scope.may_take`). A new role would have to be added to every face and to the
privacy rule for no difference in rights. The referring office's supervisor may record what the
commission told it, as offices do when the commission answers on paper.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from duban.deadlines import apply_limit, clear_limit, due_date
from duban.errors import InvalidActionInput
from duban.models import Complainant, Org, Referral
from duban.services.auditrows import cover_instance
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.driver import Prepared
from duban.services.routing import (
    avoided_for,
    check_target,
    commission_for,
    dispatching_office,
    subject_org_id,
)
from duban.states.definition import CaseState

_REFERRALS = Referral.__table__  # type: ignore[attr-defined]
_LATEST = Prepared(select(_REFERRALS).where(_REFERRALS.c.case_id == bindparam("case_id"))
                   .order_by(_REFERRALS.c.id.desc()).limit(1))
_COMPLAINANTS = Complainant.__table__  # type: ignore[attr-defined]
_REAL_NAME = Prepared(select(_COMPLAINANTS.c.real_name).where(_COMPLAINANTS.c.id == bindparam("id")))


def latest(session: Session, case_id: int | None) -> Any:
    """The case's newest referral as a row (None when it was never referred)."""
    if case_id is None:
        return None
    rows = _LATEST.rows(session, {"case_id": case_id})
    return rows[0] if rows else None


def stage(row: Any) -> str | None:
    """What the referral waits for: acknowledgement, outcome, feedback; None when it is done."""
    if row is None:
        return None
    if row["acknowledged_at"] is None:
        return "acknowledgement"
    if row["outcome"] is None:
        return "outcome"
    if row["real_name"] and row["feedback_at"] is None:
        return "feedback"
    return None


def _region_office(orgs: OrgDirectory, org: OrgInfo) -> OrgInfo | None:
    current: OrgInfo | None = org
    while current is not None and current.kind != "office":
        current = orgs.parent(current)
    return current


def commission_with_jurisdiction(session: Session, ctx: Any, case: Any) -> OrgInfo | None:
    """The commission that takes the case (policy [referral.jurisdiction]).

    The commission of the subject's region ("same"); for a subject whose kind is "above" (a
    commission, or its staff filed under it) the commission of the region above. A case that
    names no org goes to the commission of the receiving office's region. Where a region has no
    commission of its own, the nearest one above takes it (routing.commission_for).
    """
    orgs = ctx.orgs
    subject_id = subject_org_id(session, case)
    subject = orgs.by_id(subject_id) if subject_id is not None else None
    if subject is None:
        return commission_for(orgs, orgs.by_id(case.office_id))
    region = _region_office(orgs, subject) or orgs.by_id(case.office_id)
    if ctx.policy.referral.jurisdiction.rule_for(subject.kind) == "above":
        above = orgs.parent(region)
        region = _region_office(orgs, above) if above is not None else None
        if region is None:
            return None
    return commission_for(orgs, region)


def _commission(step: Any) -> OrgInfo:
    chosen = step.form.unit
    orgs = step.ctx.orgs
    commission = orgs.by_code(chosen) if chosen else commission_with_jurisdiction(
        step.session, step.ctx, step.case)
    if commission is None:
        raise InvalidActionInput(action=step.action, field="unit", kind="missing",
                                 message="no discipline commission has jurisdiction; name one (纪检监察机关)")
    if chosen:
        check_target(orgs, step.ctx.policy, step.ctx.labels, case=step.case, actor=step.actor,
                     action=step.action, unit=commission)
    if commission.id in avoided_for(step.session, orgs, step.ctx.policy, step.case):
        raise InvalidActionInput(
            action=step.action, field="unit", kind="refer_target",
            message="the complaint is about this commission: the commission above it has jurisdiction "
                    "(反映纪检监察机关的，由上一级纪检监察机关受理)")
    return commission


def _due(step: Any, kind: str) -> dt.date:
    limit = getattr(step.ctx.policy.referral, kind)
    return due_date(step.calendar, start=step.today, days=limit.days, unit=limit.unit).date


def _notice_limit(step: Any, kind: str) -> None:
    """On a referred case the due notice is the case's own deadline (its colour follows it)."""
    if step.case.state == CaseState.REFERRED.value:
        apply_limit(step.case, step.calendar, kind=kind, limit=getattr(step.ctx.policy.referral, kind),
                    start=step.today)


def _open(step: Any) -> Referral:
    row = latest(step.session, step.case_id)
    if row is None:
        referral_id = _made_for_a_referral_before_rows(step)
    else:
        referral_id = row["id"]
    found = step.session.get(Referral, referral_id)
    assert found is not None
    return found


def is_from_before_rows(case: Any, row: Any) -> bool:
    """A case referred before referrals had rows (migration 0008): the commission holds it as its
    unit, and only the outcome is owed (nothing tells whether it was acknowledged or to whom)."""
    return row is None and case.state == CaseState.REFERRED.value and case.disposition == "refer"


def _made_for_a_referral_before_rows(step: Any) -> int:
    case = step.case
    assert case.disposition == "refer", "guarded by the referral's stage (the state has moved on)"
    at = case.dispatched_at or step.now
    return int(step.insert(Referral, case_id=step.case_id, commission_id=case.unit_id,
                           office_id=case.office_id, referred_at=at, referred_by="",
                           handling_continues=False, real_name=False, acknowledged_at=at))


def refer(step: Any) -> None:
    case, form = step.case, step.form
    commission = _commission(step)
    office = dispatching_office(step.ctx.orgs, case, step.actor)
    real_name = bool(case.complainant_id and _REAL_NAME.scalar(step.session, {"id": case.complainant_id}))
    continues = case.state != CaseState.REFERRED.value
    if not continues:
        case.disposition = "refer"
        case.dispatched_at = case.dispatched_at or step.now
        case.unit_id = commission.id
        clear_limit(case)
    case.referred_to_id = commission.id
    case.referred_from_id = office.id
    # Policy counts the acceptance notice from the commission's receipt: the day it is referred.
    ack_due = _due(step, "acknowledgement") if real_name else None
    if ack_due is not None:
        _notice_limit(step, "acknowledgement")
    case.notice_due_on = ack_due
    step.insert(Referral, case_id=step.case_id, commission_id=commission.id, office_id=office.id,
                referred_at=step.now, referred_by=step.actor.name, handling_continues=continues,
                real_name=real_name, acknowledgement_due_on=ack_due)
    step.data.update({"unit" if not continues else "commission": commission.code,
                      "handling_continues": continues,
                      "acknowledgement_due_on": ack_due.isoformat() if ack_due else None})
    if not continues:
        step.data["disposition"] = "refer"
    step.reason = form.note


def acknowledge(step: Any) -> None:
    referral = _open(step)
    referral.acknowledged_at = step.now
    referral.acknowledged_by = step.actor.name
    cover_instance(step.session, referral)
    step.case.notice_due_on = None
    if step.case.state == CaseState.REFERRED.value:
        clear_limit(step.case)  # the commission's own work has no limit of ours
    step.data["late"] = bool(referral.acknowledgement_due_on and step.today > referral.acknowledgement_due_on)
    step.reason = step.form.note


def record_result(step: Any) -> None:
    outcomes = step.ctx.policy.referral.outcomes
    outcome = step.form.outcome
    if outcome not in outcomes:
        raise InvalidActionInput(action=step.action, field="outcome", kind="literal_error",
                                 message=f"must be one of {', '.join(outcomes)}")
    referral = _open(step)
    referral.outcome = outcome
    referral.outcome_note = step.form.text
    referral.outcome_note_redacted = step.redact(step.form.text)
    referral.concluded_at = step.now
    referral.concluded_by = step.actor.name
    if referral.real_name:
        referral.feedback_due_on = _due(step, "feedback")
        _notice_limit(step, "feedback")
    step.case.notice_due_on = referral.feedback_due_on
    cover_instance(step.session, referral)
    step.data["outcome"] = outcome
    step.data["late"] = False  # the commission's work has no handling limit of ours (reports read it)
    step.reason = step.form.text
    if step.case.state == CaseState.CLOSED.value:
        _close(step)


def notify_result(step: Any) -> None:
    referral = _open(step)
    referral.feedback_at = step.now
    cover_instance(step.session, referral)
    step.case.notice_due_on = None
    step.data["late"] = bool(referral.feedback_due_on and step.today > referral.feedback_due_on)
    step.reason = step.form.note
    if step.case.state == CaseState.CLOSED.value:
        _close(step)


def _close(step: Any) -> None:
    step.case.closed_at = step.now
    clear_limit(step.case)


def remind_notice(step: Any) -> None:
    """催告知: a notice to the reporter is late; the commission is reminded (never the unit)."""
    from duban.services.outbox import case_context, enqueue  # outbox reads through reading.py

    row = latest(step.session, step.case_id)
    notice = stage(row)
    commission = step.session.get(Org, row["commission_id"]) if row is not None else None
    step.reason = getattr(step.form, "note", "") or ""
    step.data["notice"] = notice
    step.data["due_on"] = step.case.notice_due_on.isoformat() if step.case.notice_due_on else None
    context = case_context(step.ctx, step.case, today=step.today)
    context.update(note=step.reason, redacted={"note": step.redact(step.reason)},
                   notice=step.ctx.labels.of("deadline_kinds", notice), due_on=step.data["due_on"] or "")
    enqueue(step.session, step.ctx, kind="remind_notice", audience="unit", to=commission,
            context=context, now=step.now, case=step.case)
    step.data["notified"] = [f"unit:{commission.code if commission else '-'}"]


REFERRAL_HANDLERS = {
    "refer": refer,
    "acknowledge_referral": acknowledge,
    "record_result": record_result,
    "notify_result": notify_result,
    "remind_notice": remind_notice,
}
