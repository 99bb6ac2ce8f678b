"""复查 / 复核 / 终结: a complainant's review of the reply (信访工作条例 2022, art. 35 and 36).

A complainant dissatisfied with the reply (处理意见: the approved handling report, given at
`approve`) may ask, within policy [reviews] `request` of receiving it, the office above the office
of record for 复查 (reexamination). That office gives its opinion within `decision`: one of
[reviews.outcomes]; an outcome with `rehandle` sends the case back to its unit (returned, with the
disposition's handling limit), the others uphold the reply and close the case again. Dissatisfied
with the 复查 opinion (or with the new reply after a re-handling it ordered), the complainant may ask
the office above the 复查 office for 复核 (recheck), likewise. Once 复核 is decided the case is
concluded (终结, `cases.concluded_at`): the same request is not accepted again (art. 36), and a new
complaint about the same matter is flagged at registration. A reviewing office at the top (the
province, which has no office above it here) reviews its own case.

Where a case stands is kept on its row: `replied_at` (the last answer, from which the window runs),
`review_level` (the level last asked for), `review_office_id` (who reviews it: it sees and decides
the case; the handling unit does not see a case under review) and `concluded_at`. Each request is
a `review_requests` row (models/review.py) holding the opinion.

`request_review` is the one door for a request, from staff recording a call, letter or visit and
from the online channel (role `citizen`: the caller proved the case's number and query code, so the
case named is the citizen's own; a citizen acts on no case by any other door, services/scope.py).
It picks 复查 or 复核 by the case's stage and refuses with a named error (duban.errors
ReviewNotAllowed) saying why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from duban.clock import local_date
from duban.deadlines import apply_limit, clear_limit, due_date
from duban.errors import (
    CaseConcluded,
    CaseNotFound,
    InvalidActionInput,
    NotYetReplied,
    ReviewNotAllowed,
    ReviewPending,
    ReviewWindowPassed,
)
from duban.models import Case, Org, ReviewRequest
from duban.services.auditrows import cover_instance
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.driver import Prepared
from duban.services.routing import higher_office, office_of_record
from duban.states.definition import (
    REPLIED_STATES,
    REVIEW_DECISIONS,
    REVIEW_REQUESTS,
    REVIEW_STATES,
    CaseState,
)
from duban.workcal import WorkCalendar

LEVELS = tuple(REVIEW_STATES)  # reexamination (复查), then recheck (复核)
UNDER_REVIEW = tuple(s.value for s in REVIEW_STATES.values())
_REPLIED = tuple(s.value for s in REPLIED_STATES)

_REQUESTS = ReviewRequest.__table__  # type: ignore[attr-defined]
_OPEN = Prepared(select(_REQUESTS.c.id).where(_REQUESTS.c.case_id == bindparam("case_id"),
                                              _REQUESTS.c.decided_at.is_(None))
                 .order_by(_REQUESTS.c.id.desc()).limit(1))


def calendar_for_case(ctx: ServiceContext, case: Any) -> WorkCalendar:
    """The calendar a case's limits run on (as handlers.calendar_of: its unit's, else its office's)."""
    return ctx.calendar_for(ctx.orgs.by_id(case.unit_id or case.office_id).code)


def next_level(case: Any) -> str | None:
    """The review the case's stage allows next: 复查 first, then 复核; None once concluded."""
    if case.concluded_at is not None or case.review_level == LEVELS[-1]:
        return None
    if case.review_level is None:
        return LEVELS[0]
    return LEVELS[LEVELS.index(case.review_level) + 1]


def window_end(ctx: ServiceContext, case: Any) -> dt.date | None:
    """The last day a review may be asked for: `request` counted from the last answer."""
    if case.replied_at is None:
        return None
    limit = ctx.policy.reviews.request
    return due_date(calendar_for_case(ctx, case), start=local_date(case.replied_at), days=limit.days,
                    unit=limit.unit).date


def refusal(ctx: ServiceContext, case: Any, *, today: dt.date, level: str | None = None,
            allowed: list[str] | None = None) -> ReviewNotAllowed | None:
    """Why a review (of `level`, else the next one) may not be asked for now; None when it may."""
    labels = ctx.labels
    wanted = level or next_level(case) or LEVELS[-1]
    action = REVIEW_REQUESTS[wanted]
    common = {"case_number": case.number, "action": action, "state": case.state, "allowed": allowed or []}
    if case.state in UNDER_REVIEW:
        return ReviewPending(**common, reason=labels.of("states", case.state))
    if case.concluded_at is not None or case.review_level == LEVELS[-1]:
        return CaseConcluded(**common, reason=labels.of("review_levels", "concluded"))
    end = window_end(ctx, case)
    if case.state not in _REPLIED or end is None:
        return NotYetReplied(**common)
    upcoming = next_level(case)
    if upcoming != wanted:
        # 复核 before any 复查, or 复查 again after it: the stage says which one is open.
        return ReviewNotAllowed(**common, reason=_fmt(labels.of("review_levels", "window"),
                                                       level=labels.of("review_levels", upcoming),
                                                       until=end.isoformat()))
    if today > end:
        return ReviewWindowPassed(**common, reason=_fmt(labels.of("review_levels", "window_passed"),
                                                         level=labels.of("review_levels", wanted),
                                                         until=end.isoformat()))
    return None


def _fmt(template: str, **values: Any) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def reviewing_office(orgs: OrgDirectory, case: Any, level: str) -> OrgInfo:
    """Who reviews: for 复查 the office above the office of record, for 复核 the office above the
    复查 office; at the top, that office itself."""
    if level == LEVELS[0] or case.review_office_id is None:
        below = office_of_record(orgs, case)
    else:
        below = orgs.by_id(case.review_office_id)
    return higher_office(orgs, below) or below


def speaks_for_review(orgs: OrgDirectory, actor: Actor, case: Any) -> bool:
    """Whether `actor` decides the case's review: its office is the reviewing office or above it
    (by org code); actors without an org (admin, engine) too."""
    if actor.org_id is None:
        return True
    if case.review_office_id is None:
        return False
    mine, reviewer = orgs.by_id(actor.org_id).code, orgs.by_id(case.review_office_id).code
    return reviewer == mine or reviewer.startswith(mine + "-")


def rehandles(ctx: ServiceContext, outcome: str | None) -> bool:
    found = ctx.policy.reviews.outcomes.get(outcome or "")
    return bool(found and found.rehandle)


# -- the actions' handlers (called by services/handlers.py inside the action's transaction) ------

def _request(step: Any, level: str) -> None:
    case, ctx = step.case, step.ctx
    office = reviewing_office(ctx.orgs, case, level)
    limit = ctx.policy.reviews.decision
    due = due_date(step.calendar, start=step.today, days=limit.days, unit=limit.unit).date
    step.insert(ReviewRequest, case_id=step.case_id, level=level, office_id=office.id,
                requested_at=step.now, requested_by=step.actor.name, requested_role=step.actor.role,
                reason=step.form.reason, reason_redacted=step.redact(step.form.reason), due_on=due)
    _finish_callbacks(step)
    case.review_level = level
    case.review_office_id = office.id
    case.closed_at = None
    apply_limit(case, step.calendar, kind=level, limit=limit, start=step.today)
    step.reason = step.form.reason
    step.data.update({"level": level, "reviewing_office": office.code, "due_on": due.isoformat(),
                      "replied_at": case.replied_at.isoformat() if case.replied_at else None})


def _finish_callbacks(step: Any) -> None:
    """A callback or revisit still queued is moot: the complainant has answered by asking."""
    from duban.services.pressure_actions import finish_callback_task

    finish_callback_task(step, "callback")
    finish_callback_task(step, "revisit")


def _decide(step: Any, level: str) -> None:
    case, ctx, form = step.case, step.ctx, step.form
    outcomes = ctx.policy.reviews.outcomes
    if form.opinion not in outcomes:
        raise InvalidActionInput(action=step.action, field="opinion", kind="literal_error",
                                 message=f"must be one of {', '.join(outcomes)}")
    request_id = _OPEN.scalar(step.session, {"case_id": step.case_id})
    row = step.session.get(ReviewRequest, request_id) if request_id is not None else None
    assert row is not None and row.level == level, "guarded by the state: a review is open"
    row.outcome = form.opinion
    row.note = form.reply
    row.note_redacted = step.redact(form.reply)
    row.decided_at = step.now
    row.decided_by = step.actor.name
    cover_instance(step.session, row)
    step.data.update({"level": level, "outcome": form.opinion, "due_on": row.due_on.isoformat(),
                      "late": step.today > row.due_on})
    step.reason = form.reply
    if level == LEVELS[-1]:
        case.concluded_at = step.now  # 终结: whatever 复核 decided, the request is not heard again
        step.data["concluded"] = True
    if outcomes[form.opinion].rehandle:
        case.return_count += 1
        step.handling_limit()
    else:
        case.replied_at = step.now  # the opinion is the answer the next window runs from
        case.closed_at = step.now
        clear_limit(case)


def remind_review(step: Any) -> None:
    """催复查复核意见: the reviewing office's opinion is late; that office is reminded."""
    from duban.services.outbox import case_context, enqueue  # outbox reads through reading.py

    case = step.case
    office = step.session.get(Org, case.review_office_id) if case.review_office_id is not None else None
    step.reason = getattr(step.form, "note", "") or ""
    step.data["due_on"] = case.deadline_on.isoformat() if case.deadline_on else None
    step.data["level"] = case.review_level
    context = case_context(step.ctx, case, today=step.today)
    context.update(note=step.reason, redacted={"note": step.redact(step.reason)},
                   notice=step.ctx.labels.of("deadline_kinds", case.review_level),
                   due_on=step.data["due_on"] or "")
    enqueue(step.session, step.ctx, kind="remind_review", audience="office", to=office,
            context=context, now=step.now, case=case)
    step.data["notified"] = [f"office:{office.code if office else '-'}"]


REVIEW_HANDLERS = {
    **{action: (lambda step, level=level: _request(step, level))  # type: ignore[misc]
       for level, action in REVIEW_REQUESTS.items()},
    **{action: (lambda step, level=level: _decide(step, level))  # type: ignore[misc]
       for level, action in REVIEW_DECISIONS.items()},
    "remind_review": remind_review,
}


# -- the one door for a request ------------------------------------------------------------

def request_review(ctx: ServiceContext, number: str, *, actor: Actor, reason: str) -> Case:
    """Record a complainant's request for 复查 or 复核 of case `number`; the case's stage picks which.

    Staff record a request received by phone, letter or visit (their scope applies, as for any
    action); the online channel passes a `citizen` actor for the case whose number and query code
    the citizen proved. Raises ReviewNotAllowed (NotYetReplied, ReviewWindowPassed, CaseConcluded,
    ReviewPending) when the stage does not allow a request, CaseNotFound out of scope.
    """
    from duban.services.cases import CaseService  # cases imports the handlers, which import us
    from duban.services.scope import may_see

    service = CaseService(ctx)
    now = ctx.now()
    with service.transaction() as session:
        case = service.load_in(session, number, for_write=True)
        if actor.role != "citizen" and not may_see(session, actor, case):
            raise CaseNotFound(number)
        level = next_level(case) or LEVELS[-1]
        refused = refusal(ctx, case, today=local_date(now), level=level)
        if refused is not None:
            raise refused
        return service.act_in(session, case, REVIEW_REQUESTS[level], actor=actor,
                              form={"reason": reason}, now=now)


def review_refusal(session: Session, ctx: ServiceContext, case: Any, action: str, *,
                   today: dt.date, allowed: list[str]) -> ReviewNotAllowed | None:
    """The named refusal of a review request the machine's guards stopped (the action door)."""
    level = next((lv for lv, a in REVIEW_REQUESTS.items() if a == action), None)
    if level is None:
        return None
    return refusal(ctx, case, today=today, level=level, allowed=allowed)


_CASES = Case.__table__  # type: ignore[attr-defined]
_CONCLUDED = Prepared(select(_CASES.c.id, _CASES.c.number, _CASES.c.office_id, _CASES.c.unit_id,
                             _CASES.c.state, _CASES.c.disposition, _CASES.c.referred_to_id,
                             _CASES.c.referred_from_id)
                      .where(_CASES.c.matter_key == bindparam("key"), _CASES.c.concluded_at.is_not(None))
                      .order_by(_CASES.c.id.desc()).limit(20))


def concluded_matter(session: Session, key: str, *, actor: Actor) -> str | None:
    """The number of a concluded case (终结) about the same matter that `actor` may see, if any: a
    new complaint about it is registered, and flagged (art. 36: the same request is not heard again;
    whether it brings new facts is for the office to judge)."""
    from types import SimpleNamespace

    from duban.services.scope import may_see

    if not key:
        return None
    for row in _CONCLUDED.rows(session, {"key": key}):
        if may_see(session, actor, SimpleNamespace(**row)):  # type: ignore[arg-type]
            return str(row["number"])
    return None


def stage_of(ctx: ServiceContext, case: Any, *, today: dt.date) -> dict[str, Any]:
    """Where the case stands for review, for pages: the level open now and until when, or why not."""
    level = next_level(case)
    end = window_end(ctx, case)
    refused = refusal(ctx, case, today=today)
    return {"level": level, "until": end, "open": refused is None, "concluded": case.concluded_at is not None,
            "refusal": refused, "review_level": case.review_level, "review_office_id": case.review_office_id,
            "state": CaseState(case.state).value}
