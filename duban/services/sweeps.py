"""The deadline sweep: colours, escalation-ladder steps and progress reminders, in chunks.

A sweep selects what is due with one indexed query (`cases.sweep_due_on <= today`), then works
through it in chunks, each one write transaction:

- the chunk's rows are read again under the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
  FOR UPDATE SKIP LOCKED, so a second sweep takes other rows instead of waiting), with what the
  engine already did to them (`pressure_steps`), so a racing sweep sees the first one's work and
  does nothing twice; the UNIQUE (case, episode, step) constraint is the backstop;
- cases only changing colour get one Core UPDATE for the chunk (colour changes are not actions:
  no audit event, see docs/engine.md);
- cases with a step due go through `CaseService.act_in` (state machine, roles, handler, audit
  event, outbox rows), and the step is recorded; a step whose policy mode is "propose" is not
  fired: it is recorded as a proposal for a person to decide (duban.services.proposals).

A sweep killed halfway leaves whole chunks done and the rest still due: the next run completes it.
A chunk that fails is retried case by case; a case that still fails is logged and looked at again
the next day, so one bad case cannot stall the engine.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col

from duban.clock import local_date
from duban.db import claim, row_locks
from duban.models import Case, Org, PressureStep
from duban.services import outbox
from duban.services.auditrows import cover
from duban.services.cases import CaseService
from duban.services.context import ENGINE_ACTOR, ServiceContext
from duban.services.persist import WRITE_COLUMNS, fetch_cases
from duban.services.pressure import Facts, Fired, Plan, plan
from duban.services.proposals import propose_in
from duban.workcal import WorkCalendar

log = logging.getLogger(__name__)

FACT_COLUMNS = tuple(col(c) for c in (
    Case.id, Case.state, Case.disposition, Case.deadline_kind, Case.deadline_start, Case.deadline_on,
    Case.deadline_seq, Case.progress_due_on, Case.unit_id, Case.office_id, Case.warning,
    Case.sweep_due_on, Case.missed_deadline_on, Case.notice_due_on, Case.sign_due_on))


@dataclass
class SweepResult:
    today: dt.date
    visited: int = 0
    recoloured: int = 0
    steps: Counter[str] = field(default_factory=Counter)  # fired
    proposed: Counter[str] = field(default_factory=Counter)  # steps left to a person's decision
    skipped: Counter[str] = field(default_factory=Counter)  # passed over by a catch-up
    failed: list[tuple[int, str]] = field(default_factory=list)
    chunks: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"today": self.today.isoformat(), "visited": self.visited,
                "recoloured": self.recoloured, "steps": dict(self.steps),
                "proposed": dict(self.proposed), "skipped": dict(self.skipped),
                "failed": len(self.failed), "chunks": self.chunks}


class DeadlineSweep:
    """One run of the sweep at `ctx.now()`; `run()` does the whole of it."""

    def __init__(self, ctx: ServiceContext, *, chunk_size: int | None = None) -> None:
        self.ctx = ctx
        self.service = CaseService(ctx)
        self.chunk_size = chunk_size or ctx.policy.schedule.chunk_size
        self.now = ctx.now()
        self.today = local_date(self.now)
        self.result = SweepResult(self.today)
        self._codes: dict[int, str] = {}
        self._row_locks = row_locks(ctx.engine)

    def run(self, *, after_chunk: Callable[[int], None] | None = None) -> SweepResult:
        """Sweep everything due today. `after_chunk(n)` runs after each committed chunk."""
        with Session(self.ctx.engine) as session:
            self._codes = {i: c for i, c in session.execute(select(col(Org.id), col(Org.code)))}
        due = self._due_ids()
        for start in range(0, len(due), self.chunk_size):
            self._chunk_or_one_by_one(due[start: start + self.chunk_size])
            self.result.chunks += 1
            if after_chunk is not None:
                after_chunk(self.result.chunks)
        return self.result

    # -- selecting ---------------------------------------------------------------------------

    def _due_ids(self) -> list[int]:
        """Ids of every case due today, from the sweep_due_on index alone (then sorted here:
        asking the database to order by id tempts SQLite to walk the whole table instead)."""
        query = select(col(Case.id)).where(col(Case.sweep_due_on) <= self.today)
        with self.ctx.engine.connect() as conn:
            return sorted(conn.scalars(query))

    def _calendar(self, unit_id: int | None, office_id: int) -> WorkCalendar:
        org_id = unit_id or office_id
        if org_id not in self._codes:
            with Session(self.ctx.engine) as session:
                self._codes = {i: c for i, c in session.execute(select(col(Org.id), col(Org.code)))}
        return self.ctx.calendar_for(self._codes.get(org_id))

    # -- working -----------------------------------------------------------------------------

    def _chunk_or_one_by_one(self, ids: list[int]) -> None:
        try:
            self._chunk(ids)
            return
        except Exception as exc:
            log.warning("sweep chunk of %d cases failed (%r); retrying them one by one", len(ids), exc)
        for case_id in ids:
            try:
                self._chunk([case_id])
            except Exception as exc:
                log.exception("sweep could not handle case %s; it is looked at again tomorrow",
                              case_id)
                self.result.failed.append((case_id, repr(exc)))
                self._postpone(case_id)

    def _chunk(self, ids: list[int]) -> None:
        tally = SweepResult(self.today)
        with self.service.transaction() as session:
            self._chunk_in(session, ids, tally)
        # Counted once committed, so a chunk retried case by case is not counted twice.
        self.result.visited += tally.visited
        self.result.recoloured += tally.recoloured
        self.result.steps.update(tally.steps)
        self.result.proposed.update(tally.proposed)
        self.result.skipped.update(tally.skipped)

    def _chunk_in(self, session: Session, ids: list[int], tally: SweepResult) -> None:
        query = select(*FACT_COLUMNS).where(col(Case.id).in_(ids),
                                            col(Case.sweep_due_on) <= self.today)
        if self._row_locks:  # in id order, so two sweeps never wait on each other in a cycle
            query = claim(query.order_by(col(Case.id)), session.get_bind())
        rows = session.connection().execute(query).all()
        if not rows:
            return
        fired = self._fired(session, [r.id for r in rows])
        recolour: list[dict[str, object]] = []
        acting: dict[int, Plan] = {}
        for row in rows:
            result = plan(Facts.of(row), fired=fired.get(row.id, {}),
                          calendar=self._calendar(row.unit_id, row.office_id),
                          policy=self.ctx.policy, today=self.today)
            if result.due:
                acting[row.id] = result
            elif result.warning != row.warning or result.look_again_on != row.sweep_due_on:
                recolour.append({"cid": row.id, "w": result.warning, "d": result.look_again_on})
        tally.visited += len(rows)
        if recolour:
            session.connection().execute(
                update(Case).where(col(Case.id) == bindparam("cid"))
                .values(warning=bindparam("w"), sweep_due_on=bindparam("d")),
                recolour, execution_options={"synchronize_session": False})
            tally.recoloured += len(recolour)
        if acting:
            self._act(session, acting, fired, tally)

    def _fired(self, session: Session, case_ids: list[int]) -> dict[int, Fired]:
        found: dict[int, Fired] = {}
        query = select(col(PressureStep.case_id), col(PressureStep.episode), col(PressureStep.step),
                       col(PressureStep.outcome), col(PressureStep.at)).where(
            col(PressureStep.case_id).in_(case_ids))
        for case_id, episode, step, outcome, at in session.connection().execute(query):
            # the day a step went out spaces the next one (pressure.catch_up); a skip's does not
            found.setdefault(case_id, {})[(episode, step)] = (
                None if outcome == "skipped" else local_date(at))
        return found

    def _act(self, session: Session, plans: dict[int, Plan], fired: dict[int, Fired],
             tally: SweepResult) -> None:
        case_ids = list(plans)
        cases = fetch_cases(session, select(*WRITE_COLUMNS).where(col(Case.id).in_(case_ids)),
                            for_write=True)
        # What handlers and templates read, loaded with one query each and held here: the
        # identity map keeps objects only while someone does, and then session.get() needs no
        # query (nor the autoflush a query brings).
        # Complainants are not loaded: mail reads what its recipient may see (outbox.enqueue).
        held: list[object] = list(session.scalars(select(Org)))
        outbox.preload_secrets(session, case_ids)
        # The chunk's rows go to the database together at commit, not case by case: the
        # engine's actions read nothing that another case of the chunk writes.
        steps: list[dict[str, object]] = []
        outbox.collect(session)
        with session.no_autoflush:
            for case in cases:
                assert case.id is not None
                self._fire_due(session, case, plans[case.id], fired.setdefault(case.id, {}),
                               tally, steps)
        outbox.write_batch(session)
        if steps:
            session.execute(insert(PressureStep), steps)
        del held

    def _fire_due(self, session: Session, case: Case, result: Plan, fired: Fired,
                  tally: SweepResult, steps: list[dict[str, object]]) -> None:
        for _ in range(64):  # a step may start a new episode (step_up): re-plan after each
            if not result.due:
                break
            due = result.due[0]
            propose = due.action is not None and self.ctx.policy.ladder.mode_of(due.action) == "propose"
            mark: dict[str, object] = {"case_id": case.id, "episode": due.episode, "step": due.step,
                    "outcome": "proposed" if propose else "done" if due.action else "skipped",
                    "at": self.now}
            if due.action is not None:
                cover(session, PressureStep, mark)  # written with the chunk, named by its event
                if propose:
                    propose_in(session, case, episode=due.episode, step=due.step, action=due.action,
                               now=self.now)
                else:
                    self.service.act_in(session, case, due.action, actor=ENGINE_ACTOR,
                                        form=self._form(due.action), now=self.now)
            steps.append(mark)
            fired[(due.episode, due.step)] = self.today if due.action else None
            (tally.proposed if propose else tally.steps if due.action else tally.skipped)[due.step] += 1
            result = plan(Facts.of(case), fired=fired,
                          calendar=self._calendar(case.unit_id, case.office_id),
                          policy=self.ctx.policy, today=self.today)
        else:
            raise RuntimeError(f"case {case.id}: engine steps did not settle")
        case.warning = result.warning
        case.sweep_due_on = result.look_again_on

    def _form(self, action: str) -> dict[str, str]:
        if action == "step_up":  # a raise needs a reason on the record
            return {"reason": self.ctx.labels.text.get("ladder_step_up", "overdue")}
        return {}

    def _postpone(self, case_id: int) -> None:
        with self.service.transaction() as session:
            session.connection().execute(
                update(Case).where(col(Case.id) == case_id)
                .values(sweep_due_on=self.today + dt.timedelta(days=1)))


def run_deadline_sweep(ctx: ServiceContext, *, chunk_size: int | None = None,
                       after_chunk: Callable[[int], None] | None = None) -> SweepResult:
    """Sweep every case due today (colours, ladder steps, progress reminders); see module doc."""
    return DeadlineSweep(ctx, chunk_size=chunk_size).run(after_chunk=after_chunk)

