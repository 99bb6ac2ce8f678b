"""One simulation: synthetic complaints and handling on a simulated clock, the real engine ticking.

Every morning (08:30 Asia/Shanghai) the real deadline sweep, callback sampling and monthly
cycle run as plain functions on the simulated clock, the same code the flows run, without a
Prefect flow run per tick. Ladder steps in "propose" mode are proposed and decided by a simulated
supervisor (duban.simulation.decider). During the day complaints arrive and the office and units
act through `CaseService`, as people would; late units hurry when the ladder reaches them.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import distinct, func, select
from sqlmodel import Session, col

from duban.clock import SHANGHAI, SimulatedClock, local_date
from duban.config.policy import Policy, load_policy
from duban.db import create_all, make_engine
from duban.errors import DubanError
from duban.models import CallbackTask, Case, Complainant, Notification, PressureStep
from duban.services import Actor, CaseService, ServiceContext
from duban.services.callbacks import complete_revisit, sample_callbacks
from duban.services.monthly import run_monthly_cycle
from duban.services.orgs import install_orgs
from duban.services.sweeps import run_deadline_sweep
from duban.simulation.decider import Decider, Decisions, ProposalDesk
from duban.simulation.world import RESPONSE, UnitProfile, World, rng_for
from duban.states.definition import HANDLING_STATES, LADDER_ACTIONS

log = logging.getLogger(__name__)

HANDLING = {s.value for s in HANDLING_STATES}


@dataclass
class SimCase:
    index: int
    number: str
    case_id: int
    disposition: str
    unit_code: str | None
    rng: random.Random
    profile: UnitProfile | None = None
    token: int = 0  # events carry the token they were planned with; a re-plan outdates them
    report_on: dt.date | None = None
    late: bool = False


@dataclass
class Tally:
    policy_name: str
    received: int = 0
    linked: int = 0
    dispatched: int = 0
    yellow: set[int] = field(default_factory=set)
    red: set[int] = field(default_factory=set)
    steps: Counter[str] = field(default_factory=Counter)
    progress_reminders: int = 0
    callbacks_queued: int = 0
    revisits_queued: int = 0
    closed: int = 0
    closed_on_time: int = 0
    emails: int = 0
    refused_actions: int = 0
    decisions: Decisions = field(default_factory=Decisions)
    proposing: set[str] = field(default_factory=set)  # ladder steps in "propose" mode
    overdue_end: int = 0  # open cases past their handling limit on the last evening
    overdue_days: int = 0  # the same, summed over every simulated evening (case-days late)
    sweep_seconds: float = 0.0
    sweeps: int = 0
    wall_seconds: float = 0.0

    @property
    def on_time_rate(self) -> float | None:
        return self.closed_on_time / self.closed if self.closed else None


@cache
def people() -> dict[str, dict[str, Any]]:
    """Who acts and what they write (people.toml beside this module)."""
    text = (resources.files("duban.simulation") / "people.toml").read_text("utf-8")
    return tomllib.loads(text)


class Simulation:
    def __init__(self, *, start: dt.date, end: dt.date, workdir: Path, seed: int = 2023,
                 per_day: float = 12.0, policy: Policy | None = None, name: str = "default",
                 decider: Decider | None = None) -> None:
        self.start, self.end, self.per_day = start, end, per_day
        self.world = World(seed)
        self.seed = seed
        engine = make_engine(f"sqlite:///{workdir / 'simulation.db'}")
        create_all(engine)
        install_orgs(engine, self.world.orgs)
        self.clock = SimulatedClock(_at(start, 8, 0))
        self.ctx = ServiceContext(engine=engine, clock=self.clock, policy=policy or load_policy())
        self.service = CaseService(self.ctx)
        cast = people()
        self.clerk, self.dispatcher, self.supervisor = (
            Actor(cast["actors"][role], role) for role in ("clerk", "dispatcher", "supervisor"))
        self.unit_name = cast["actors"]["unit"]
        self.says = cast["phrases"]
        self.calendar = self.ctx.calendars.official
        self.tally = Tally(name)
        self.desk = ProposalDesk(self.ctx, decider=decider or Decider.of(cast["decider"]), seed=seed)
        self.tally.decisions = self.desk.decisions
        self.tally.proposing = set(self.desk.steps)
        self.cases: dict[int, SimCase] = {}  # by case id
        self.by_index: dict[int, SimCase] = {}
        self._agenda: list[tuple[dt.datetime, int, str, int, int]] = []
        self._payloads: dict[int, object] = {}
        self._seq = 0
        self._arrivals = 0

    # -- the clock -----------------------------------------------------------------------------

    def run(self) -> Tally:
        began = time.perf_counter()
        day = self.start
        while day <= self.end:
            self._morning(day)
            if self.calendar.is_workday(day).workday:
                for arrival in self.world.arrivals_on(day, self.per_day, self._arrivals):
                    assert arrival.create.received_at is not None
                    self._schedule(arrival.create.received_at, "register", arrival.index, 0,
                                   payload=arrival)
                    self._arrivals += 1
            self._work_until(_at(day, 18, 0))
            self._colours()
            self._count_overdue(day)
            day += dt.timedelta(days=1)
        self._finish()
        self.tally.wall_seconds = time.perf_counter() - began
        return self.tally

    def _morning(self, day: dt.date) -> None:
        self.clock.set(_at(day, 8, 30))
        began = time.perf_counter()
        run_deadline_sweep(self.ctx)
        self.tally.sweep_seconds += time.perf_counter() - began
        self.tally.sweeps += 1
        sample_callbacks(self.ctx)
        run_monthly_cycle(self.ctx)
        yellow_before = set(self.tally.yellow)
        self._colours()
        self._see_yellow(self.tally.yellow - yellow_before)
        self._feel_pressure(day)
        self.desk.propose_due(day)
        self.desk.decide(day, supervisor=self.supervisor,
                         react=lambda case_id, step: self._react(case_id, step, day))
        self._revisits(day)

    def _count_overdue(self, day: dt.date) -> None:
        with Session(self.ctx.engine) as session:
            n = session.scalar(select(func.count()).select_from(Case).where(
                col(Case.state).in_(HANDLING), col(Case.deadline_kind) == "handling",
                col(Case.deadline_on) < day)) or 0
        self.tally.overdue_end = n
        self.tally.overdue_days += n

    def _colours(self) -> None:
        with Session(self.ctx.engine) as session:
            for colour, seen in (("yellow", self.tally.yellow), ("red", self.tally.red)):
                seen.update(session.scalars(select(col(Case.id)).where(col(Case.warning) == colour)))

    # -- the agenda ----------------------------------------------------------------------------

    def _schedule(self, when: dt.datetime, kind: str, index: int, token: int,
                  payload: object = None) -> None:
        self._seq += 1
        if payload is not None:
            self._payloads[self._seq] = payload
        heapq.heappush(self._agenda, (when, self._seq, kind, index, token))

    def _later(self, sc: SimCase, kind: str, workdays: float) -> None:
        """Plan an event `workdays` working days from now (fractions land later the same day)."""
        today = local_date(self.clock.now())
        whole = int(workdays)
        day = self.calendar.add_workdays(today, whole).date if whole >= 1 else today
        hour = 9 + sc.rng.uniform(0, 8) if whole >= 1 else min(17.9, _hour(self.clock.now()) + 1)
        self._schedule(_at(day, int(hour), int(hour % 1 * 60)), kind, sc.index, sc.token)

    def _work_until(self, until: dt.datetime) -> None:
        while self._agenda and self._agenda[0][0] <= until:
            when, seq, kind, index, token = heapq.heappop(self._agenda)
            self.clock.set(max(when, self.clock.now()))
            payload = self._payloads.pop(seq, None)
            sc = self.by_index.get(index)
            if kind != "register" and (sc is None or token != sc.token):
                continue  # outdated by a re-plan
            try:
                getattr(self, f"_on_{kind}")(sc if kind != "register" else payload)
            except DubanError as exc:
                self.tally.refused_actions += 1
                log.debug("simulation: %s on case %s refused: %s", kind, index, exc)

    # -- people --------------------------------------------------------------------------------

    def _unit_actor(self, case: Case) -> Actor:
        return Actor(self.unit_name, "unit", case.unit_id)

    def _on_register(self, arrival) -> None:  # type: ignore[no-untyped-def]
        registered = self.service.register(arrival.create, actor=self.clerk)
        if registered.linked:
            self.tally.linked += 1
            return
        self.tally.received += 1
        case = registered.case
        assert case.id is not None
        sc = SimCase(arrival.index, case.number, case.id, arrival.disposition, arrival.unit_code,
                     rng_for(self.seed, "handling", arrival.index))
        self.cases[case.id] = sc
        self.by_index[sc.index] = sc
        self._later(sc, "dispatch", sc.rng.uniform(0.1, 1.5))

    def _on_dispatch(self, sc: SimCase) -> None:
        form = {"unit": sc.unit_code} if sc.unit_code else {}
        case = self.service.act(sc.number, sc.disposition, actor=self.dispatcher, form=form)
        self.tally.dispatched += 1
        if case.sign_due_on is not None:  # the unit signs for it (签收) as it gets it
            case = self.service.act(sc.number, "sign_for", actor=self._unit_actor(case))
        if sc.disposition == "refer":
            self._later(sc, "result", sc.rng.uniform(8, 25))
            return
        self._plan_report(sc, case, factor=None)
        if case.state == "key_supervised":
            self._later(sc, "progress", sc.rng.uniform(8, 14))

    def _plan_report(self, sc: SimCase, case: Case, *, factor: float | None) -> None:
        unit = self.world.by_code.get(self._code(case.unit_id))
        sc.profile = self.world.profile(unit.code if unit else "?")
        first = factor is None
        factor = factor if factor is not None else sc.profile.factor(sc.rng)
        today = local_date(self.clock.now())
        limit = max(1, self.calendar.workdays_between(today, case.deadline_on)) if case.deadline_on else 10
        workdays = max(1, round(limit * factor))
        if first and sc.profile.overrun:
            workdays += sc.rng.randint(*sc.profile.overrun)
        sc.token += 1
        sc.report_on = self.calendar.add_workdays(today, workdays).date
        self._later(sc, "report", workdays)
        if case.state == "key_supervised":
            self._later(sc, "progress", sc.rng.uniform(8, 14) if not sc.profile.late else
                        sc.rng.uniform(11, 18))

    def _code(self, org_id: int | None) -> str:
        from duban.models import Org

        if org_id is None:
            return ""
        with Session(self.ctx.engine) as session:
            org = session.get(Org, org_id)
            return org.code if org else ""

    def _on_report(self, sc: SimCase) -> None:
        case = self.service.get(sc.number)
        if case.state not in HANDLING:
            return
        if case.deadline_on is not None and local_date(self.clock.now()) > case.deadline_on:
            sc.late = True
        self.service.act(sc.number, "submit_report", actor=self._unit_actor(case),
                         form={"text": self.says["report"], "finding": "true",
                               "actions_taken": self.says["report"]})
        self._later(sc, "review", sc.rng.uniform(1, 3))

    def _on_progress(self, sc: SimCase) -> None:
        case = self.service.get(sc.number)
        if case.state != "key_supervised":
            return
        self.service.act(sc.number, "report_progress", actor=self._unit_actor(case),
                         form={"text": self.says["progress"]})
        late = sc.profile is not None and sc.profile.late
        self._later(sc, "progress", sc.rng.uniform(11, 18) if late else sc.rng.uniform(8, 11))

    def _on_review(self, sc: SimCase) -> None:
        case = self.service.get(sc.number)
        if case.state != "reported":
            return
        if sc.rng.random() < 0.85:
            self.service.act(sc.number, "approve", actor=self.supervisor)
            self._later(sc, "verified", sc.rng.uniform(1, 3))
        else:
            case = self.service.act(sc.number, "send_back", actor=self.supervisor,
                                    form={"reasons": self.says["send_back"]})
            self._plan_report(sc, case, factor=sc.rng.uniform(0.3, 0.8))

    def _on_verified(self, sc: SimCase) -> None:
        case = self.service.get(sc.number)
        if case.state != "verified":
            return
        with Session(self.ctx.engine) as session:
            queued = session.scalar(select(func.count()).select_from(CallbackTask).where(
                col(CallbackTask.case_id) == sc.case_id, col(CallbackTask.kind) == "callback",
                col(CallbackTask.status) == "open"))
            real_name = session.scalar(select(col(Complainant.real_name)).join(
                Case, col(Case.complainant_id) == col(Complainant.id)).where(col(Case.id) == sc.case_id))
        # How the office reaches the complainant, varied by case without another draw.
        method = ("phone", "phone", "sms", "visit")[sc.index % 4]
        if not queued:  # nobody to call (anonymous), or a real-name case not sampled
            self.service.act(sc.number, "close", actor=self.supervisor,
                             form={"reason": "declined"} if real_name else {})
        elif sc.rng.random() < 0.9:
            self.service.act(sc.number, "record_callback", actor=self.clerk,
                             form={"method": method, "note": self.says["satisfied"],
                                   "result": "basically_satisfied" if sc.index % 3 == 0 else "satisfied"})
        else:
            case = self.service.act(sc.number, "record_callback", actor=self.clerk,
                                    form={"method": method, "result": "unsatisfied",
                                          "reason": self.says["unsatisfied"]})
            self._plan_report(sc, case, factor=sc.rng.uniform(0.3, 0.8))

    def _on_result(self, sc: SimCase) -> None:
        case = self.service.get(sc.number)
        if case.state == "referred":  # the office's supervisor records what the commission says
            self.service.act(sc.number, "acknowledge_referral", actor=self.supervisor)
            case = self.service.act(sc.number, "record_result", actor=self.supervisor,
                                    form={"outcome": "case_opened", "text": self.says["result"]})
            if case.state == "referred":  # a real-name reporter is told the result
                self.service.act(sc.number, "notify_result", actor=self.supervisor)

    # -- the engine's pressure, felt by units --------------------------------------------------

    def _feel_pressure(self, day: dt.date) -> None:
        """Units hurry (or not) when the ladder reaches them; a raised disposition re-plans."""
        with Session(self.ctx.engine) as session:
            fired = session.execute(select(col(PressureStep.case_id), col(PressureStep.step)).where(
                col(PressureStep.at) == self.clock.now(), col(PressureStep.outcome) == "done")).all()
        for case_id, step in fired:
            self._react(case_id, step, day)

    def _react(self, case_id: int, step: str, day: dt.date) -> None:
        sc = self.cases.get(case_id)
        if sc is None or sc.profile is None:
            return
        if step == "step_up":
            self._plan_report(sc, self.service.get(sc.number), factor=sc.rng.uniform(0.4, 1.0))
        elif step in sc.profile.heeds and sc.rng.random() < sc.profile.responsive:
            hurry = self.calendar.add_workdays(day, RESPONSE[step]).date
            if sc.report_on is None or hurry < sc.report_on:
                sc.token += 1
                sc.report_on = hurry
                self._later(sc, "report", RESPONSE[step])

    def _see_yellow(self, case_ids: set[int]) -> None:
        """Some late units act on a yellow warning alone: they report on the deadline day (not
        the stubborn ones, which even reminders leave unmoved)."""
        for case_id in case_ids:
            sc = self.cases.get(case_id)
            if (sc is None or sc.profile is None or not sc.profile.late or "remind" not in sc.profile.heeds
                    or sc.rng.random() > 0.3):
                continue
            case = self.service.get(sc.number)
            if case.state in HANDLING and case.deadline_on and (
                    sc.report_on is None or case.deadline_on < sc.report_on):
                sc.token += 1
                sc.report_on = case.deadline_on
                self._later(sc, "report", self.calendar.workdays_between(
                    local_date(self.clock.now()), case.deadline_on))

    def _revisits(self, day: dt.date) -> None:
        with Session(self.ctx.engine) as session:
            open_revisits = list(session.scalars(select(col(CallbackTask.case_id)).where(
                col(CallbackTask.kind) == "revisit", col(CallbackTask.status) == "open")))
        for case_id in open_revisits:
            sc = self.cases.get(case_id)
            if sc is None:
                continue
            try:
                if sc.rng.random() < 0.95:
                    complete_revisit(self.ctx, sc.number, actor=self.supervisor)
                else:
                    case = self.service.act(sc.number, "reopen", actor=self.supervisor,
                                            form={"reason": self.says["reopen"]})
                    self._plan_report(sc, case, factor=sc.rng.uniform(0.3, 0.8))
            except DubanError:
                self.tally.refused_actions += 1

    # -- the end -------------------------------------------------------------------------------

    def _finish(self) -> None:
        t = self.tally
        with Session(self.ctx.engine) as session:
            for step, n in session.execute(
                    select(col(PressureStep.step), func.count(distinct(col(PressureStep.case_id))))
                    .where(col(PressureStep.outcome) == "done").group_by(col(PressureStep.step))):
                if step.startswith("remind_progress"):
                    t.progress_reminders += n
                else:
                    t.steps[step] = n
            # A confirmed proposal is a step taken, by a person (cases it reached, as above).
            for step, cases in t.decisions.confirmed_cases.items():
                engine = set(session.scalars(select(col(PressureStep.case_id)).where(
                    col(PressureStep.step) == step, col(PressureStep.outcome) == "done")))
                t.steps[step] = len(engine | cases)
            for kind, n in session.execute(select(col(CallbackTask.kind), func.count())
                                           .group_by(col(CallbackTask.kind))):
                if kind == "callback":
                    t.callbacks_queued = n
                else:
                    t.revisits_queued = n
            closed = set(session.scalars(select(col(Case.id)).where(col(Case.state) == "closed",
                                                               col(Case.disposition) != "refer")))
            t.closed = len(closed)
            t.closed_on_time = sum(1 for cid in closed if cid in self.cases and not self.cases[cid].late)
            t.emails = session.scalar(select(func.count()).select_from(Notification)) or 0


LADDER_ROWS = [*LADDER_ACTIONS, "step_up"]


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def _hour(when: dt.datetime) -> float:
    local = when.astimezone(SHANGHAI)
    return local.hour + local.minute / 60
