"""What each action does to a case beyond its change of state. Called inside the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, SQLModel, func, select

from duban.clock import local_date
from duban.deadlines import apply_limit, clear_limit, counted_deadline, due_date, recompute
from duban.errors import InvalidActionInput
from duban.models import Callback, Case, Extension, HandlingReport, Objection, Review
from duban.services import delegation
from duban.services.auditrows import cover_instance
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.driver import Prepared
from duban.services.persist import insert_row
from duban.services.pressure_actions import PRESSURE_HANDLERS, finish_callback_task, notify, notify_unit
from duban.services.redaction import Identity, case_identity, redact_text
from duban.services.referrals import REFERRAL_HANDLERS, is_from_before_rows
from duban.services.referrals import latest as latest_referral
from duban.services.referrals import stage as referral_stage
from duban.services.routing import avoid, check_target, higher_office, office_of_record, take_over
from duban.states.definition import DISPOSITION_LADDER
from duban.workcal import WorkCalendar

# Built once: building a statement per call costs more than running it (cache keys, coercion).
_REPORTS = HandlingReport.__table__  # type: ignore[attr-defined]
_LAST_FINAL = Prepared(select(func.max(_REPORTS.c.id).label("id")).where(
    _REPORTS.c.case_id == bindparam("case_id"), _REPORTS.c.kind == "final"))
_EXT = Extension.__table__  # type: ignore[attr-defined]
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
        by the confidentiality rule, whether the complainant may appear (duban.notify.outbox).
        """
        notify(self, kind, to=to, audience=audience)


def calendar_of(session: Session, ctx: ServiceContext, case: Case) -> WorkCalendar:
    """The calendar of the unit handling the case, else of the office that received it."""
    return ctx.calendar_for(ctx.orgs.by_id(case.unit_id or case.office_id).code)


def _assign(step: Step, unit: OrgInfo, *, chosen: bool) -> None:
    """Hand the case to `unit`, never to whom it complains about (every action that sets unit_id
    comes here, the engine's too). A unit the dispatcher `chosen` must be a dispatch target."""
    assigned, moved = avoid(step.session, step.ctx.orgs, step.case, unit)
    if chosen:
        check_target(step.ctx.orgs, step.ctx.policy, step.ctx.labels, case=step.case, actor=step.actor,
                     action=step.action, unit=unit)
    unit = assigned
    if unit.id != step.case.unit_id:
        delegation.end(step)  # a department of the unit before is none of the new unit's
    if moved:
        step.data["avoidance"] = moved
        step.reason = step.reason or step.ctx.labels.text["avoidance"]
    step.case.unit_id = unit.id
    step.data["unit"] = unit.code
    if take_over(step.ctx.orgs, step.case, unit) is not None:
        # 提级直办 (or avoidance moving it up): the office above holds the case from now on.
        step.data["office_of_record"] = unit.code


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


def object_(step: Step) -> None:
    assert step.case.unit_id is not None
    step.insert(Objection, case_id=step.case_id, unit_id=step.case.unit_id,
                reason=step.form.reason, reason_redacted=step.redact(step.form.reason),
                objected_at=step.now)
    step.data["unit_id"] = step.case.unit_id
    step.reason = step.form.reason
    delegation.end(step)
    step.case.unit_id = None
    step.case.disposition = None
    apply_limit(step.case, step.calendar, kind="triage", limit=step.ctx.policy.deadlines.triage,
                start=step.today)


def request_extension(step: Step) -> None:
    limit = step.ctx.policy.extension.max_days
    if step.form.days > limit:
        raise InvalidActionInput(action=step.action, field="days",
                                 message=f"at most {limit} days (延期不得超过{limit}日)",
                                 kind="less_than_equal", limits={"le": limit})
    step.insert(Extension, case_id=step.case_id, days=step.form.days, reason=step.form.reason,
                reason_redacted=step.redact(step.form.reason), requested_by=step.actor.name,
                requested_at=step.now)
    step.data["days"] = step.form.days
    step.reason = step.form.reason


def _pending(step: Step) -> Extension:
    ext = step.session.exec(select(Extension).where(
        Extension.case_id == step.case.id, Extension.status == "requested")).first()
    assert ext is not None, "guarded by has_pending_extension"
    return ext


def decide_extension(step: Step, approved: bool) -> None:
    ext = _pending(step)
    ext.status = "approved" if approved else "rejected"
    ext.decided_by = step.actor.name
    ext.decided_at = step.now
    cover_instance(step.session, ext)  # the decision is part of this action's event
    step.data["days"] = ext.days
    step.reason = step.form.note
    if approved:
        step.case.extension_days += ext.days
        answer = recompute(step.case, step.calendar)
        if answer is not None:
            step.data["deadline_from"] = str(step.case.deadline_on)
            step.case.deadline_on = answer.date
            step.case.deadline_provisional = answer.provisional
            step.data["deadline_to"] = str(answer.date)


def reassign(step: Step) -> None:
    step.data["from_unit_id"] = step.case.unit_id
    step.reason = step.form.reason
    _assign(step, step.org(step.form.unit), chosen=True)
    step.handling_limit()


def _report(step: Step, kind: str) -> None:
    # A delegated case's reports are its department's (二次交办): the department writes them.
    writer = step.case.delegate_id if step.case.delegate_id is not None else step.case.unit_id
    step.insert(HandlingReport, case_id=step.case_id, unit_id=writer, kind=kind,
                text=step.form.text, text_redacted=step.redact(step.form.text),
                submitted_by=step.actor.name, submitted_at=step.now)
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


def callback(step: Step, satisfied: bool) -> None:
    step.insert(Callback, case_id=step.case_id, satisfied=satisfied, note=step.form.note,
                note_redacted=step.redact(step.form.note), caller=step.actor.name, called_at=step.now)
    step.reason = step.form.note
    step.data["satisfied"] = satisfied
    finish_callback_task(step, "callback")
    if satisfied:
        _close(step)
    else:
        step.case.return_count += 1
        step.handling_limit()


def _close(step: Step) -> None:
    step.case.closed_at = step.now
    clear_limit(step.case)


def close(step: Step) -> None:
    step.reason = step.form.note
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
    "object": object_,
    "request_extension": request_extension,
    "approve_extension": lambda step: decide_extension(step, True),
    "reject_extension": lambda step: decide_extension(step, False),
    "reassign": reassign,
    "report_progress": report_progress,
    "submit_report": submit_report,
    "approve": approve,
    "send_back": send_back,
    "callback_satisfied": lambda step: callback(step, True),
    "callback_unsatisfied": lambda step: callback(step, False),
    "close": close,
    "reopen": reopen,
    **REFERRAL_HANDLERS,
    **delegation.DELEGATION_HANDLERS,
    **PRESSURE_HANDLERS,
}


class Guards:
    """The facts guards need, read in the action's transaction."""

    def __init__(self, session: Session, ctx: ServiceContext, today: dt.date) -> None:
        self.session = session
        self.ctx = ctx
        self.today = today
        self._extension_counts: dict[int | None, dict[str, int]] = {}  # guards ask up to 4 times
        self._referrals: dict[int | None, Any] = {}

    def objection_window_open(self, case: Case) -> bool:
        if case.dispatched_at is None:
            return False
        limit = self.ctx.policy.deadlines.objection
        last = due_date(calendar_of(self.session, self.ctx, case), start=local_date(case.dispatched_at),
                        days=limit.days, unit=limit.unit)
        return self.today <= last.date

    def _extensions(self, case: Case, statuses: tuple[str, ...]) -> int:
        counts = self._extension_counts.get(case.id)
        if counts is None:
            rows = _EXTENSIONS.rows(self.session, {"case_id": case.id})
            counts = self._extension_counts[case.id] = {row["status"]: row["n"] for row in rows}
        return sum(counts.get(status, 0) for status in statuses)

    def extension_allowed(self, case: Case) -> bool:
        used = self._extensions(case, ("requested", "approved"))
        return used < self.ctx.policy.extension.max_count and not self.pending_extension(case)

    def pending_extension(self, case: Case) -> bool:
        return self._extensions(case, ("requested",)) > 0

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
