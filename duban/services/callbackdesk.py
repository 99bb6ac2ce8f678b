"""回访工作台: the open callbacks and revisits a callback officer works through.

The queue of duban.services.callbacks, read for one person: only cases their office holds (calling
back is the office of record's, as record_callback is), filtered to all, the ones given to them
(分派给我, by 分派回访) or the ones given to nobody yet. Titles read through reading.py's door
with the actor, and the complainant's name and phone (whom the officer calls) appear only for
roles policy [privacy] lets see identity; the others read the redacted texts and no person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import bindparam, func, or_, select
from sqlmodel import Session, col

from duban.db import one_statement
from duban.errors import InvalidActionInput, PermissionDenied
from duban.models import CallbackTask, Case, Org
from duban.services.context import Actor, ServiceContext
from duban.services.driver import Prepared
from duban.services.persist import WRITE_COLUMNS, fetch_cases
from duban.services.reading import Facts, case_texts, complainants_of
from duban.services.scope import acts_as, region_of

Show = Literal["all", "mine", "unassigned"]
SHOWS: tuple[str, ...] = ("all", "mine", "unassigned")
KINDS = ("callback", "revisit")
ACTION = "record_callback"


@dataclass(frozen=True)
class DeskItem:
    """One open item of the call list, as its reader may read it."""

    id: int
    kind: str
    reason: str
    case_number: str
    state: str
    title: str
    unit: str
    queued_at: dt.datetime
    assignee: str  # "" while nobody was given it
    assigned_at: dt.datetime | None
    person: str  # the complainant's name, "" unless the reader may see identity
    phone: str


def _require(ctx: ServiceContext, actor: Actor) -> None:
    roles = ctx.policy.roles.get(ACTION, [])
    if actor.role not in roles:
        raise PermissionDenied(action=ACTION, role=actor.role, allowed_roles=roles)


def _open_query(session: Session, actor: Actor, show: str, kind: str | None):  # type: ignore[no-untyped-def]
    """Open items whose case's office of record lies in the actor's region, oldest first."""
    if show not in SHOWS:
        raise InvalidActionInput(action=ACTION, field="show", kind="literal_error",
                                 message=f"must be one of {', '.join(SHOWS)}")
    if kind is not None and kind not in KINDS:
        raise InvalidActionInput(action=ACTION, field="kind", kind="literal_error",
                                 message=f"must be one of {', '.join(KINDS)}")
    record = func.coalesce(col(Case.record_office_id), col(Case.office_id))
    query = (select(CallbackTask).join(Case, col(CallbackTask.case_id) == col(Case.id))
             .where(col(CallbackTask.status) == "open"))
    region = region_of(session, actor)
    if region is not None:
        offices = select(col(Org.id)).where(or_(col(Org.code) == region, col(Org.code).like(region + "-%")))
        query = query.where(record.in_(offices))
    if show == "mine":
        query = query.where(col(CallbackTask.assignee) == actor.name)
    elif show == "unassigned":
        query = query.where(or_(col(CallbackTask.assignee) == "", col(CallbackTask.assignee).is_(None)))
    if kind:
        query = query.where(col(CallbackTask.kind) == kind)
    return query.order_by(col(CallbackTask.id))


def _in_hand(session: Session, actor: Actor, show: str, kind: str | None,
             limit: int | None = None) -> list[tuple[CallbackTask, Case]]:
    """The open items with their cases (no raw text loaded) that `actor`'s office holds, read a
    page at a time until `limit` are found (or all of them)."""
    query = _open_query(session, actor, show, kind)
    page = max(limit or 0, 200)
    out: list[tuple[CallbackTask, Case]] = []
    offset = 0
    while limit is None or len(out) < limit:
        tasks = list(session.scalars(query.offset(offset).limit(page)))
        if not tasks:  # no page of cases to read (the navigation asks on every page, mostly for none)
            break
        cases = {c.id: c for c in fetch_cases(session, select(*WRITE_COLUMNS).where(
            col(Case.id).in_(sorted({t.case_id for t in tasks}))), for_write=False)}
        # acts_as: the referral rule besides the region (a referred case only its referring office reads)
        out += [(t, cases[t.case_id]) for t in tasks if acts_as(session, actor, cases[t.case_id]) == "office"]
        if len(tasks) < page:
            break
        offset += page
    return out[:limit] if limit is not None else out


def callback_desk(ctx: ServiceContext, *, actor: Actor, show: str = "all", kind: str | None = None,
                  limit: int = 100) -> list[DeskItem]:
    """The open items `actor` may work on, oldest first: PermissionDenied for a role that records
    no callbacks; `show` is all, mine (given to `actor`) or unassigned."""
    _require(ctx, actor)
    with Session(ctx.engine) as session:
        found = _in_hand(session, actor, show, kind, limit)
        ids = sorted({case.id for _, case in found if case.id is not None})
        texts = case_texts(session, ctx, ids, actor=actor)
        people = complainants_of(session, ctx, [Facts.of(case) for _, case in found], actor=actor)
        out = []
        for task, case in found:
            assert case.id is not None
            person = people.get(case.id)
            unit = ctx.orgs.by_id(case.unit_id).name if case.unit_id is not None else ""
            out.append(DeskItem(id=task.id or 0, kind=task.kind, reason=task.reason, case_number=case.number,
                                state=case.state, title=texts.get(case.id, {}).get("title", ""), unit=unit,
                                queued_at=task.queued_at, assignee=task.assignee or "",
                                assigned_at=task.assigned_at, person=person.name if person else "",
                                phone=(person.phone or "") if person else ""))
        return out


# Whether any open item was given to this name at all: the navigation asks on every page, and
# mostly nothing was, so the scoped query and its cases are read only when something was.
_ANY_GIVEN = Prepared(select(col(CallbackTask.id)).where(
    col(CallbackTask.status) == "open", col(CallbackTask.assignee) == bindparam("name")).limit(1))


def my_open_callbacks(ctx: ServiceContext, *, actor: Actor) -> int:
    """How many open items were given to `actor` (the navigation's count); 0 for other roles."""
    if actor.role not in ctx.policy.roles.get(ACTION, []):
        return 0
    with one_statement(ctx.engine).connect() as connection:
        if _ANY_GIVEN.scalar(connection, {"name": actor.name}) is None:
            return 0
    with Session(ctx.engine) as session:
        return len(_in_hand(session, actor, "mine", None))
