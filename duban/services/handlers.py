"""What each action does to a case beyond its change of state. Called inside the transaction."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, func, select

from duban.clock import local_date
from duban.deadlines import add_amount, apply_limit, clear_limit, counted_deadline, due_date, recompute
from duban.errors import CallbackOwed, InvalidActionInput
from duban.models import REQUESTED, Callback, Case, Decline, Extension, HandlingReport, Objection, Review
from duban.services import delegation
from duban.services.auditrows import cover_instance
from duban.services.callbackrules import UNREACHABLE, awaits_callback, callback_episode, unreachable_attempts
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.driver import Prepared
from duban.services.persist import insert_row
from duban.services.pressure import sign_episode
from duban.services.pressure_actions import PRESSURE_HANDLERS, finish_callback_task, notify, notify_unit
from duban.services.redaction import Identity, case_identity, redact_text
from duban.services.referrals import REFERRAL_HANDLERS, is_from_before_rows
from duban.services.referrals import latest as latest_referral
from duban.services.referrals import stage as referral_stage
from duban.services.reviews import REVIEW_HANDLERS
from duban.services.reviews import refusal as review_refusal
from duban.services.reviews import rehandles as review_rehandles
from duban.services.routing import avoid, check_target, higher_office, office_of_record, take_over
from duban.states.definition import DISPOSITION_LADDER
from duban.workcal import WorkCalendar

REPORT_TEXTS = ("actions_taken", "rectification", "accountability")  # beside finding (是否属实)

# Built once: building a statement per call costs more than running it (cache keys, coercion).
_REPORTS = HandlingReport.__table__  # type: ignore[attr-defined]
_LAST_FINAL = Prepared(select(func.max(_REPORTS.c.id).label("id")).where(
    _REPORTS.c.case_id == bindparam("case_id"), _REPORTS.c.kind == "final"))
_EXT = Extension.__table__  # type: ignore[attr-defined]
_OBJ = Objection.__table__  # type: ignore[attr-defined]
_PENDING_RETURN = Prepared(select(_OBJ.c.id).where(_OBJ.c.case_id == bindparam("case_id"),
                                                   _OBJ.c.status == REQUESTED).limit(1))
_EXTENSIONS = Prepared(select(_EXT.c.status, func.count().label("n"))
                       .where(_EXT.c.case_id == bindparam("case_id")).group_by(_EXT.c.status))


@dataclass
class Step:
    session: Session
    case: Case
    ctx: ServiceContext
    actor: Actor
    action: str
    form: Any
    now: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)  # recorded in the audit event
    reason: str = ""
    _identity: Identity | None = field(default=None, repr=False)
    _redacted: dict[str, str] = field(default_factory=dict, repr=False)  # a reason is often the form's text

    @property
    def case_id(self) -> int:
        assert self.case.id is not None, "actions run on stored cases"
        return self.case.id

    @property
    def today(self) -> dt.date:
        return local_date(self.now)

    @property
    def calendar(self) -> WorkCalendar:
        return calendar_of(self.session, self.ctx, self.case)

    def redact(self, text: str) -> str:
        """`text`'s redacted twin; the case's complainants are loaded once, and only for a text."""
        if not text:
            return ""
        done = self._redacted.get(text)
        if done is None:
            if self._identity is None:
                self._identity = case_identity(self.session, self.case_id)
            done = self._redacted[text] = redact_text(text, self._identity)
        return done

    def insert(self, model: type[SQLModel], **values: Any) -> int:
        """Record a new row (report, review…) now; the action only adds it, never changes it."""
        return insert_row(self.session, model, **values)

    def org(self, code: str) -> OrgInfo:
        return self.ctx.orgs.by_code(code)

    def handling_limit(self) -> None:
        assert self.case.disposition is not None
        limit = self.ctx.policy.handling_limit(self.case.disposition, self.case.priority)
        apply_limit(self.case, self.calendar, kind="handling", limit=limit, start=self.today)

    def notify(self, kind: str, *, to: Any, audience: str) -> None:
        """Queue an email (template `kind`) to an org in this action's transaction.

        audience is unit, unit_head, government or office: it picks the address and decides,
        by the confidentiality rule, whether the complainant may appear (duban.services.outbox).
        """
        notify(self, kind, to=to, audience=audience)


def calendar_of(session: Session, ctx: ServiceContext, case: Case) -> WorkCalendar:
    """The calendar of the unit handling the case, else of the office that received it."""
    return ctx.calendar_for(ctx.orgs.by_id(case.unit_id or case.office_id).code)


def _assign(step: Step, unit: OrgInfo, *, chosen: bool) -> None:
    """Hand the case to `unit`, never to whom it complains about (every action that sets unit_id
    comes here, the engine's too). A unit the dispatcher `chosen` must be a dispatch target."""
    assigned, moved = avoid(step.session, step.ctx.orgs, step.ctx.policy, step.case, unit)
    if chosen:
        check_target(step.ctx.orgs, step.ctx.policy, step.ctx.labels, case=step.case, actor=step.actor,
                     action=step.action, unit=unit)
    unit = assigned
    if unit.id != step.case.unit_id:
        delegation.end(step)  # a department of the unit before is none of the new unit's
    if moved:
        step.data["avoidance"] = moved
        step.reason = step.reason or step.ctx.labels.text["avoidance"]
    if step.case.unit_id != unit.id:
        _hand_over(step, unit)
    step.case.unit_id = unit.id
    step.data["unit"] = unit.code
    if take_over(step.ctx.orgs, step.case, unit) is not None:
        # 提级直办 (or avoidance moving it up): the office above holds the case from now on.
        step.data["office_of_record"] = unit.code


def _hand_over(step: Step, unit: OrgInfo) -> None:
    """A new unit has the case: it signs for it (签收) within policy [deadlines.sign_for]. An office
    handling a case itself (提级直办 at the top) has nothing to sign for."""
    clear_signing(step.case)
    if unit.kind != "office":
        limit = step.ctx.policy.deadlines.sign_for
        step.case.sign_due_on = due_date(step.ctx.calendar_for(unit.code), start=step.today,
                                         days=limit.days, unit=limit.unit).date
        step.data["sign_due_on"] = step.case.sign_due_on.isoformat()


def _default_unit(step: Step, disposition: str) -> OrgInfo:
    case, orgs = step.case, step.ctx.orgs
    if disposition == "escalate":
        # At the top the office of record itself handles it directly (直办).
        return higher_office(orgs, orgs.by_id(case.unit_id or case.office_id)) or office_of_record(orgs, case)
    # refer has its own path and jurisdiction (services/referrals.py).
    raise InvalidActionInput(
        action=step.action, field="unit", message="name the handling unit's code (承办单位)", kind="missing"
    )


def carry_missed_deadline(step: Step) -> None:
    """A raise of a late case starts a new limit, but the unit missed the one it had: the case
    keeps counting overdue from that one until the unit reports (deadlines.counted_deadline)."""
    case = step.case
    if case.deadline_kind == "handling" and case.deadline_on is not None and case.deadline_on < step.today:
        if case.missed_deadline_on is None or case.deadline_on < case.missed_deadline_on:
            case.missed_deadline_on = case.deadline_on
        step.data["missed_deadline_on"] = case.missed_deadline_on.isoformat()


def dispatch(step: Step, disposition: str) -> None:
    unit = step.org(step.form.unit) if step.form.unit else _default_unit(step, disposition)
    carry_missed_deadline(step)  # 提级直办 of a case already late below
    step.case.disposition = disposition
    step.case.dispatched_at = step.now
    _assign(step, unit, chosen=bool(step.form.unit))
    step.data["disposition"] = disposition
    step.reason = step.reason or step.form.note
    step.handling_limit()


def step_up(step: Step) -> None:
    current = step.case.disposition or "transfer"
    raised = DISPOSITION_LADDER[DISPOSITION_LADDER.index(current) + 1]
    step.data["from_disposition"] = current
    step.reason = step.form.reason
    step.case.disposition = raised
    if raised == "escalate":
        _assign(step, _default_unit(step, "escalate"), chosen=False)
    step.data["disposition"] = raised
    carry_missed_deadline(step)
    _raised_limit(step)
    notify_unit(step, "step_up")


def _raised_limit(step: Step) -> None:
    """A raise never gives the unit more time (policy [ladder] raise_deadline): the running
    deadline stays, with its episode (the ladder goes on, as after an extension), unless "shorter"
    and the raised disposition's own limit from today ends earlier: then that limit starts."""
    case = step.case
    running = case.deadline_on if case.deadline_kind == "handling" else None
    if running is None:
        step.handling_limit()
        return
    if step.ctx.policy.ladder.raise_deadline == "shorter":
        assert case.disposition is not None
        limit = step.ctx.policy.handling_limit(case.disposition, case.priority)
        if due_date(step.calendar, start=step.today, days=limit.days, unit=limit.unit).date < running:
            step.handling_limit()
            step.data["deadline_to"] = str(case.deadline_on)
            return
    step.data["deadline_kept"] = str(running)


def _pending_return(step: Step) -> Objection | None:
    """The 退单 request awaiting a decision, if any: asked by id at driver level first, since most
    actions ask (lapse_return) and almost none find one."""
    found = _PENDING_RETURN.scalar(step.session, {"case_id": step.case_id})
    return step.session.get(Objection, found) if found is not None else None


def _decide_return(step: Step, status: str, note: str) -> Objection:
    row = _pending_return(step)
    assert row is not None, "guarded by has_pending_return"
    row.status = status
    row.decided_by = step.actor.name
    row.decided_at = step.now
    row.decision_note = note
    row.decision_note_redacted = step.redact(note)
    cover_instance(step.session, row)  # the decision is part of this action's event
    step.data["return_id"] = row.id
    return row


def request_return(step: Step) -> None:
    """退单申请: the case stays with the unit, its clock running, until the dispatcher decides."""
    assert step.case.unit_id is not None
    row_id = step.insert(Objection, case_id=step.case_id, unit_id=step.case.unit_id, status=REQUESTED,
                         reason=step.form.reason, reason_redacted=step.redact(step.form.reason),
                         objected_at=step.now)
    step.data["return_id"] = row_id
    step.reason = step.form.reason


def accept_return(step: Step) -> None:
    """同意退单: back to triage, no unit, marked on the request (with the unit's reason)."""
    row = _decide_return(step, "accepted", step.form.note)
    delegation.end(step)
    step.data["unit_id"] = row.unit_id
    step.reason = step.form.note or row.reason
    step.case.unit_id = None
    step.case.disposition = None
    clear_signing(step.case)
    apply_limit(step.case, step.calendar, kind="triage", limit=step.ctx.policy.deadlines.triage,
                start=step.today)


def decline(step: Step) -> None:
    """不予受理: the triage limit stops; the reason stays on the case while it is not accepted."""
    reasons = step.ctx.policy.intake.decline_reasons
    code = step.form.decline_reason
    if code not in reasons:
        raise InvalidActionInput(action=step.action, field="decline_reason", kind="literal_error",
                                 message=f"must be one of {', '.join(reasons)}")
    step.insert(Decline, case_id=step.case_id, reason=code, note=step.form.note,
                note_redacted=step.redact(step.form.note), declined_by=step.actor.name,
                declined_at=step.now)
    step.case.decline_reason = code
    step.data["decline_reason"] = code
    step.reason = step.form.note or step.ctx.labels.of("decline_reasons", code)
    clear_limit(step.case)


def reinstate(step: Step) -> None:
    """Back to triage with a fresh triage limit, counted from today."""
    step.data["decline_reason"] = step.case.decline_reason
    step.case.decline_reason = None
    step.reason = step.form.reason
    apply_limit(step.case, step.calendar, kind="triage", limit=step.ctx.policy.deadlines.triage,
                start=step.today)


def extension_cap(calendar: WorkCalendar, policy: Any, deadline_on: dt.date | None) -> int:
    """The most one extension may ask, in policy [extension] unit: max_days in max_unit after the
    running deadline (信访工作条例 art. 34: "不得超过30日"), counted in the request's unit."""
    rule = policy.extension
    if rule.unit == rule.max_unit or deadline_on is None:
        return int(rule.max_days)
    last = add_amount(calendar, deadline_on, rule.max_days, rule.max_unit).date
    if rule.unit == "workdays":
        return calendar.workdays_between(deadline_on, last)
    return (last - deadline_on).days


def reject_return(step: Step) -> None:
    """不同意退单: the unit keeps the case, its handling limit running as before."""
    _decide_return(step, "rejected", step.form.reason)
    step.reason = step.form.reason


def lapse_return(step: Step) -> None:
    """A pending 退单 request the case has moved past (another unit took it, or the unit reported):
    nothing left to decide."""
    row = _pending_return(step)
    if row is not None:
        row.status = "lapsed"
        row.decided_at = step.now
        cover_instance(step.session, row)
        step.data["return_lapsed"] = row.id


def clear_signing(case: Case) -> None:
    case.signed_at = None
    case.signed_by = None
    case.sign_due_on = None


def sign_for(step: Step) -> None:
    """签收: the unit acknowledges the case handed to it."""
    step.case.signed_at = step.now
    step.case.signed_by = step.actor.name
    step.data["sign_due_on"] = str(step.case.sign_due_on)
    step.data["late"] = step.today > step.case.sign_due_on if step.case.sign_due_on else False
    step.case.sign_due_on = None
    step.reason = step.form.note


def remind_sign_for(step: Step) -> None:
    step.reason = step.form.note
    assert step.case.sign_due_on is not None, "guarded by awaits_signing"
    step.data["episode"] = sign_episode(step.case.sign_due_on)  # once per handover (pressure.py)
    step.data["sign_due_on"] = step.case.sign_due_on.isoformat()
    notify_unit(step, "remind_sign_for")


def request_extension(step: Step) -> None:
    unit = step.ctx.policy.extension.unit
    cap = extension_cap(step.calendar, step.ctx.policy, step.case.deadline_on)
    if step.form.days > cap:
        most = step.ctx.labels.amount(cap, unit)
        rule = step.ctx.labels.amount(step.ctx.policy.extension.max_days, step.ctx.policy.extension.max_unit)
        raise InvalidActionInput(action=step.action, field="days",
                                 message=f"at most {cap} {unit} (延期最多{most}，不得超过{rule})",
                                 kind="extension_too_long", limits={"le": cap, "most": most, "rule": rule})
    step.insert(Extension, case_id=step.case_id, days=step.form.days, unit=unit, reason=step.form.reason,
                reason_redacted=step.redact(step.form.reason), requested_by=step.actor.name,
                requested_at=step.now)
    step.data["days"] = step.form.days
    step.data["unit"] = unit
    step.reason = step.form.reason


def _pending(step: Step) -> Extension:
    ext = step.session.exec(select(Extension).where(
        Extension.case_id == step.case.id, Extension.status == REQUESTED)).first()
    assert ext is not None, "guarded by has_pending_extension"
    return ext


def decide_extension(step: Step, approved: bool) -> None:
    """批准延期 in full or in part (`days`, at most the amount asked), or 不予延期 with a reason."""
    ext = _pending(step)
    unit = ext.unit or "days"  # a request from before units: calendar days
    note = step.form.note if approved else step.form.reason
    granted = (step.form.days or ext.days) if approved else None
    if granted is not None and granted > ext.days:
        asked = step.ctx.labels.amount(ext.days, unit)
        raise InvalidActionInput(action=step.action, field="days", kind="more_than_asked",
                                 limits={"le": ext.days, "asked": asked},
                                 message=f"at most the {ext.days} {unit} asked "
                                         f"(批准延期不得超过申请的{asked})")
    case = step.case
    if granted is not None and case.extension_days and (case.extension_unit or "days") != unit:
        raise InvalidActionInput(action=step.action, field="days", kind="unit_mismatch",
                                 message=f"this limit was extended in {case.extension_unit or 'days'}, "
                                         f"the request is in {unit} (本期限已按其他单位延期，不能混用)")
    ext.status = "approved" if approved else "rejected"
    ext.granted_days = granted
    ext.decision_note = note
    ext.decision_note_redacted = step.redact(note)
    ext.decided_by = step.actor.name
    ext.decided_at = step.now
    cover_instance(step.session, ext)  # the decision is part of this action's event
    step.data["days"] = ext.days
    step.data["unit"] = unit
    step.reason = note
    if granted is not None:
        step.data["granted_days"] = granted
        case.extension_days += granted
        case.extension_unit = unit
        answer = recompute(case, step.calendar)
        if answer is not None:
            step.data["deadline_from"] = str(case.deadline_on)
            case.deadline_on = answer.date
            case.deadline_provisional = answer.provisional
            step.data["deadline_to"] = str(answer.date)


def reassign(step: Step) -> None:
    step.data["from_unit_id"] = step.case.unit_id
    step.reason = step.form.reason
    _assign(step, step.org(step.form.unit), chosen=True)
    step.handling_limit()


def _structured(step: Step) -> dict[str, Any]:
    """A final report's structured part, checked against policy [handling_report] required."""
    form = step.form
    for name in step.ctx.policy.handling_report.required:
        if not getattr(form, name, None):
            raise InvalidActionInput(action=step.action, field=name, kind="missing",
                                     message="a final report must state it (办理报告须填写此项)")
    values: dict[str, Any] = {"finding": form.finding}
    for name in REPORT_TEXTS:
        values[name] = getattr(form, name)
        values[f"{name}_redacted"] = step.redact(values[name])
    if form.finding:
        step.data["finding"] = form.finding
    return values


def _report(step: Step, kind: str) -> None:
    parts = _structured(step) if kind == "final" else {}
    # A delegated case's reports are its department's (二次交办): the department writes them.
    writer = step.case.delegate_id if step.case.delegate_id is not None else step.case.unit_id
    step.insert(HandlingReport, case_id=step.case_id, unit_id=writer, kind=kind,
                text=step.form.text, text_redacted=step.redact(step.form.text),
                submitted_by=step.actor.name, submitted_at=step.now, **parts)
    step.data["report_kind"] = kind
    if kind != "progress" and step.case.deadline_on is not None:
        # Whether the handling limit was kept, fixed in the audit trail when the report comes in:
        # the on-time closure rate (duban.reports) reads it, since the limit is cleared at close.
        # A deadline missed before a raise is the one kept or not: a raise buys no punctuality.
        due = counted_deadline(step.case.deadline_on, step.case.missed_deadline_on)
        assert due is not None
        step.data["due_on"] = due.isoformat()
        step.data["late"] = step.today > due


def submit_report(step: Step) -> None:
    _report(step, "final")
    if step.case.delegate_id is not None:
        delegation.department_report(step)  # it waits for the government's review
        return
    apply_limit(step.case, step.calendar, kind="review", limit=step.ctx.policy.deadlines.review,
                start=step.today)


def report_progress(step: Step) -> None:
    _report(step, "progress")


def last_final_report_id(step: Step) -> int | None:
    return _LAST_FINAL.scalar(step.session, {"case_id": step.case_id})  # type: ignore[no-any-return]


def approve(step: Step) -> None:
    step.insert(Review, case_id=step.case_id, report_id=last_final_report_id(step),
                decision="approved", reasons=step.form.note,
                reasons_redacted=step.redact(step.form.note), reviewer=step.actor.name,
                reviewed_at=step.now)
    step.reason = step.form.note
    step.case.replied_at = step.now  # the reply (处理意见): the window for 复查 / 复核 runs from it
    apply_limit(step.case, step.calendar, kind="callback", limit=step.ctx.policy.deadlines.callback,
                start=step.today)


def send_back(step: Step) -> None:
    step.insert(Review, case_id=step.case_id, report_id=last_final_report_id(step),
                decision="returned", reasons=step.form.reasons,
                reasons_redacted=step.redact(step.form.reasons), reviewer=step.actor.name,
                reviewed_at=step.now)
    step.reason = step.form.reasons
    step.case.return_count += 1
    step.handling_limit()


def record_callback(step: Step) -> None:
    """回访 on the scale, or an attempt that reached nobody (联系不上: the state stays)."""
    form, callbacks = step.form, step.ctx.policy.callbacks
    result = form.result
    reached = result != "unreachable"
    satisfied = reached and result in callbacks.satisfied_results
    if reached and not satisfied and not form.reason:
        raise InvalidActionInput(action=step.action, field="reason", kind="missing",
                                 message="say why the complainant is not satisfied (不满意的理由)")
    reason = form.reason if reached and not satisfied else ""
    episode = callback_episode(step.case)
    step.insert(Callback, case_id=step.case_id, method=form.method, result=result,
                reason=reason or None, reason_redacted=step.redact(reason), note=form.note,
                note_redacted=step.redact(form.note), caller=step.actor.name, called_at=step.now,
                episode=episode)
    step.data.update(method=form.method, result=result)
    step.reason = reason or form.note
    if not reached:
        step.data["attempt"] = unreachable_attempts(step.session, step.case_id, episode)
        return
    step.data["satisfied"] = satisfied
    finish_callback_task(step, "callback")
    if satisfied:
        _close(step)
    else:
        step.case.return_count += 1
        step.handling_limit()


def close_unreachable(step: Step) -> None:
    """办结 as 联系不上 after the policy's number of attempts: counted apart, never as satisfied."""
    step.data["attempts"] = unreachable_attempts(step.session, step.case_id, callback_episode(step.case))
    step.data["outcome"] = "unreachable"
    step.reason = step.form.note
    finish_callback_task(step, "callback")
    _close(step)


def _close(step: Step) -> None:
    step.case.closed_at = step.now
    clear_limit(step.case)


def close(step: Step) -> None:
    """办结 without a callback: a real-name case awaiting one needs a reason from the policy's
    list (the callback itself, or close_unreachable, close it otherwise)."""
    callbacks, labels = step.ctx.policy.callbacks, step.ctx.labels
    reason = step.form.reason
    if reason and reason not in callbacks.close_reasons:
        raise InvalidActionInput(action=step.action, field="reason", kind="literal_error",
                                 message=f"one of: {', '.join(callbacks.close_reasons)}")
    if not reason and awaits_callback(step.session, step.case):
        listed = "、".join(labels.of("close_reasons", r) for r in callbacks.close_reasons)
        raise CallbackOwed(action=step.action, case_number=step.case.number,
                           reasons=callbacks.close_reasons,
                           attempts_needed=callbacks.unreachable_after_attempts, reasons_zh=listed)
    if reason:
        step.data["close_reason"] = reason
    step.reason = " ".join(filter(None, (labels.of("close_reasons", reason) if reason else "",
                                         step.form.note)))
    finish_callback_task(step, "callback")
    _close(step)


def reopen(step: Step) -> None:
    step.reason = step.form.reason
    step.case.closed_at = None
    finish_callback_task(step, "revisit")
    step.case.return_count += 1
    step.handling_limit()


HANDLERS: dict[str, Callable[[Step], None]] = {
    **{d: (lambda step, d=d: dispatch(step, d)) for d in  # type: ignore[misc]
       ("transfer", "supervise", "key_supervise", "escalate")},
    "step_up": step_up,
    "decline": decline,
    "reinstate": reinstate,
    "sign_for": sign_for,
    "remind_sign_for": remind_sign_for,
    "request_return": request_return,
    "accept_return": accept_return,
    "reject_return": reject_return,
    "request_extension": request_extension,
    "approve_extension": lambda step: decide_extension(step, True),
    "reject_extension": lambda step: decide_extension(step, False),
    "reassign": reassign,
    "report_progress": report_progress,
    "submit_report": submit_report,
    "approve": approve,
    "send_back": send_back,
    "record_callback": record_callback,
    "close_unreachable": close_unreachable,
    "close": close,
    "reopen": reopen,
    **REFERRAL_HANDLERS,
    **delegation.DELEGATION_HANDLERS,
    **PRESSURE_HANDLERS,
    **REVIEW_HANDLERS,
}


class Guards:
    """The facts guards need, read in the action's transaction."""

    def __init__(self, session: Session, ctx: ServiceContext, today: dt.date) -> None:
        self.session = session
        self.ctx = ctx
        self.today = today
        self._extension_counts: dict[int | None, dict[str, int]] = {}  # guards ask up to 4 times
        self._referrals: dict[int | None, Any] = {}
        self._returns: dict[int | None, bool] = {}
        self._unreachable: dict[int | None, int] = {}  # only as told (`knowing`): an action adds some

    def knowing(self, case: Case, *, returns: list[dict[str, Any]], extensions: list[dict[str, Any]],
                callbacks: list[dict[str, Any]]) -> Guards:
        """These guards, told the case's returns (退单申请), extensions and callbacks as already
        read in this transaction (all of each: a case page's collections), so they ask for none of
        them again."""
        self._returns[case.id] = any(row["status"] == REQUESTED for row in returns)
        self._extension_counts[case.id] = dict(Counter(row["status"] for row in extensions))
        episode = callback_episode(case)
        self._unreachable[case.id] = sum(1 for row in callbacks
                                         if row["episode"] == episode and row["result"] == UNREACHABLE)
        return self

    def objection_window_open(self, case: Case) -> bool:
        if case.dispatched_at is None:
            return False
        limit = self.ctx.policy.deadlines.objection
        last = due_date(calendar_of(self.session, self.ctx, case), start=local_date(case.dispatched_at),
                        days=limit.days, unit=limit.unit)
        return self.today <= last.date

    def pending_return(self, case: Case) -> bool:
        if case.id not in self._returns:
            self._returns[case.id] = _PENDING_RETURN.scalar(self.session, {"case_id": case.id}) is not None
        return self._returns[case.id]

    def _extensions(self, case: Case, statuses: tuple[str, ...]) -> int:
        counts = self._extension_counts.get(case.id)
        if counts is None:
            rows = _EXTENSIONS.rows(self.session, {"case_id": case.id})
            counts = self._extension_counts[case.id] = {row["status"]: row["n"] for row in rows}
        return sum(counts.get(status, 0) for status in statuses)

    def extension_allowed(self, case: Case) -> bool:
        used = self._extensions(case, (REQUESTED, "approved"))
        return used < self.ctx.policy.extension.max_count and not self.pending_extension(case)

    def pending_extension(self, case: Case) -> bool:
        return self._extensions(case, (REQUESTED,)) > 0

    def _referral(self, case: Case) -> Any:
        if case.id not in self._referrals:
            # Only a case ever referred has a row: the others need no query.
            self._referrals[case.id] = (latest_referral(self.session, case.id)
                                        if case.referred_to_id is not None else None)
        return self._referrals[case.id]

    def referral_stage(self, case: Case) -> str | None:
        row = self._referral(case)
        if is_from_before_rows(case, row):
            return "outcome"
        return referral_stage(row)

    def may_delegate(self, case: Case) -> bool:
        return delegation.may_delegate(self.ctx.orgs, self.ctx.policy, case)

    def referral_real_name(self, case: Case) -> bool:
        row = self._referral(case)
        return bool(row is not None and row["real_name"])

    def counts_satisfied(self, result: str) -> bool:
        return result in self.ctx.policy.callbacks.satisfied_results

    def unreachable_reached(self, case: Case) -> bool:
        assert case.id is not None
        attempts = self._unreachable.get(case.id)
        if attempts is None:
            attempts = unreachable_attempts(self.session, case.id, callback_episode(case))
        return attempts >= self.ctx.policy.callbacks.unreachable_after_attempts

    def review_open(self, case: Case, level: str) -> bool:
        return review_refusal(self.ctx, case, today=self.today, level=level) is None

    def rehandles(self, outcome: str | None) -> bool:
        return review_rehandles(self.ctx, outcome)
