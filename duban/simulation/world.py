"""The synthetic world a simulation runs in: arrivals, and how units and the office behave.

Everything is drawn from random generators seeded per case (and per unit), never from one
shared stream, so two simulations under two policies see the same complaints, the same units
and the same base behaviour; what differs is what the policy's pressure makes of them.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from duban.clock import SHANGHAI
from duban.demo.orgs import OrgSpec, load_orgs
from duban.demo.texts import CaseTextGenerator, priority_of, units_for
from duban.models import CaseCreate

# Share of cases received at each level (seed 000: 774 of 1,481 at province level).
LEVEL_SHARE = {"province": 0.52, "city": 0.30, "county": 0.18}
# Dispositions at province level (seed 000): transfer 693, supervise 46, key-supervise 5, refer 30.
DISPOSITION_WEIGHT = {"transfer": 693, "supervise": 46, "key_supervise": 5, "refer": 30}
LATE_UNIT_SHARE = 0.25
# Of the late units, the share that shrugs off reminders, copy notices and work reminders and
# moves only for an interview or a public notice (the seeds' "不负责任、糊弄应付").
STUBBORN_SHARE = 0.3
STUBBORN_HEEDS = ("interview", "public_notice")
# How soon (working days) a unit that feels a ladder step reports, at the latest.
RESPONSE = {"remind": 8, "copy_notice": 5, "work_reminder": 3, "interview": 2, "public_notice": 1}


def rng_for(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(str(k) for k in (seed, *key)))


@dataclass(frozen=True)
class Arrival:
    index: int
    create: CaseCreate
    disposition: str
    unit_code: str | None


@dataclass(frozen=True)
class UnitProfile:
    late: bool
    # Share of the time limit a unit takes, before pressure: below 1 is on time.
    low: float
    high: float
    responsive: float  # chance that a ladder step makes it hurry
    heeds: tuple[str, ...] = tuple(RESPONSE)  # the ladder steps it may hurry for
    overrun: tuple[int, int] | None = None  # working days it runs past the limit, left alone

    def factor(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


class World:
    """Orgs, texts and behaviour for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.orgs = load_orgs()
        self.by_code = {o.code: o for o in self.orgs}
        self.children: dict[str, list[OrgSpec]] = {}
        for org in self.orgs:
            if org.parent_code:
                self.children.setdefault(org.parent_code, []).append(org)
        self.offices = {lvl: [o for o in self.orgs if o.kind == "office" and o.level == lvl]
                        for lvl in LEVEL_SHARE}

    def arrivals_on(self, day: dt.date, per_day: float, start_index: int) -> list[Arrival]:
        """The complaints received on a working day (a Poisson number of them)."""
        rng = rng_for(self.seed, "arrivals", day.isoformat())
        n = _poisson(rng, per_day)
        return [self._arrival(start_index + i, day) for i in range(n)]

    def _kids(self, code: str, kind: str) -> list[OrgSpec]:
        return [o for o in self.children.get(code, []) if o.kind == kind]

    def _arrival(self, index: int, day: dt.date) -> Arrival:
        rng = rng_for(self.seed, "case", index)
        texts = CaseTextGenerator(rng.randrange(1 << 30))
        level = rng.choices(list(LEVEL_SHARE), weights=list(LEVEL_SHARE.values()))[0]
        office = rng.choice(self.offices[level])
        disposition = rng.choices(list(DISPOSITION_WEIGHT), weights=list(DISPOSITION_WEIGHT.values()))[0]
        # Only complaints about officials' conduct go to the discipline commission.
        category = texts.choose_category(misconduct=disposition == "refer")
        region = office
        below = self._kids(office.code, "office")
        if below and rng.random() < 0.7:
            region = rng.choice(below)
        # The subject is a unit whose line of work the complaint is (texts.toml `units`), or the
        # region's government where it has no unit of that kind.
        government = self._kids(region.code, "government")
        wanted = units_for(category, [o for o in self.children.get(region.code, [])
                                      if o.kind in ("bureau", "department", "government")])
        subject = rng.choice(wanted) if wanted else (government[0] if government else None)
        unit = rng.choice([subject, government[0]]) if subject and government else subject
        text = texts.make(category, region_name=region.region_name,
                          unit_name=subject.name if subject else region.name)
        hour = rng.uniform(8.5, 17.5)
        received = dt.datetime.combine(day, dt.time(int(hour), int(hour % 1 * 60)),
                                       tzinfo=SHANGHAI)
        create = CaseCreate(
            office_code=office.code, title=text.title, summary=text.summary, category=category,
            channel=rng.choice(["phone", "phone", "phone", "online", "letter", "visit"]),
            priority=priority_of(category), complainant_name=text.complainant_name,
            complainant_phone=text.complainant_phone, complainant_real_name=rng.random() < 0.3,
            complainant_consent=rng.random() < 0.1, subject_name=text.subject_name,
            subject_org_code=subject.code if subject else None, received_at=received,
        )
        return Arrival(index, create, disposition,
                       None if disposition == "refer" else (unit.code if unit else None))

    def profile(self, unit_code: str) -> UnitProfile:
        rng = rng_for(self.seed, "unit", unit_code)
        if rng.random() < LATE_UNIT_SHARE:
            if rng.random() < STUBBORN_SHARE:
                return UnitProfile(True, 1.0, 1.0, responsive=0.8, heeds=STUBBORN_HEEDS,
                                   overrun=(8, 30))
            return UnitProfile(True, 0.9, 2.4, responsive=0.7)
        return UnitProfile(False, 0.3, 0.95, responsive=0.95)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1

