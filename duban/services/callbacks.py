"""The callback queue: 抽查回访 of verified cases and 回头看 of cases closed a while ago.

Sampling is deterministic per case and episode (a seeded hash, policy [callbacks] seed), so two
sampling runs racing each other, or one re-run after a crash, reach the same answer; each
decision is recorded once as a `PressureStep` (UNIQUE per case, episode, step), queued or
skipped. Every real-name complainant is called back when policy says so (实名反馈). A case
whose complainant cannot be called (anonymous, or no phone: duban.services.callbackrules) is
never sampled: its decision is recorded as "uncallable" (无法回访) and counted apart, so that
满意率 is taken over people who could be asked.

Queueing does not change the case's state, so it is a service function, not a machine action:
it writes the queue row and an audit event (`queue_callback` / `queue_revisit`) in one
transaction. Callbacks are then recorded through the case action record_callback (a method and a result on
the scale; a result policy does not count as satisfied sends the case back to the unit, and
联系不上 is an attempt that leaves it waiting; close_unreachable after the policy's number of
them); a revisit ends with `complete_revisit` or `reopen`. The office gives its open items to a
callback officer (分派回访, `assign_in`, done in bulk by duban.services.bulk): the item names them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from duban.clock import local_date
from duban.db import claim
from duban.errors import (
    ActionNotAllowed,
    CaseHeldElsewhere,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
)
from duban.models import CallbackTask, Case, Complainant, Org, PressureStep
from duban.services.audit import append_event
from duban.services.auditrows import cover_instance
from duban.services.callbackrules import callable_complainant, callback_episode
from duban.services.cases import CaseService
from duban.services.context import ENGINE_ACTOR, Actor, ServiceContext
from duban.services.persist import WRITE_COLUMNS, fetch_cases, insert_row, track
from duban.services.routing import office_of_record
from duban.services.scope import acts_as, in_region, may_see
from duban.states.definition import CaseState

SAMPLE_STEP = {"callback": "callback_sample", "revisit": "revisit_sample"}
CHUNK = 500


@dataclass
class SamplingResult:
    considered: int = 0
    queued: dict[str, int] = field(default_factory=lambda: {"callback": 0, "revisit": 0})
    skipped: int = 0
    uncallable: int = 0  # verified cases nobody can be asked about (anonymous, no phone)

    def as_dict(self) -> dict[str, Any]:
        return {"considered": self.considered, "queued": dict(self.queued), "skipped": self.skipped,
                "uncallable": self.uncallable}


def sampled(seed: str, kind: str, case_id: int, episode: str, ratio: float) -> bool:
    """The same answer for the same case and episode, whoever asks and how often."""
    return random.Random(f"{seed}:{kind}:{case_id}:{episode}").random() < ratio


def revisit_episode(closed_at: dt.datetime) -> str:
    return f"c{local_date(closed_at).isoformat()}"


def sample_callbacks(ctx: ServiceContext) -> SamplingResult:
    """Queue today's callbacks and revisits; safe to run twice at once, or again after a crash."""
    policy = ctx.policy.callbacks
    now = ctx.now()
    result = SamplingResult()
    with Session(ctx.engine) as session:
        verified = [(row.id, callback_episode(row)) for row in session.execute(
            select(col(Case.id), col(Case.deadline_seq)).where(col(Case.state) == CaseState.VERIFIED.value))]
        cutoff = now - dt.timedelta(days=policy.revisit_after_days)
        oldest = cutoff - dt.timedelta(days=policy.revisit_window_days)
        closed = [(cid, revisit_episode(at)) for cid, at in session.execute(
            select(col(Case.id), col(Case.closed_at)).where(
                col(Case.state) == CaseState.CLOSED.value, col(Case.closed_at) <= cutoff,
                col(Case.closed_at) > oldest))]
    service = CaseService(ctx)
    for kind, todo in (("callback", verified), ("revisit", closed)):
        for i in range(0, len(todo), CHUNK):
            _sample_chunk(ctx, service, kind, dict(todo[i: i + CHUNK]), now, result)
    return result


def _sample_chunk(ctx: ServiceContext, service: CaseService, kind: str, episodes: dict[int, str],
                  now: dt.datetime, result: SamplingResult) -> None:
    policy = ctx.policy.callbacks
    step = SAMPLE_STEP[kind]
    state = CaseState.VERIFIED if kind == "callback" else CaseState.CLOSED
    with service.transaction() as session:
        done = {(cid, ep) for cid, ep in session.execute(
            select(col(PressureStep.case_id), col(PressureStep.episode)).where(
                col(PressureStep.case_id).in_(episodes), col(PressureStep.step) == step))}
        todo = [cid for cid, ep in episodes.items() if (cid, ep) not in done]
        if not todo:
            return
        query = select(*WRITE_COLUMNS).where(col(Case.id).in_(todo), col(Case.state) == state.value)
        cases = fetch_cases(session, claim(query, session.get_bind()), for_write=True)
        callable_ = {cid for (cid,) in session.execute(
            select(col(Case.id)).join(Complainant, col(Case.complainant_id) == col(Complainant.id)).where(
                col(Case.id).in_(todo), callable_complainant()))}
        for case in cases:
            assert case.id is not None
            episode = callback_episode(case) if kind == "callback" else revisit_episode(
                case.closed_at)  # type: ignore[arg-type]
            if episode != episodes[case.id]:
                continue  # changed since it was selected; the next run sees it as it is now
            result.considered += 1
            if kind == "callback" and case.id not in callable_:
                result.uncallable += 1  # 无法回访: recorded, counted apart, never sampled
                session.add(PressureStep(case_id=case.id, episode=episode, step=step,
                                         outcome="uncallable", at=now))
                continue
            real = kind == "callback" and policy.all_real_name
            ratio = policy.ratio if kind == "callback" else policy.revisit_ratio
            if real or sampled(policy.seed, kind, case.id, episode, ratio):
                outcome = "queued"
                mark = PressureStep(case_id=case.id, episode=episode, step=step, outcome=outcome, at=now)
                cover_instance(session, mark)  # the queue event names its sampling
                queue(session, case, kind=kind, episode=episode,
                      reason="real_name" if real else "sampled", now=now)
                result.queued[kind] += 1
            else:
                result.skipped += 1
                outcome = "skipped"
                mark = PressureStep(case_id=case.id, episode=episode, step=step, outcome=outcome, at=now)
            session.add(mark)


def queue(session: Session, case: Case, *, kind: str, episode: str, reason: str,
          now: dt.datetime, actor: Actor = ENGINE_ACTOR) -> CallbackTask:
    """Put a case in the callback queue, with its audit event, in the caller's transaction."""
    assert case.id is not None
    task = CallbackTask(case_id=case.id, kind=kind, episode=episode, reason=reason, queued_at=now)
    task.id = insert_row(session, CallbackTask, **task.model_dump(exclude={"id"}))
    track(session, case)
    case.version += 1
    case.updated_at = now
    append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                 action=f"queue_{kind}", from_state=case.state,
                 data={"episode": episode, "reason": reason})
    return task


def complete_revisit(ctx: ServiceContext, ref: int | str, *, actor: Actor, note: str = "") -> Case:
    """A revisit found the problem still solved: the queue item is done, on the record."""
    roles = ctx.policy.roles.get("revisit_satisfied", [])
    if actor.role not in roles:
        raise PermissionDenied(action="revisit_satisfied", role=actor.role, allowed_roles=roles)
    service = CaseService(ctx)
    now = ctx.now()
    with service.transaction() as session:
        case = service.load_in(session, ref, for_write=True)
        if not may_see(session, actor, case):
            raise CaseNotFound(ref)
        if acts_as(session, actor, case) != "office":  # a revisit is the office of record's
            raise CaseHeldElsewhere(case_number=case.number, action="revisit_satisfied", role=actor.role,
                                    allowed_roles=roles, holder=office_of_record(ctx.orgs, case).name)
        tasks = list(session.scalars(select(CallbackTask).where(
            col(CallbackTask.case_id) == case.id, col(CallbackTask.kind) == "revisit",
            col(CallbackTask.status) == "open")))
        if case.state != CaseState.CLOSED.value or not tasks:
            raise ActionNotAllowed(case_number=case.number, action="revisit_satisfied",
                                   state=case.state, allowed=[],
                                   reason="no open revisit (回头看) for this case")
        for task in tasks:
            task.status, task.done_at, task.result = "done", now, "revisit_satisfied"
            cover_instance(session, task)
        case.version += 1
        case.updated_at = now
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                     action="revisit_satisfied", from_state=case.state, reason=note)
        return case


def assign_in(session: Session, ctx: ServiceContext, case: Case, *, actor: Actor, assignee: str,
              assignee_office: str, now: dt.datetime) -> bool:
    """分派回访: give the case's open callbacks and revisits to a callback officer, in the caller's
    transaction (a case loaded for writing), with its audit event. The office of record's staff
    assign, to an officer of that office or one above it. False (nothing written) when every open
    item is that officer's already: a retried assignment does nothing twice."""
    roles = ctx.policy.roles.get("assign_callback", [])
    if actor.role not in roles:
        raise PermissionDenied(action="assign_callback", role=actor.role, allowed_roles=roles)
    record = office_of_record(ctx.orgs, case)
    if acts_as(session, actor, case) != "office":  # calling back is the office of record's
        raise CaseHeldElsewhere(case_number=case.number, action="assign_callback", role=actor.role,
                                allowed_roles=roles, holder=record.name)
    tasks = list(session.scalars(select(CallbackTask).where(
        col(CallbackTask.case_id) == case.id, col(CallbackTask.status) == "open")))
    if not tasks:
        raise ActionNotAllowed(case_number=case.number, action="assign_callback", state=case.state,
                               allowed=[], reason="no open callback (回访) for this case")
    if not in_region(record.code, assignee_office):
        raise InvalidActionInput(action="assign_callback", field="assignee", kind="assignee_scope",
                                 message="works in an office that does not hold this case")
    todo = [task for task in tasks if task.assignee != assignee]
    if not todo:
        return False
    for task in todo:
        task.assignee, task.assigned_at = assignee, now
        cover_instance(session, task)
    case.version += 1
    case.updated_at = now
    append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                 action="assign_callback", from_state=case.state,
                 data={"assignee": assignee, "kinds": sorted({t.kind for t in todo})})
    return True


@dataclass(frozen=True)
class QueueItem:
    id: int
    kind: str
    reason: str
    case_number: str
    title: str
    unit: str
    queued_at: dt.datetime
    assignee: str = ""  # 分派回访: the callback officer it was given to


def callback_queue(ctx: ServiceContext, *, actor: Actor, kind: str | None = None,
                   limit: int = 100) -> list[QueueItem]:
    """Open callbacks and revisits, oldest first (the office's call list), titled as `actor` may
    read them (duban.services.reading)."""
    from duban.services.reading import case_texts

    query = (select(CallbackTask, col(Case.number), col(Org.name))
             .join(Case, col(CallbackTask.case_id) == col(Case.id))
             .outerjoin(Org, col(Case.unit_id) == col(Org.id))
             .where(col(CallbackTask.status) == "open").order_by(col(CallbackTask.id)).limit(limit))
    if kind:
        query = query.where(col(CallbackTask.kind) == kind)
    with Session(ctx.engine) as session:
        found = list(session.execute(query))
        texts = case_texts(session, ctx, sorted({t.case_id for t, _, _ in found}), actor=actor)
    return [QueueItem(t.id, t.kind, t.reason, number, texts.get(t.case_id, {}).get("title", ""),  # type: ignore[arg-type]
                      unit or "", t.queued_at, t.assignee)
            for t, number, unit in found]
