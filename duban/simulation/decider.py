"""Ladder steps in "propose" mode, in a simulation: proposed when due, decided by a supervisor.

The engine fires only the ladder's automatic steps. For a step in propose mode this desk, each
simulated morning after the sweep, finds the cases on which it has fallen due (the same
`pressure.plan`, over the whole ladder) and records a proposal. A simulated supervisor decides it
some working days later (people.toml [decider]): a proposal whose case is no longer late in the
same limit is withdrawn as moot; the others are confirmed with the configured probability, else
dismissed. A confirmed step is taken then, through `CaseService` by the supervisor, and the unit
reacts to it as it would to the same step fired by the engine.

What it models is the decision and its delay, not the application's proposals queue (issue 13,
point 3): it writes no proposal rows, so it gives the same answer whatever that queue looks like.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from duban.config.policy import Policy
from duban.errors import DubanError
from duban.models import Case, Org, PressureStep
from duban.services import Actor, CaseService, ServiceContext
from duban.services.pressure import Facts, ladder_episode, plan
from duban.services.sweeps import FACT_COLUMNS
from duban.simulation.world import rng_for
from duban.states.definition import HANDLING_STATES

HANDLING = [s.value for s in HANDLING_STATES]


@dataclass(frozen=True)
class Decider:
    """How a supervisor decides a proposed step: after `within_workdays` (a range), confirming
    with probability `confirm_rate` when the case is still late."""

    confirm_rate: float
    within_workdays: tuple[int, int]

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> Decider:
        """From people.toml's [decider] table."""
        low, high = (int(n) for n in table["within_workdays"])
        rate = float(table["confirm_rate"])
        if not 0 <= rate <= 1 or not 0 <= low <= high:
            raise ValueError("people.toml [decider]: confirm_rate in 0..1, within_workdays = [low, high]")
        return cls(rate, (low, high))


@dataclass
class Proposal:
    case_id: int
    number: str
    episode: str
    step: str
    decide_on: dt.date


@dataclass
class Decisions:
    """Per ladder step: proposals made, confirmed, dismissed, withdrawn as moot (and on which cases)."""

    proposed: Counter[str] = field(default_factory=Counter)
    confirmed: Counter[str] = field(default_factory=Counter)
    dismissed: Counter[str] = field(default_factory=Counter)
    moot: Counter[str] = field(default_factory=Counter)
    confirmed_cases: dict[str, set[int]] = field(default_factory=dict)


def with_modes(policy: Policy, steps: Iterable[str], mode: str) -> Policy:
    """The policy with the ladder steps named in `steps` set to `mode`, nothing else changed."""
    named = set(steps)
    ladder = [s.model_copy(update={"mode": mode}) if s.action in named else s for s in policy.ladder.steps]
    return policy.model_copy(update={"ladder": policy.ladder.model_copy(update={"steps": ladder})})


def whole_ladder(policy: Policy) -> Policy:
    """The policy with every ladder step automatic: what would be due if nobody had to decide."""
    return with_modes(policy, [s.action for s in policy.ladder.steps], "automatic")


class ProposalDesk:
    def __init__(self, ctx: ServiceContext, *, decider: Decider, seed: int) -> None:
        self.ctx, self.decider, self.seed = ctx, decider, seed
        self.service = CaseService(ctx)
        self.steps = {s.action for s in ctx.policy.ladder.steps if s.mode == "propose"}
        self.whole = whole_ladder(ctx.policy)
        self.made: dict[int, set[tuple[str, str]]] = {}  # (episode, step) proposed
        self.waiting: list[Proposal] = []
        self.decisions = Decisions()
        self._codes: dict[int, str] = {}

    def propose_due(self, today: dt.date) -> None:
        """Record a proposal for each propose-mode step that has fallen due on a late case."""
        if not self.steps:
            return
        with Session(self.ctx.engine) as session:
            if not self._codes:
                self._codes = {i: c for i, c in session.execute(select(col(Org.id), col(Org.code)))}
            rows = session.execute(select(*FACT_COLUMNS, col(Case.number)).where(
                col(Case.state).in_(HANDLING), col(Case.deadline_on) < today)).all()
            fired: dict[int, set[tuple[str, str]]] = {}  # days unknown: plan reads a set so
            # What the engine did; a propose-mode step is the desk's alone, whatever the engine
            # recorded about it (an application's proposal is not a decision here).
            for case_id, episode, step in session.execute(
                    select(col(PressureStep.case_id), col(PressureStep.episode), col(PressureStep.step))
                    .where(col(PressureStep.case_id).in_([r.id for r in rows]),
                           col(PressureStep.step).not_in(self.steps))):
                fired.setdefault(case_id, set()).add((episode, step))
        for row in rows:
            made = self.made.setdefault(row.id, set())
            calendar = self.ctx.calendar_for(self._codes.get(row.unit_id or row.office_id))
            result = plan(Facts.of(row), fired=fired.get(row.id, set()) | made, calendar=calendar,
                          policy=self.whole, today=today)
            for due in result.due:
                if due.step not in self.steps:
                    continue
                made.add((due.episode, due.step))
                rng = rng_for(self.seed, "decide", row.number, due.episode, due.step)
                low, high = self.decider.within_workdays
                later = rng.randint(low, high)
                decide_on = calendar.add_workdays(today, later).date if later else today
                self.waiting.append(Proposal(row.id, row.number, due.episode, due.step, decide_on))
                self.decisions.proposed[due.step] += 1

    def _form(self, step: str) -> dict[str, str]:
        if step == "step_up":  # a raise needs a reason on the record, as the sweep gives it
            return {"reason": self.ctx.labels.text.get("ladder_step_up", "overdue")}
        return {}

    def decide(self, today: dt.date, *, supervisor: Actor,
               react: Callable[[int, str], None]) -> None:
        """Decide the proposals whose day has come; `react(case_id, step)` after a confirmation."""
        ready = [p for p in self.waiting if p.decide_on <= today]
        self.waiting = [p for p in self.waiting if p.decide_on > today]
        d = self.decisions
        for p in ready:
            case = self.service.get(p.number)
            late = (case.state in HANDLING and ladder_episode(case.deadline_seq or 0) == p.episode
                    and case.deadline_on is not None and case.deadline_on < today)
            if not late:
                d.moot[p.step] += 1
                continue
            chance = rng_for(self.seed, "confirm", p.number, p.episode, p.step).random()
            if chance < self.decider.confirm_rate:
                try:
                    self.service.act(p.number, p.step, actor=supervisor, form=self._form(p.step))
                except DubanError:  # the case moved on in a way the step no longer fits
                    d.moot[p.step] += 1
                    continue
                d.confirmed[p.step] += 1
                d.confirmed_cases.setdefault(p.step, set()).add(p.case_id)
                react(p.case_id, p.step)
            else:
                d.dismissed[p.step] += 1
