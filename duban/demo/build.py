"""The demo: synthetic cases that reach seed 000's figures, driven through the real service layer.

Every case is registered, dispatched, reported on, reviewed and closed by `CaseService` on a
simulated clock, in time order, exactly as an office would: nothing writes rows directly. The
engine's deadline sweep runs every simulated morning, so colours and ladder steps happen on the
days they fall due, as they would have under a running engine (figures.toml [engine]).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlmodel import Session, SQLModel, col, func, select

from duban.clock import SHANGHAI, SimulatedClock, local_date, parse_local
from duban.config.policy import Policy
from duban.demo.orgs import OrgSpec, load_orgs
from duban.demo.texts import MISCONDUCT, CaseText, CaseTextGenerator, priority_of, units_for
from duban.errors import DubanError
from duban.models import Case, CaseCreate, Org
from duban.services import Actor, CaseService, ServiceContext
from duban.services.orgs import install_orgs
from duban.services.sweeps import run_deadline_sweep

HOUR = dt.timedelta(hours=1)
MINUTES_10 = dt.timedelta(minutes=10)


class DemoMismatch(DubanError):
    code = "demo_mismatch"


def figures() -> dict[str, Any]:
    return tomllib.loads((resources.files("duban.demo") / "figures.toml").read_text("utf-8"))


@dataclass
class Event:
    at: dt.datetime
    case: int  # index of the planned case
    action: str  # register, repeat, or a service action
    form: dict[str, Any] = field(default_factory=dict)
    actor: str = "dispatcher"  # clerk, dispatcher, supervisor, unit, department (二次交办)


@dataclass
class PlannedCase:
    level: str
    office: OrgSpec
    disposition: str
    closes: bool
    arrival: dt.datetime
    subject: OrgSpec
    unit: OrgSpec | None
    text: CaseText
    progress: bool = False


class Planner:
    """Chooses offices, units, subjects, texts and the order of actions, reproducibly from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.texts = CaseTextGenerator(seed)
        self.fig = figures()
        self.orgs = load_orgs()
        self.by_code = {o.code: o for o in self.orgs}
        self.children: dict[str, list[OrgSpec]] = {}
        for org in self.orgs:
            if org.parent_code:
                self.children.setdefault(org.parent_code, []).append(org)
        self.start = parse_local(self.fig["start"])
        self.as_of = parse_local(self.fig["as_of"])
        self.offices = {lvl: [o for o in self.orgs if o.kind == "office" and o.level == lvl]
                        for lvl in ("province", "city", "county")}
        self._matters: set[tuple[str, str]] = set()

    # -- organisations --------------------------------------------------------------------

    def _kids(self, code: str, kind: str) -> list[OrgSpec]:
        return [o for o in self.children.get(code, []) if o.kind == kind]

    def _bureau(self, office: OrgSpec, category: str) -> OrgSpec:
        """A unit of the region whose line of work the category is (住建 for arrears, 水务 for
        water…, texts.toml `units`); the region's government where it has none of that kind."""
        wanted = units_for(category, [o for o in self.children.get(office.code, [])
                                      if o.kind in ("bureau", "government")])
        return self.rng.choice(wanted) if wanted else self._kids(office.code, "government")[0]

    def _region_below(self, office: OrgSpec) -> OrgSpec:
        """A region office at or below `office` where the matter happened."""
        counties = self._kids(office.code, "office")
        if office.level == "county" or not counties or self.rng.random() < 0.25:
            return office
        return self.rng.choice(counties)

    def subject_and_unit(self, level: str, office: OrgSpec, category: str) -> tuple[OrgSpec, OrgSpec]:
        """The unit complained about, and the unit that must solve it (its government, usually)."""
        if level == "province":
            depts = units_for(category, self._kids("GS", "department"))
            if depts and self.rng.random() < 0.3:
                dept = self.rng.choice(depts)
                city = self.rng.choice(self.offices["city"])
                return self._bureau(city, category), dept
            city = self.rng.choice(self.offices["city"])
            region = self._region_below(city)
            return self._bureau(region, category), self._kids(city.code, "government")[0]
        region = self._region_below(office)
        subject = self._bureau(region, category)
        return subject, self._kids(region.code, "government")[0]

    # -- cases ------------------------------------------------------------------------------

    def _text(self, category: str, subject: OrgSpec) -> CaseText:
        region = self.by_code[subject.parent_code or "GS"]
        for _ in range(50):
            text = self.texts.make(category, region_name=region.region_name, unit_name=subject.name)
            if (subject.code, text.title) not in self._matters:
                self._matters.add((subject.code, text.title))
                return text
        raise DemoMismatch(f"could not find a fresh title for {subject.code}")

    def _arrivals(self, n: int) -> list[dt.datetime]:
        span = (self.as_of - 2 * HOUR - self.start).total_seconds()
        # More reports as the hotlines became known: density rising over the weeks.
        return sorted(self.start + dt.timedelta(seconds=span * self.rng.random() ** 0.8)
                      for _ in range(n))

    def plan_cases(self) -> list[PlannedCase]:
        cases: list[PlannedCase] = []
        for level, spec in self.fig["levels"].items():
            dispositions = [d for d, n in spec["dispositions"].items() for _ in range(n)]
            self.rng.shuffle(dispositions)
            arrivals = self._arrivals(len(dispositions))
            level_cases: list[PlannedCase] = []
            for disposition, arrival in zip(dispositions, arrivals, strict=True):
                office = self.rng.choice(self.offices[level])
                # Only complaints about officials' conduct go to the discipline commission.
                category = self.texts.choose_category(misconduct=disposition == "refer")
                subject, unit = self.subject_and_unit(level, office, category)
                level_cases.append(PlannedCase(
                    level=level, office=office, disposition=disposition, closes=False,
                    arrival=arrival, subject=subject,
                    unit=None if disposition == "refer" else unit,
                    text=self._text(category, subject)))
            self._choose_closed(level_cases, spec["closed"])
            progress = [c for c in level_cases if c.disposition == "key_supervise"]
            for case in self.rng.sample(progress, spec.get("key_progress", 0)):
                case.progress = True
            cases += level_cases
        return cases

    def _choose_closed(self, cases: list[PlannedCase], closed: dict[str, int]) -> None:
        latest = self.as_of - dt.timedelta(days=6)
        for disposition, n in closed.items():
            eligible = [c for c in cases if c.disposition == disposition and c.arrival <= latest]
            if len(eligible) < n:
                raise DemoMismatch(f"only {len(eligible)} {disposition} cases early enough to close {n}")
            for case in self.rng.sample(eligible, n):
                case.closes = True

    # -- actions ----------------------------------------------------------------------------

    def _phrase(self, kind: str) -> str:
        return self.rng.choice(self.fig["phrases"][kind])

    def _spread(self, start: dt.datetime, end: dt.datetime, n: int) -> list[dt.datetime]:
        span = max((end - start).total_seconds(), 60.0)
        return sorted(start + dt.timedelta(seconds=span * self.rng.uniform(0.05, 1.0)) for _ in range(n))

    def events(self, cases: list[PlannedCase]) -> list[Event]:
        out: list[Event] = []
        deadline = self.as_of - dt.timedelta(minutes=10)
        for i, case in enumerate(cases):
            out.append(Event(case.arrival, i, "register", actor="clerk"))
            t = min(case.arrival + dt.timedelta(hours=self.rng.uniform(0.5, 30)), deadline - HOUR)
            unit = case.unit.code if case.unit else None
            # About one dispatch in a hundred names the very unit complained about: the engine
            # must send it up a level instead (回避).
            if unit and self.rng.random() < 0.01:
                unit = case.subject.code
            if i % 150 == 7 and case.disposition != "refer":
                # A few are first declined (不予受理) as outside the office's remit, then taken back
                # when the complainant shows they are not (every seed case was disposed of).
                phrases = self.fig["phrases"]
                out.append(Event(t - 2 * MINUTES_10, i, "decline",
                                 {"decline_reason": "outside_remit", "note": phrases["decline"][0]},
                                 "dispatcher"))
                out.append(Event(t - MINUTES_10, i, "reinstate", {"reason": phrases["reinstate"][0]},
                                 "supervisor"))
            out.append(Event(t, i, case.disposition, {"unit": unit} if unit else {}))
            after = self._after_dispatch(i, case, t, deadline)
            # One closing case in six a government handles goes on to one of its bureaus (二次交办).
            if unit and case.unit is not None and unit == case.unit.code and i % 6 == 0:
                after = self._delegated(case, t, after)
            out += after
        return out

    def _delegated(self, case: PlannedCase, t: dt.datetime, steps: list[Event]) -> list[Event]:
        """The government passes the case to a bureau of its own (never the one complained about);
        the bureau reports, and the government forwards each report to the office. No draw from
        the generator: every other case's plan stays as it was."""
        assert case.unit is not None
        if (case.unit.kind != "government" or case.subject.code == case.unit.code  # 回避: moved up
                or not case.closes or not steps or case.unit.parent_code is None):
            return steps
        bureaus = sorted((o for o in self._kids(case.unit.parent_code, "bureau")
                          if o.code != case.subject.code),
                         key=lambda o: (not units_for(case.text.category, [o]), o.code))
        if not bureaus:
            return steps
        out = [Event(t + (steps[0].at - t) / 2, steps[0].case, "delegate",
                     {"department": bureaus[0].code}, "unit")]
        for k, step in enumerate(steps):
            if step.action != "submit_report":
                out.append(step)
                continue
            out.append(dataclasses.replace(step, actor="department"))
            following = steps[k + 1].at if k + 1 < len(steps) else step.at + dt.timedelta(hours=2)
            out.append(Event(step.at + (following - step.at) / 2, step.case, "forward_report", {}, "unit"))
        return out

    def _after_dispatch(self, i: int, case: PlannedCase, t: dt.datetime, end: dt.datetime) -> list[Event]:
        ev: list[Event] = []
        if case.disposition == "refer":
            if case.closes:
                # The commission accepts, disposes and tells the (real-name) reporter the result;
                # the office's supervisor records what it is told (services/referrals.py).
                t0, t1 = self._spread(t, min(end, t + dt.timedelta(days=14)), 2)
                ev.append(Event(t0, i, "acknowledge_referral", {}, "supervisor"))
                ev.append(Event(t1, i, "record_result", {"outcome": "case_opened",
                                                         "text": self._phrase("commission")}, "supervisor"))
                ev.append(Event(t1 + dt.timedelta(minutes=30), i, "notify_result", {}, "supervisor"))
            return ev
        if case.closes:
            steps = ["submit_report"]
            if self.rng.random() < 0.25:
                steps += ["send_back", "submit_report"]
            steps += ["approve", "record_callback" if self.rng.random() < 0.5 else "close"]
            times = self._spread(t, min(end, t + dt.timedelta(days=self.rng.uniform(3, 20))), len(steps))
            done = [self._step(i, s, at) for s, at in zip(steps, times, strict=True)]
            return done + self._reexamined(i, times[-1], end)
        if case.progress:
            (t1,) = self._spread(t, end, 1)
            return [Event(t1, i, "report_progress", {"text": self._phrase("progress")}, "unit")]
        roll = self.rng.random()
        other = self._another_unit(case) if case.disposition == "transfer" and roll < 0.04 else None
        if other is not None and end - t > dt.timedelta(days=2):
            t1 = t + dt.timedelta(hours=self.rng.uniform(2, 30))
            # 退单: the unit asks, the office's dispatcher agrees and hands the case on.
            return [Event(t1, i, "request_return", {"reason": self._phrase("objection")}, "unit"),
                    Event(t1 + HOUR / 2, i, "accept_return", {}, "dispatcher"),
                    Event(t1 + HOUR, i, "transfer", {"unit": other.code})]
        variants = [([], 0.40), (["request_extension", "approve_extension"], 0.50),
                    (["submit_report"], 0.72), (["submit_report", "send_back"], 0.84),
                    (["submit_report", "approve"], 1.0)]
        steps = next(s for s, p in variants if roll < p)
        times = self._spread(t, end, len(steps))
        return [self._step(i, s, at) for s, at in zip(steps, times, strict=True)]

    def _reexamined(self, i: int, closed: dt.datetime, end: dt.datetime) -> list[Event]:
        """One closed case in fifty: the complainant asks for 复查 and the office above upholds the
        reply within days (so the case is closed again by the demo's date). No draw."""
        asked, decided = closed + dt.timedelta(days=1), closed + dt.timedelta(days=3)
        if i % 50 != 21 or decided >= end:
            return []
        phrases = self.fig["phrases"]
        return [Event(asked, i, "request_reexamination", {"reason": phrases["reexamination"][0]}, "clerk"),
                Event(decided, i, "decide_reexamination",
                      {"opinion": "uphold", "reply": phrases["reexamination_opinion"][0]}, "supervisor")]

    def _another_unit(self, case: PlannedCase) -> OrgSpec | None:
        """Where a rightful objection sends the case: another unit whose line of work it is, in
        the office's own region (policy [dispatch]); the province sends it to a department."""
        region = "GS" if case.level == "province" else case.office.code
        kind = "department" if case.level == "province" else "bureau"
        taken = {case.subject.code, case.unit.code if case.unit else ""}
        others = [o for o in units_for(case.text.category, self.children.get(region, []))
                  if o.kind == kind and o.code not in taken]
        return self.rng.choice(others) if others else None

    def _report(self) -> dict[str, Any]:
        """A final report: its text, 属实, and what was done (policy [handling_report])."""
        text = self._phrase("report")
        return {"text": text, "finding": "true", "actions_taken": text}

    def _step(self, i: int, action: str, at: dt.datetime) -> Event:
        forms: dict[str, tuple[dict[str, Any], str]] = {
            "submit_report": (self._report(), "unit"),
            "send_back": ({"reasons": self._phrase("send_back")}, "supervisor"),
            "approve": ({"note": self._phrase("approve")}, "supervisor"),
            # Method and scale varied by case, without another draw (the demo's figures stay).
            "record_callback": ({"method": ("phone", "phone", "sms", "visit")[i % 4],
                                 "result": "basically_satisfied" if i % 3 == 0 else "satisfied",
                                 "note": self._phrase("callback")}, "dispatcher"),
            "close": ({"reason": "declined"}, "supervisor"),  # 实名: the complainant declined
            # Working days (policy [extension] unit), within art. 34's 30 calendar days; the
            # office grants every third in part (3, at most the 5 the smallest request asks).
            "request_extension": ({"days": self.rng.choice([5, 10, 15]),
                                   "reason": self._phrase("extension")}, "unit"),
            "approve_extension": ({"days": 3} if i % 3 == 0 else {}, "supervisor"),
        }
        form, actor = forms[action]
        return Event(at, i, action, form, actor)

    def repeats(self, cases: list[PlannedCase], events: list[Event], n: int = 30) -> list[Event]:
        """Repeat complaints about open matters: linked to their case, never a new one."""
        last: dict[int, dt.datetime] = {}
        for e in events:
            last[e.case] = max(last.get(e.case, e.at), e.at)
        out = []
        # Not about a referred matter: its case is out of the clerk's sight (services/scope.py).
        for i in self.rng.sample([i for i, c in enumerate(cases) if c.disposition != "refer"], n):
            until = last[i] if cases[i].closes else self.as_of - dt.timedelta(minutes=5)
            (at,) = self._spread(cases[i].arrival + dt.timedelta(minutes=1), until, 1)
            out.append(Event(at, i, "repeat", actor="clerk"))
        return out


def _create(case: PlannedCase, at: dt.datetime, phone_suffix: str = "") -> CaseCreate:
    text = case.text
    return CaseCreate(
        office_code=case.office.code, title=text.title, summary=text.summary, category=text.category,
        channel="phone", priority=priority_of(text.category),
        complainant_name=text.complainant_name, complainant_phone=text.complainant_phone + phone_suffix,
        complainant_real_name=True, subject_name=text.subject_name, subject_kind="unit",
        subject_org_code=case.subject.code, received_at=at,
    )


def build_demo(ctx: ServiceContext, *, seed: int = 2023, fresh: bool = True, progress: Any = None) -> str:
    """Build the demo database; returns a one-line summary. Raises DemoMismatch if a figure is off."""
    if fresh:
        SQLModel.metadata.drop_all(ctx.engine)
        SQLModel.metadata.create_all(ctx.engine)
    install_orgs(ctx.engine, load_orgs())
    planner = Planner(seed)
    cases = planner.plan_cases()
    events = planner.events(cases)
    events += planner.repeats(cases, events)
    events.sort(key=lambda e: (e.at, e.case))

    clock = SimulatedClock(planner.start)
    sim = dataclasses.replace(ctx, clock=clock, policy=demo_policy(ctx.policy, planner.fig))
    mornings = sweep_times(planner)
    swept: Counter[str] = Counter()

    def sweep_until(at: dt.datetime) -> None:
        while mornings and mornings[0] <= at:
            clock.set(mornings.pop(0))
            for step, n in run_deadline_sweep(sim).steps.items():
                swept[step.split("+")[0]] += n  # remind_progress+2 is a remind_progress
    service = CaseService(sim)
    numbers: dict[int, str] = {}
    units: dict[int, int | None] = {}
    departments: dict[int, int | None] = {}  # 二次交办: the bureau a government passed the case to
    people = planner.fig["people"]
    actors = {role: Actor(people[role], role) for role in ("clerk", "dispatcher", "supervisor")}
    counts: Counter[str] = Counter()
    track = _tracker(progress, len(events))
    for event in events:
        sweep_until(event.at)
        clock.set(event.at)
        if event.action in ("register", "repeat"):
            result = service.register(_create(cases[event.case], event.at), actor=actors["clerk"])
            if result.linked != (event.action == "repeat"):
                raise DemoMismatch(f"case {event.case}: {event.action} linked={result.linked}")
            numbers[event.case] = result.case.number
            counts[event.action] += 1
        else:
            unit_id = (departments.get(event.case) if event.actor == "department"
                       else units.get(event.case))
            actor = (Actor(people["unit_staff"].format(unit=ctx.orgs.by_id(unit_id).name), "unit", unit_id)
                     if event.actor in ("unit", "department") and unit_id is not None
                     else actors[event.actor])
            case = service.act(numbers[event.case], event.action, actor=actor, form=event.form)
            units[event.case] = case.unit_id
            departments[event.case] = case.delegate_id
            counts[event.action] += 1
            if case.sign_due_on is not None and case.unit_id is not None:  # the unit signs for it (签收)
                signer = Actor(people["unit_staff"].format(unit=ctx.orgs.by_id(case.unit_id).name), "unit",
                               case.unit_id)
                service.act(numbers[event.case], "sign_for", actor=signer)
                counts["sign_for"] += 1
        track()
    sweep_until(planner.as_of)
    _verify(ctx, planner)
    text = ctx.labels.text
    item = text["demo_pressure_item"]
    pressure = text["list_sep"].join(item.format(action=ctx.labels.of("actions", step), n=n)
                                     for step, n in sorted(swept.items()))
    return text["demo_summary"].format(cases=counts["register"], actions=sum(counts.values()),
                                       repeats=counts["repeat"], sweeps=len(sweep_times(planner)),
                                       pressure=pressure or text["demo_no_ladder_step"],
                                       as_of=planner.fig["as_of"])


def demo_policy(policy: Policy, fig: dict[str, Any]) -> Policy:
    """The policy with the ladder steps the demo leaves to people's decision in "propose" mode."""
    propose = set(fig["engine"]["propose"])
    steps = [s.model_copy(update={"mode": "propose"}) if s.action in propose else s
             for s in policy.ladder.steps]
    return policy.model_copy(update={"ladder": policy.ladder.model_copy(update={"steps": steps})})


def sweep_times(planner: Planner) -> list[dt.datetime]:
    """Each simulated day's sweep, from the first day to the last (figures.toml [engine])."""
    hour, minute = (int(x) for x in planner.fig["engine"]["sweep_at"].split(":"))
    day, last = local_date(planner.start), local_date(planner.as_of)
    times = []
    while day <= last:
        at = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)
        if planner.start <= at <= planner.as_of:
            times.append(at)
        day += dt.timedelta(days=1)
    return times


def _tracker(progress: Any, total: int) -> Any:
    if progress is None:
        return lambda: None
    from rich.progress import Progress

    bar = Progress(console=progress, transient=True)
    bar.start()
    task = bar.add_task("demo", total=total)

    def advance() -> None:
        bar.advance(task)
        if bar.tasks[0].completed >= total:
            bar.stop()

    return advance


def _verify(ctx: ServiceContext, planner: Planner) -> None:
    with Session(ctx.engine) as session:
        by_level = dict(session.exec(select(Case.level, func.count()).group_by(Case.level)).all())
        closed = dict(session.exec(select(Case.level, func.count()).where(Case.state == "closed")
                                   .group_by(Case.level)).all())
        disp = Counter({(lvl, d): n for lvl, d, n in session.exec(
            select(Case.level, Case.disposition, func.count()).group_by(Case.level, col(Case.disposition)))})
        orgs = session.exec(select(func.count()).select_from(Org)).one()
        undisposed = session.exec(select(func.count()).select_from(Case)
                                  .where(col(Case.disposition).is_(None))).one()
        referred = col(Case.disposition) == "refer"
        misfiled = session.exec(select(func.count()).select_from(Case).where(
            referred != col(Case.category).in_(MISCONDUCT))).one()
    for level, spec in planner.fig["levels"].items():
        checks = [("received", by_level.get(level, 0), spec["received"]),
                  ("closed", closed.get(level, 0), sum(spec["closed"].values()))]
        checks += [(f"disposition {d}", disp[(level, d)], n) for d, n in spec["dispositions"].items()]
        for what, got, want in checks:
            if got != want:
                raise DemoMismatch(f"{level} {what}: built {got}, seed says {want}")
    if undisposed or not orgs:
        raise DemoMismatch(f"{undisposed} cases left undisposed")
    if misfiled:
        raise DemoMismatch(f"{misfiled} cases referred without misconduct, or misconduct not referred")
