"""Pressure that people decide: the engine proposes the heavy ladder steps, a person decides them.

A ladder step in "propose" mode (policy `[[ladder.steps]] mode`; by default 约谈, 通报 and 升级督办)
is not fired when it falls due. The sweep records a proposal instead (`propose_in`), beside the
step's `PressureStep` row, so a proposal exists once per (case, episode, step) however often and
however racily the sweep runs. A supervisor or leader (`[roles] decide_pressure`) then decides it
(`decide`): confirm (the proposed action fires now, as them), change (another ladder action fires
instead) or dismiss, each with a reason (required to change or dismiss); the decision and the
action are one transaction with their audit event. A 约谈 fired either way waits for the office to
hold it (`interviews_to_hold`), which records it as held, with its date and minutes (纪要).

Out of scope is "not found": a proposal or interview on a case the decider may not act on is
`ItemNotFound`, the same as one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from duban.clock import SHANGHAI, local_date
from duban.errors import ActionNotAllowed, InvalidActionInput, ItemNotFound, PermissionDenied
from duban.models import Case, Interview, PressureProposal
from duban.services.audit import append_event
from duban.services.auditrows import cover_instance
from duban.services.cases import CaseService
from duban.services.context import ENGINE_ACTOR, Actor, ServiceContext
from duban.services.persist import WRITE_COLUMNS, fetch_cases, insert_row, track
from duban.services.redaction import case_identity, redact_text
from duban.services.scope import holds, speaks_for

DECISIONS = {"confirm": "confirmed", "change": "changed", "dismiss": "dismissed"}
MAX_REASON = 4000
MAX_MINUTES = 20000


def _facts(model: Any) -> list[Any]:
    """A table's columns but its free text and the text's twin: what queues and decisions read
    (a reader without the right to identity never has a raw text selected for them)."""
    table = model.__table__
    texts = {c.name.removesuffix("_redacted") for c in table.c if c.name.endswith("_redacted")}
    return [c for c in table.c if c.name not in texts and not c.name.endswith("_redacted")]


_PROPOSAL_FACTS = _facts(PressureProposal)
_INTERVIEW_FACTS = _facts(Interview)


def _update(session: Session, row: Any) -> None:
    """Write a decided row by Core, and have the next audit event name it as it is now."""
    table = type(row).__table__
    values = row.model_dump(exclude={"id"})
    session.connection().execute(update(table).where(table.c.id == row.id).values(**values))
    cover_instance(session, row)


def _allowed(ctx: ServiceContext, actor: Actor, key: str) -> None:
    roles = ctx.policy.roles.get(key, [])
    if actor.role not in roles:
        raise PermissionDenied(action=key, role=actor.role, allowed_roles=roles)


def _bump(session: Session, case: Case, now: dt.datetime) -> None:
    track(session, case)
    case.version += 1
    case.updated_at = now


# -- proposing (the sweep) -------------------------------------------------------------------

def propose_in(session: Session, case: Case, *, episode: str, step: str, action: str,
               now: dt.datetime) -> int:
    """Record a due "propose" step as an open proposal, with its audit event, in the sweep's
    transaction (the caller records the step's `PressureStep` row, covered by this event)."""
    assert case.id is not None
    proposal_id = insert_row(session, PressureProposal, case_id=case.id, episode=episode, step=step,
                             action=action, proposed_at=now)
    _bump(session, case, now)
    append_event(session, case, at=now, actor=ENGINE_ACTOR.name, actor_role=ENGINE_ACTOR.role,
                 action="propose_pressure", from_state=case.state,
                 data={"proposal": proposal_id, "proposed": action, "episode": episode})
    return proposal_id


# -- deciding --------------------------------------------------------------------------------

def _at_most(action: str, field: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise InvalidActionInput(action=action, field=field, kind="string_too_long",
                                 message=f"at most {limit} characters", limits={"max_length": limit})


def _check_decision(ctx: ServiceContext, decision: str, action: str | None, reason: str) -> None:
    if decision not in DECISIONS:
        raise InvalidActionInput(action="decide_pressure", field="decision", kind="literal_error",
                                 message=f"must be one of {', '.join(DECISIONS)}")
    if decision in ("change", "dismiss") and not reason:
        raise InvalidActionInput(action="decide_pressure", field="reason", kind="missing",
                                 message="give the reason for changing or dismissing a proposal")
    _at_most("decide_pressure", "reason", reason, MAX_REASON)
    ladder = [s.action for s in ctx.policy.ladder.steps]
    if decision == "change" and action not in ladder:
        raise InvalidActionInput(action="decide_pressure", field="action", kind="literal_error",
                                 message=f"name the ladder action to take instead: {', '.join(ladder)}")


def decide(ctx: ServiceContext, proposal_id: int, *, actor: Actor, decision: str,
           action: str | None = None, reason: str = "") -> PressureProposal:
    """Confirm, change or dismiss an open proposal (see module doc); the proposal as decided.

    Raises ItemNotFound (not there, or on a case `actor` may not act on), ActionNotAllowed
    (decided already, or the action does not apply to the case as it is now: the proposal stays
    open), InvalidActionInput, PermissionDenied.
    """
    _allowed(ctx, actor, "decide_pressure")
    reason = (reason or "").strip()
    _check_decision(ctx, decision, action, reason)
    service = CaseService(ctx)
    now = ctx.now()
    with service.transaction() as session:
        case_id = session.connection().execute(
            select(col(PressureProposal.case_id)).where(col(PressureProposal.id) == proposal_id)).scalar()
        if case_id is None:
            raise ItemNotFound("proposal", proposal_id)
        case = service.load_in(session, case_id, for_write=True)  # locked: one decision at a time
        if not holds(session, actor, case):  # the office that holds the case decides
            raise ItemNotFound("proposal", proposal_id)
        # Read after the case's lock, and without its reason (a raw text: never read here).
        row = session.connection().execute(
            select(*_PROPOSAL_FACTS).where(col(PressureProposal.id) == proposal_id)).mappings().one()
        if row["status"] != "open":
            raise ActionNotAllowed(case_number=case.number, action="decide_pressure", state=case.state,
                                   allowed=[], reason=ctx.labels.pressure.get(
                                       f"status_{row['status']}", row["status"]))
        taken = row["action"] if decision == "confirm" else action
        if decision == "change" and taken == row["action"]:
            raise InvalidActionInput(action="decide_pressure", field="action", kind="same_action",
                                     message="is the proposed action itself: confirm it instead")
        proposal = PressureProposal(**{
            **row, "status": DECISIONS[decision], "decided_by": actor.name, "decided_role": actor.role,
            "decided_at": now, "reason": reason, "taken_action": taken or "",
            "reason_redacted": redact_text(reason, case_identity(session, case_id)) if reason else ""})
        _update(session, proposal)
        data: dict[str, Any] = {"proposal": proposal_id, "decision": decision, "proposed": proposal.action}
        if taken is None:
            _bump(session, case, now)
            append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                         action="dismiss_pressure", from_state=case.state, reason=reason,
                         reason_redacted=proposal.reason_redacted, data=data)
        else:
            form = ({"reason": reason or ctx.labels.text.get("ladder_step_up", "overdue")}
                    if taken == "step_up" else {"note": reason})
            service.act_in(session, case, taken, actor=actor, form=form, now=now,
                           authority="decide_pressure", data=data)
    return proposal


# -- the queues ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProposalItem:
    id: int
    case_number: str
    title: str
    unit: str
    action: str
    step: str
    episode: str
    proposed_at: dt.datetime
    deadline_on: dt.date | None
    overdue_workdays: int


@dataclass(frozen=True)
class InterviewItem:
    id: int
    case_number: str
    title: str
    unit: str
    office: str
    requested_at: dt.datetime


def _in_scope(session: Session, actor: Actor, case_ids: set[int]) -> dict[int, Case]:
    """The cases among `case_ids` whose office of record is the actor's (scope.holds)."""
    if not case_ids:
        return {}
    found = fetch_cases(session, select(*WRITE_COLUMNS).where(col(Case.id).in_(sorted(case_ids))),
                        for_write=False)
    return {c.id: c for c in found if c.id is not None and holds(session, actor, c)}


def _titles(session: Session, ctx: ServiceContext, ids: list[int], actor: Actor) -> dict[int, str]:
    from duban.services.reading import case_texts  # the one door for case texts

    return {i: t["title"] for i, t in case_texts(session, ctx, ids, actor=actor).items()}


def proposal_queue(ctx: ServiceContext, *, actor: Actor, limit: int = 100
                   ) -> tuple[list[ProposalItem], int]:
    """Open proposals on the cases `actor` may act on, oldest first, and how many there are."""
    _allowed(ctx, actor, "decide_pressure")
    today = ctx.today()
    with Session(ctx.engine) as session:
        rows = list(session.connection().execute(
            select(*_PROPOSAL_FACTS).where(col(PressureProposal.status) == "open")
            .order_by(col(PressureProposal.proposed_at), col(PressureProposal.id))))
        cases = _in_scope(session, actor, {p.case_id for p in rows})
        mine = [p for p in rows if p.case_id in cases]
        shown = mine[:limit]
        titles = _titles(session, ctx, sorted({p.case_id for p in shown}), actor)
    items = []
    for p in shown:
        case = cases[p.case_id]
        late = 0
        if case.deadline_on is not None and today > case.deadline_on:
            calendar = ctx.calendar_for(ctx.orgs.by_id(case.unit_id or case.office_id).code)
            late = int(calendar.workdays_between(case.deadline_on, today))
        unit = ctx.orgs.by_id(case.unit_id).name if case.unit_id else ""
        items.append(ProposalItem(p.id, case.number, titles.get(p.case_id, ""), unit, p.action, p.step,
                                  p.episode, p.proposed_at, case.deadline_on, late))
    return items, len(mine)


def open_proposal_count(ctx: ServiceContext, *, actor: Actor) -> int | None:
    """How many proposals wait for `actor`'s decision; None for a role that does not decide."""
    if actor.role not in ctx.policy.roles.get("decide_pressure", []):
        return None
    return proposal_queue(ctx, actor=actor, limit=0)[1]


def interviews_to_hold(ctx: ServiceContext, *, actor: Actor, limit: int = 100
                       ) -> tuple[list[InterviewItem], int]:
    """Interviews (约谈) decided and not yet held by `actor`'s office (or one below it), oldest first."""
    _allowed(ctx, actor, "hold_interview")
    with Session(ctx.engine) as session:
        rows = list(session.connection().execute(
            select(*_INTERVIEW_FACTS).where(col(Interview.status) == "to_hold")
            .order_by(col(Interview.requested_at), col(Interview.id))))
        rows = [r for r in rows if speaks_for(session, actor, r.office_id)]  # it holds them
        found = fetch_cases(session, select(*WRITE_COLUMNS).where(
            col(Case.id).in_(sorted({r.case_id for r in rows}) or [0])), for_write=False)
        cases = {c.id: c for c in found if c.id is not None}
        mine = [r for r in rows if r.case_id in cases]
        shown = mine[:limit]
        titles = _titles(session, ctx, sorted({r.case_id for r in shown}), actor)
    items = []
    for r in shown:
        unit = ctx.orgs.by_id(r.unit_id).name if r.unit_id else ""
        items.append(InterviewItem(r.id, cases[r.case_id].number, titles.get(r.case_id, ""), unit,
                                   ctx.orgs.by_id(r.office_id).name, r.requested_at))
    return items, len(mine)


def record_interview_held(ctx: ServiceContext, interview_id: int, *, actor: Actor, held_on: dt.date,
                          minutes: str) -> Interview:
    """Record that the office held an interview (约谈) on `held_on`, with its minutes (纪要)."""
    _allowed(ctx, actor, "hold_interview")
    minutes = (minutes or "").strip()
    if not minutes:
        raise InvalidActionInput(action="hold_interview", field="minutes", kind="missing",
                                 message="write the minutes of the interview (约谈纪要)")
    _at_most("hold_interview", "minutes", minutes, MAX_MINUTES)
    service = CaseService(ctx)
    now = ctx.now()
    if held_on > local_date(now):
        raise InvalidActionInput(action="hold_interview", field="held_on", kind="date_in_future",
                                 message="lies in the future")
    with service.transaction() as session:
        case_id = session.connection().execute(
            select(col(Interview.case_id)).where(col(Interview.id) == interview_id)).scalar()
        if case_id is None:
            raise ItemNotFound("interview", interview_id)
        case = service.load_in(session, case_id, for_write=True)
        row = session.connection().execute(
            select(*_INTERVIEW_FACTS).where(col(Interview.id) == interview_id)).mappings().one()
        if not speaks_for(session, actor, row["office_id"]):  # the office that holds the interview
            raise ItemNotFound("interview", interview_id)
        if row["status"] != "to_hold":
            raise ActionNotAllowed(case_number=case.number, action="hold_interview", state=case.state,
                                   allowed=[], reason=ctx.labels.pressure.get("interview_held", "held"))
        if held_on < local_date(row["requested_at"]):
            raise InvalidActionInput(action="hold_interview", field="held_on", kind="before_decision",
                                     message="is before the interview was decided")
        interview = Interview(**{
            **row, "status": "held", "note": minutes,
            "held_at": dt.datetime.combine(held_on, dt.time(), SHANGHAI).astimezone(dt.UTC),
            "note_redacted": redact_text(minutes, case_identity(session, case_id))})
        _update(session, interview)
        _bump(session, case, now)
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                     action="hold_interview", from_state=case.state, reason=minutes,
                     reason_redacted=interview.note_redacted,
                     data={"interview": interview_id, "held_on": held_on.isoformat()})
    return interview
