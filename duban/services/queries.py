"""What lists share: the row a list shows, the filter, and an actor's scope as a filter.

Reading itself (lists, case pages, texts) goes through duban.services.reading, the one door.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from duban.config.policy import get_policy
from duban.deadlines import NO_COLOUR, counted_deadline, warning_colour, workdays_left
from duban.models import (
    Case,
)
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.scope import UNDER_REVIEW, _orgs, region_of, region_orgs
from duban.states.definition import HANDLING_STATES


@dataclass
class CaseRow:
    id: int
    number: str
    title: str
    state: str
    disposition: str | None
    priority: str
    level: str
    office: str
    unit: str | None
    deadline_kind: str | None
    deadline_on: dt.date | None
    provisional: bool
    warning: str
    workdays_left: int | None
    return_count: int
    repeat_count: int
    received_at: dt.datetime
    version: int
    decline_reason: str | None = None  # 不予受理: why, while the case is not accepted
    # 签收: the handling unit has yet to sign for the case (by sign_due_on).
    unsigned: bool = False
    sign_due_on: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # flat: asdict's deep copy is per-row work (docs/bench.md)


@dataclass
class CaseFilter:
    state: str | None = None
    disposition: str | None = None
    level: str | None = None
    unit_id: int | None = None
    office_prefix: str | None = None  # org code prefix: a city sees GS-LZ and everything under it
    # The orgs of office_prefix's region, by id (the directory's, set with it by scope_for): the
    # clauses name the cases' own org columns, which their indexes serve, not the orgs' codes.
    region_ids: list[int] | None = None
    region_org_id: int | None = None  # the org whose code is office_prefix
    # Only the cases whose office of record lies within office_prefix, or that the office itself
    # handles: a work queue, where an office finds what it may act on, not what an office above
    # took over from it (提级直办).
    held: bool = False
    # 复查 / 复核 awaiting a decision by an office within office_prefix (the reviewing office's
    # queue, duban.services.reviews): cases under review whose reviewing office lies there.
    reviewing: bool = False
    priority: str | None = None
    warning: str | None = None
    overdue: bool | None = None
    open_only: bool = False
    text: str | None = None
    # 待签收: handled by a unit that has not signed for it yet; 退单: a unit's request to hand it
    # back awaits the dispatcher.
    unsigned: bool = False
    return_pending: bool = False
    # Referred cases (移交纪检监察机关, services/scope.py): hidden from the actor, or shown only
    # when referred by one of these offices (None: all of them).
    hide_referred: bool = False
    # 二次交办: only the cases whose department's report waits for the government's review.
    delegate_review: bool = False
    referrals_from: list[int] | None = None
    limit: int = 100
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def scope_for(session: Session, actor: Actor) -> CaseFilter:
    """The cases an actor may see: a unit its own; an office its region and below; a citizen none
    (it reads only the case its query code proves); else all."""
    if actor.role == "citizen":
        return CaseFilter(unit_id=-1)
    if actor.role == "unit":
        return CaseFilter(unit_id=actor.org_id if actor.org_id is not None else -1)
    region = region_of(session, actor)  # from the org directory held in memory: no query
    within = region_orgs(_orgs(session), region) if region else []
    flt = CaseFilter()
    if region:
        flt = CaseFilter(office_prefix=region, region_ids=[o.id for o in within],
                         region_org_id=next((o.id for o in within if o.code == region), None))
    if actor.role in ("admin", "engine"):
        return flt
    if actor.role not in get_policy().referral.office_roles:
        flt.hide_referred = True
    elif region:
        flt.referrals_from = [o.id for o in within if o.kind == "office"]
    return flt


def _region_ids(flt: CaseFilter) -> list[int]:
    if flt.region_ids is None:  # a filter made by hand, not by scope_for: refuse rather than widen
        raise ValueError(f"a region {flt.office_prefix!r} without its orgs' ids (queries.scope_for)")
    return flt.region_ids


def scope_clauses(flt: CaseFilter) -> list[Any]:
    """The filter's scope (a unit, or a region: its orgs' ids) as where-clauses on the cases' own
    columns."""
    clauses: list[Any] = []
    if flt.unit_id is not None:  # a commission also sees the cases referred to it, a department
        # those passed on to it (二次交办); a case under review (复查, 复核) is the reviewing office's,
        # not its unit's or department's (services/scope.py).
        held = or_(col(Case.unit_id) == flt.unit_id, col(Case.delegate_id) == flt.unit_id)
        clauses.append(or_(and_(held, col(Case.state).notin_(UNDER_REVIEW)),
                           col(Case.referred_to_id) == flt.unit_id))
    if flt.delegate_review:  # reports of the unit's departments waiting for its review
        clauses.append(and_(col(Case.delegate_report_pending).is_(True), col(Case.unit_id) == flt.unit_id))
    not_referred = or_(col(Case.disposition).is_(None), col(Case.disposition) != "refer")
    if flt.hide_referred:
        clauses.append(not_referred)
    elif flt.referrals_from is not None:
        clauses.append(or_(not_referred, col(Case.referred_from_id).in_(flt.referrals_from)))
    if flt.office_prefix:
        region = _region_ids(flt)
        received = col(Case.office_id).in_(region)
        clauses.append(or_(received, col(Case.unit_id).in_(region)))
        if flt.held:
            acts = [and_(col(Case.record_office_id).is_(None), received),
                    col(Case.record_office_id).in_(region)]
            if flt.region_org_id is not None:  # (never `unit_id IS NULL`: that would widen)
                acts.append(col(Case.unit_id) == flt.region_org_id)
            clauses.append(or_(*acts))
    if flt.reviewing:
        clauses.append(col(Case.state).in_(UNDER_REVIEW))
        if flt.office_prefix:
            clauses.append(col(Case.review_office_id).in_(_region_ids(flt)))
    return clauses


def scope_branches(flt: CaseFilter) -> list[Any] | None:
    """Conditions each on one of the cases' org columns, whose union holds the filter's scope (a
    unit's cases, or a region's), or None when it has no such bound (the province: every case).
    Each is answered by its index alone, without reading a case's row: what a search counts to
    learn how large a scope is before choosing how to search it."""
    if flt.unit_id is not None:
        return [col(Case.unit_id) == flt.unit_id, col(Case.delegate_id) == flt.unit_id,
                col(Case.referred_to_id) == flt.unit_id]
    if flt.office_prefix:
        region = _region_ids(flt)
        return [col(Case.office_id).in_(region), col(Case.unit_id).in_(region)]
    return None


def case_colour(ctx: ServiceContext, case: Any, org_code: str, today: dt.date) -> str:
    """The warning colour a case shows today: its counted deadline on the calendar of `org_code`
    (its unit's, else its office's region), asked only when it has a deadline (a colour list
    works out the colour of up to ten thousand cases, most of them closed: no deadline)."""
    deadline = counted_deadline(case.deadline_on, case.missed_deadline_on)
    if deadline is None:
        return NO_COLOUR
    return warning_colour(deadline_on=deadline, deadline_start=case.deadline_start, today=today,
                          calendar=ctx.calendar_for(org_code), policy=ctx.policy)


def row_of(ctx: ServiceContext, case: Any, office_name: str, office_code: str, unit_name: str | None,
           unit_code: str | None, today: dt.date, *, title: str | None = None) -> CaseRow:
    """The list row of a case (an ORM case or a Core row with the same names); `title` when the
    case was loaded without its texts (an action's case: persist.WRITE_COLUMNS)."""
    calendar = ctx.calendar_for(unit_code or office_code)
    colour = case_colour(ctx, case, unit_code or office_code, today)
    left = (workdays_left(calendar, today=today, deadline_on=case.deadline_on)
            if case.deadline_on else None)
    assert case.id is not None
    return CaseRow(
        id=case.id, number=case.number, title=case.title if title is None else title, state=case.state,
        disposition=case.disposition, priority=case.priority, level=case.level, office=office_name,
        unit=unit_name, deadline_kind=case.deadline_kind, deadline_on=case.deadline_on,
        provisional=case.deadline_provisional, warning=colour, workdays_left=left,
        return_count=case.return_count, repeat_count=case.repeat_count,
        received_at=case.received_at, version=case.version,
        decline_reason=getattr(case, "decline_reason", None),
        unsigned=awaits_signing(case.state, getattr(case, "sign_due_on", None)),
        sign_due_on=getattr(case, "sign_due_on", None),
    )


_HANDLING = frozenset(s.value for s in HANDLING_STATES)


def awaits_signing(state: str, sign_due_on: dt.date | None) -> bool:
    """待签收: handed to a unit that has not signed for it, and still in its hands."""
    return sign_due_on is not None and state in _HANDLING


def orgs_of(ctx: ServiceContext, case: Case) -> tuple[OrgInfo, OrgInfo | None]:
    office = ctx.orgs.by_id(case.office_id)
    return office, ctx.orgs.by_id(case.unit_id) if case.unit_id else None


def org_summary(org: OrgInfo | None) -> dict[str, Any] | None:
    return {"code": org.code, "name": org.name, "level": org.level} if org else None


def count_by(ctx: ServiceContext, column: Any, *, where: Any = None) -> dict[str, int]:
    with Session(ctx.engine) as session:
        query = select(column, func.count()).group_by(column)
        if where is not None:
            query = query.where(where)
        return {key: n for key, n in session.exec(query)}
