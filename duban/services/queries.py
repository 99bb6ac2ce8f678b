"""Reading cases for lists and case pages. Never writes; applies scope and confidentiality."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from duban.deadlines import warning_colour, workdays_left
from duban.errors import CaseNotFound
from duban.models import (
    AuditEvent,
    Callback,
    Case,
    Complainant,
    Extension,
    HandlingReport,
    Org,
    RepeatContact,
    Review,
    Subject,
)
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.privacy import OFFICE_ROLES, complainant_view, identifiers, may_see_complainant, redact
from duban.services.scope import may_see
from duban.states.definition import OPEN_STATES


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)  # flat: dataclasses.asdict's deep copy cost 0.1 ms a row


@dataclass
class CaseFilter:
    state: str | None = None
    disposition: str | None = None
    level: str | None = None
    unit_id: int | None = None
    office_prefix: str | None = None  # org code prefix: a city sees GS-LZ and everything under it
    priority: str | None = None
    warning: str | None = None
    overdue: bool | None = None
    open_only: bool = False
    text: str | None = None
    limit: int = 100
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def scope_for(session: Session, actor: Actor) -> CaseFilter:
    """The cases an actor may see: a unit its own; an office its region and below; else all."""
    if actor.role == "unit":
        return CaseFilter(unit_id=actor.org_id if actor.org_id is not None else -1)
    if actor.org_id is not None:
        org = session.get(Org, actor.org_id)
        if org is not None and org.level != "province":
            return CaseFilter(office_prefix=org.code)
    return CaseFilter()


def scope_clauses(flt: CaseFilter, office: Any, unit: Any) -> list[Any]:
    """The filter's scope (a unit, or a region by org code) as where-clauses on a query that joins
    the receiving office as `office` and the handling unit as `unit` (aliases of Org)."""
    clauses: list[Any] = []
    if flt.unit_id is not None:
        clauses.append(Case.unit_id == flt.unit_id)
    if flt.office_prefix:
        prefix = flt.office_prefix
        clauses.append(or_(office.code == prefix, col(office.code).startswith(prefix + "-"),
                           unit.code == prefix, col(unit.code).startswith(prefix + "-")))
    return clauses


# The receiving office and the handling unit, joined to a case. Built once: a new alias builds
# its column collections again, which cost 0.7 ms, more than the rest of a one-case query.
_OFFICE = aliased(Org, name="office")
_UNIT = aliased(Org, name="unit")
# What a row shows, read as columns: building a Case object per row cost more than the query.
_ROW_COLUMNS = [getattr(Case, name) for name in (
    "id", "number", "title", "state", "disposition", "priority", "level", "deadline_kind",
    "deadline_start", "deadline_on", "deadline_provisional", "return_count", "repeat_count",
    "received_at", "version")]


def list_cases(ctx: ServiceContext, flt: CaseFilter, *, viewer: Actor | None = None) -> list[CaseRow]:
    """Cases in work order: priority cases first, then by deadline (nearest first).

    With a `viewer` who may not see complainants, a complainant's name or phone written into a
    title is masked (scope still comes from `flt`: start it from `scope_for`).
    """
    today = ctx.today()
    office, unit = _OFFICE, _UNIT
    query = (
        select(*_ROW_COLUMNS, office.name, office.code, unit.name, unit.code)  # type: ignore[call-overload]
        .join(office, col(Case.office_id) == office.id)
        .outerjoin(unit, col(Case.unit_id) == unit.id)
    )
    if flt.state:
        query = query.where(Case.state == flt.state)
    if flt.open_only:
        query = query.where(col(Case.state).in_(OPEN_STATES))
    if flt.disposition:
        query = query.where(Case.disposition == flt.disposition)
    if flt.level:
        query = query.where(Case.level == flt.level)
    for clause in scope_clauses(flt, office, unit):
        query = query.where(clause)
    if flt.priority:
        query = query.where(Case.priority == flt.priority)
    if flt.overdue is True:
        query = query.where(col(Case.deadline_on) < today)
    if flt.text:
        like = f"%{flt.text}%"
        query = query.where(or_(col(Case.title).like(like), col(Case.number).like(like)))
    query = query.order_by(
        col(Case.state) == "closed", col(Case.priority_rank), col(Case.deadline_on).is_(None),
        col(Case.deadline_on), col(Case.id),
    )
    rows: list[CaseRow] = []
    with Session(ctx.engine) as session:
        # Warning colours depend on the calendar, so the colour filter runs after the query.
        page = query if flt.warning else query.offset(flt.offset).limit(flt.limit)
        for found in session.connection().execute(page):
            office_name, office_code, unit_name, unit_code = found[-4:]
            row = _row(ctx, found, office_name, office_code, unit_name, unit_code, today)
            if flt.warning and row.warning != flt.warning:
                continue
            rows.append(row)
    if flt.warning:
        rows = rows[flt.offset: flt.offset + flt.limit]
    if viewer is not None and viewer.role not in OFFICE_ROLES and rows:
        with Session(ctx.engine) as session:
            hidden = hidden_identifiers(session, [r.id for r in rows], viewer)
        masked = ctx.labels.text["masked"]
        for row in rows:
            row.title = redact(row.title, hidden.get(row.id, []), masked)
    return rows


def case_row(ctx: ServiceContext, case: Case, *, viewer: Actor | None) -> CaseRow:
    """The list row of a case already in hand (one just registered), masked for `viewer`: no query
    for the office, whose viewers see every complainant."""
    office, unit = _orgs_of(ctx, case)
    row = _row(ctx, case, office.name, office.code, unit.name if unit else None,
               unit.code if unit else None, ctx.today())
    if viewer is None or viewer.role not in OFFICE_ROLES:
        with Session(ctx.engine) as session:
            row.title = redact(row.title, _hidden_for(session, case, viewer), ctx.labels.text["masked"])
    return row


def hidden_identifiers(session: Session, case_ids: list[int], viewer: Actor | None) -> dict[int, list[str]]:
    """Per case, the identifying strings of every complainant (first or repeat) `viewer` may not see."""
    found: dict[int, list[str]] = {}
    if viewer is not None and viewer.role in OFFICE_ROLES:
        return found  # the office sees every complainant: no need to read them
    first = select(Case.id, Complainant).join(Complainant, col(Case.complainant_id) == Complainant.id)
    repeat = select(RepeatContact.case_id, Complainant).join(
        Complainant, col(RepeatContact.complainant_id) == Complainant.id)
    for query, key in ((first, Case.id), (repeat, RepeatContact.case_id)):
        for case_id, complainant in session.exec(query.where(col(key).in_(case_ids))):
            if case_id is not None and not may_see_complainant(viewer, complainant):
                found.setdefault(case_id, []).extend(identifiers(complainant))
    return found


def _row(ctx: ServiceContext, case: Any, office_name: str, office_code: str, unit_name: str | None,
         unit_code: str | None, today: dt.date) -> CaseRow:
    calendar = ctx.calendar_for(unit_code or office_code)
    colour = warning_colour(deadline_on=case.deadline_on, deadline_start=case.deadline_start,
                            today=today, calendar=calendar, policy=ctx.policy)
    left = (workdays_left(calendar, today=today, deadline_on=case.deadline_on)
            if case.deadline_on else None)
    assert case.id is not None
    return CaseRow(
        id=case.id, number=case.number, title=case.title, state=case.state,
        disposition=case.disposition, priority=case.priority, level=case.level, office=office_name,
        unit=unit_name, deadline_kind=case.deadline_kind, deadline_on=case.deadline_on,
        provisional=case.deadline_provisional, warning=colour, workdays_left=left,
        return_count=case.return_count, repeat_count=case.repeat_count,
        received_at=case.received_at, version=case.version,
    )


_LOAD_CASE = {by: select(Case, Subject, Complainant)  # type: ignore[call-overload]
              .outerjoin(Subject, col(Case.subject_id) == Subject.id)
              .outerjoin(Complainant, col(Case.complainant_id) == Complainant.id)
              .where(getattr(Case, by) == bindparam("ref"))
              for by in ("id", "number")}

# The collections of a case page, oldest first. Timeline and reports grow by one with every
# progress report (weekly on a key-supervised case), so the API shows only the newest of them.
HISTORY: dict[str, tuple[Any, Any]] = {
    "timeline": (AuditEvent, AuditEvent.seq),
    "reports": (HandlingReport, HandlingReport.id),
    "reviews": (Review, Review.id),
    "callbacks": (Callback, Callback.id),
    "extensions": (Extension, Extension.id),
}
BOUNDED = ("timeline", "reports")


def _load_visible(session: Session, ref: int | str, viewer: Actor | None
                  ) -> tuple[Case, Subject | None, Complainant | None]:
    """The case with its subject and complainant in one query; CaseNotFound when it is not there
    or not the viewer's to see (nobody learns that cases outside their scope exist)."""
    by = "id" if isinstance(ref, int) else "number"
    found = session.exec(_LOAD_CASE[by], params={"ref": ref}).first()  # type: ignore[call-overload]
    if found is None or (viewer is not None and not may_see(session, viewer, found[0])):
        raise CaseNotFound(ref)
    case, subject, complainant = found
    return case, subject, complainant


def _hidden_for(session: Session, case: Case, viewer: Actor | None) -> list[str]:
    """What to cut out of this case's texts for `viewer`."""
    assert case.id is not None
    return hidden_identifiers(session, [case.id], viewer).get(case.id, [])


def _history_sql(kind: str, shape: str) -> Any:
    """The prebuilt statement for one collection (built once: building and keying a statement
    on every call cost as much as running it). shape: "all", "page" or "newest"."""
    key = (kind, shape)
    statement = _HISTORY_SQL.get(key)
    if statement is None:
        model, order = HISTORY[kind]
        statement = select(model.__table__).where(model.case_id == bindparam("case_id"))
        if shape == "newest":
            statement = statement.order_by(col(order).desc()).limit(bindparam("limit"))
        else:
            statement = statement.order_by(order)
        if shape == "page":
            statement = statement.limit(bindparam("limit")).offset(bindparam("offset"))
        statement = _HISTORY_SQL[key] = statement
    return statement


_HISTORY_SQL: dict[tuple[str, str], Any] = {}


def _history(session: Session, case_id: int, kind: str, *, limit: int | None = None,
             offset: int = 0, newest: bool = False) -> list[dict[str, Any]]:
    """Rows of one collection as plain dicts (Core rows: no ORM objects to build and dump),
    oldest first: all of them, a page, or the newest `limit`."""
    shape = "all" if limit is None else "newest" if newest else "page"
    params = {"case_id": case_id, "limit": limit, "offset": offset}
    rows = [dict(r) for r in session.connection().execute(_history_sql(kind, shape), params).mappings()]
    return rows[::-1] if shape == "newest" else rows


def _count(session: Session, case_id: int, kind: str) -> int:
    model, _ = HISTORY[kind]
    return int(session.exec(select(func.count()).select_from(model)  # type: ignore[call-overload]
                            .where(model.case_id == case_id)).one())


def _orgs_of(ctx: ServiceContext, case: Case) -> tuple[OrgInfo, OrgInfo | None]:
    office = ctx.orgs.by_id(case.office_id)
    return office, ctx.orgs.by_id(case.unit_id) if case.unit_id else None


def _org(org: OrgInfo | None) -> dict[str, Any] | None:
    return {"code": org.code, "name": org.name, "level": org.level} if org else None


def case_detail(ctx: ServiceContext, ref: int | str, *, viewer: Actor | None,
                history: int | None = None) -> dict[str, Any]:
    """Everything on a case page, with the complainant masked for those who may not see it.

    `history` bounds the timeline and the reports to their newest entries (the API's answer:
    the rest is paged by `case_history`); `timeline_total` and `reports_total` count them all.
    """
    from duban.services.cases import CaseService

    with Session(ctx.engine) as session:
        case, subject, complainant = _load_visible(session, ref, viewer)
        office, unit = _orgs_of(ctx, case)
        row = _row(ctx, case, office.name, office.code, unit.name if unit else None,
                   unit.code if unit else None, ctx.today())
        assert case.id is not None
        collections = {kind: _history(session, case.id, kind, limit=history if kind in BOUNDED else None,
                                      newest=history is not None and kind in BOUNDED)
                       for kind in HISTORY}
        totals = {f"{kind}_total": len(collections[kind]) for kind in BOUNDED}
        if history is not None:
            totals["timeline_total"] = max(case.audit_seq, len(collections["timeline"]))
            if len(collections["reports"]) == history:
                totals["reports_total"] = _count(session, case.id, "reports")
        hidden = _hidden_for(session, case, viewer)
        return redact({
            "case": case.model_dump(exclude={"complainant_id", "matter_key", "audit_hash"}),
            "row": row.as_dict(),
            "office": _org(office),
            "unit": _org(unit),
            "subject": subject.model_dump(include={"name", "kind", "resolution"}) if subject else None,
            "complainant": complainant_view(viewer, complainant, ctx.labels.text["masked"]),
            **collections,
            **totals,
            "allowed_actions": CaseService(ctx).allowed_in(session, case, viewer),
        }, hidden, ctx.labels.text["masked"])


def case_history(ctx: ServiceContext, ref: int | str, kind: str, *, viewer: Actor | None,
                 limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of a case's timeline or reports, oldest first, masked as on the case page;
    and how many there are in all."""
    with Session(ctx.engine) as session:
        case, _, _ = _load_visible(session, ref, viewer)
        assert case.id is not None
        items = _history(session, case.id, kind, limit=limit, offset=offset)
        total = case.audit_seq if kind == "timeline" else _count(session, case.id, kind)
        hidden = _hidden_for(session, case, viewer)
        return redact(items, hidden, ctx.labels.text["masked"]), max(total, offset + len(items))


# The columns of a case an action's answer carries (no summary text, no history).
SUMMARY_FACTS = ("number", "title", "state", "disposition", "priority", "level", "received_at",
                 "dispatched_at", "closed_at", "updated_at", "deadline_kind", "deadline_on",
                 "deadline_provisional", "extension_days", "return_count", "repeat_count", "version")


def case_summary(ctx: ServiceContext, ref: int | str, *, viewer: Actor | None) -> dict[str, Any]:
    """Where a case stands, for the caller of an action: state, deadline, warning, who handles it
    and what the viewer may do next. One row read, none of the case's history (that is what
    made answering an action cost six times the action itself)."""
    from duban.services.cases import CaseService

    service = CaseService(ctx)
    with Session(ctx.engine) as session:
        case = service.load_in(session, ref, for_write=False)  # no ORM load: ~half the cost
        if viewer is not None and not may_see(session, viewer, case):
            raise CaseNotFound(ref)
        office, unit = _orgs_of(ctx, case)
        row = _row(ctx, case, office.name, office.code, unit.name if unit else None,
                   unit.code if unit else None, ctx.today())
        facts = {key: getattr(case, key) for key in SUMMARY_FACTS}
        hidden = _hidden_for(session, case, viewer)
        return redact({
            "case": {**facts, "warning": row.warning, "workdays_left": row.workdays_left},
            "office": _org(office),
            "unit": _org(unit),
            "allowed_actions": service.allowed_in(session, case, viewer),
        }, hidden, ctx.labels.text["masked"])


def count_by(ctx: ServiceContext, column: Any, *, where: Any = None) -> dict[str, int]:
    with Session(ctx.engine) as session:
        query = select(column, func.count()).group_by(column)
        if where is not None:
            query = query.where(where)
        return {key: n for key, n in session.exec(query)}
