"""The one door for reading cases: every face (API, pages, CLI, exports, mail, flows) reads here.

Every function takes the reader as a required keyword, `actor`; there is no "sees all" default.
The question "may this actor see who complained?" is asked before a query is built
(`privacy.may_see_identity`, policy `[privacy]`). A reader without the right gets statements that
select the redacted twins (`title_redacted AS title`, …), never the raw texts nor the complainant's
name, phone or address: no later code, template or escaping step can leak what was never read.
For the cases a reader may see in full, a second statement selects the raw texts of those cases
only. Out of scope is "not found", whatever the case's state: `CaseNotFound`, the same answer as
for a number that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    Date,
    Integer,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    or_,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlmodel import Session, col, select

from duban import scopekeys
from duban.batches import batched
from duban.clock import local_date
from duban.deadlines import LATE_COLOUR, NO_COLOUR, SHARE_COLOUR, SOON_COLOUR, last_yellow_deadline
from duban.errors import CaseNotFound, OrgNotFound, PermissionDenied
from duban.models import (
    REQUESTED,
    AuditEvent,
    Callback,
    Case,
    Complainant,
    Decline,
    Extension,
    HandlingReport,
    Objection,
    RepeatContact,
    ReplyRating,
    Review,
    ReviewRequest,
    Subject,
)
from duban.models.base import UTCDateTime
from duban.services import delegation, search
from duban.services.context import Actor, ServiceContext
from duban.services.driver import Prepared, keyed
from duban.services.forms import FORMS
from duban.services.persist import fetch_cases
from duban.services.privacy import complainant_view, may_ever_see_identity, may_see_identity
from duban.services.queries import (
    CaseFilter,
    CaseRow,
    case_colour,
    org_summary,
    orgs_of,
    row_of,
    scope_branches,
    scope_clauses,
    scope_for,
)
from duban.services.querycodes import prove
from duban.services.referrals import latest as latest_referral
from duban.services.referrals import stage as referral_stage
from duban.services.reviews import next_level
from duban.services.routing import avoided_for, office_of_record
from duban.services.scope import CITIZEN, acts_as, may_see, may_see_referral, region_orgs
from duban.services.unitofwork import DubanSession, memo_of
from duban.states.definition import HANDLING_STATES, OPEN_STATES, REFERRAL_ACTIONS, CaseState

T = TypeVar("T")

_CASES: Any = Case.__table__  # type: ignore[attr-defined]
_SUBJECTS: Any = Subject.__table__  # type: ignore[attr-defined]


# What the engine loads of the cases a batch acts on (sweeps, callback sampling): every column
# but the raw texts, which no engine step reads; mail reads them here only for a recipient who
# may see them (`texts_in_hand`).


def redacted_columns(table: Any) -> list[Any]:
    """A table's columns with every raw text left out and its `*_redacted` twin read in its name."""
    out = []
    for column in table.c:
        if column.name.endswith("_redacted"):
            out.append(column.label(column.name.removesuffix("_redacted")))
        elif f"{column.name}_redacted" not in table.c:
            out.append(column)
    return out


def report_title(cases: Any) -> Any:
    """The title a report or board names a case by. Reports go to leaders and by mail: always the
    redacted twin, whoever asks for the report."""
    return cases.c.title_redacted.label("title")


# -- who sees what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rule needs to know of a case (none of it identity)."""

    id: int
    office_id: int
    unit_id: int | None
    delegate_id: int | None = None  # the department it was passed on to (二次交办)

    @classmethod
    def of(cls, case: Case) -> Facts:
        assert case.id is not None
        return cls(case.id, case.office_id, case.unit_id, case.delegate_id)


def _actor_code(ctx: ServiceContext, actor: Actor) -> str | None:
    if actor.org_id is None:
        return None
    try:
        return ctx.orgs.by_id(actor.org_id).code
    except OrgNotFound:
        return ""  # an org that vanished: in no region


_REPEAT_COMPLAINANT = aliased(Complainant, name="repeat_complainant")
_NOT_AGREED = (select(RepeatContact.id)
               .join(_REPEAT_COMPLAINANT, col(RepeatContact.complainant_id) == _REPEAT_COMPLAINANT.id)
               .where(RepeatContact.case_id == Case.id, col(_REPEAT_COMPLAINANT.consent_disclose).is_(False)))
_CONSENTED = (select(Case.id).join(Complainant, col(Case.complainant_id) == Complainant.id)
              .where(col(Case.id).in_(bindparam("ids", expanding=True)),
                     col(Complainant.consent_disclose).is_(True), ~exists(_NOT_AGREED)))


def _consented(session: Session, ids: list[int]) -> set[int]:
    """Cases whose complainants all agreed that the handling unit may see them (remembered for
    the session: a sweep asks once per chunk, see `preload_consent`)."""
    cache = memo_of(session).consent
    missing = sorted({i for i in ids if i not in cache})
    if missing:
        agreed = {i for (i,) in session.connection().execute(_CONSENTED, {"ids": missing})}
        cache.update({i: i in agreed for i in missing})
    return {i for i in ids if cache[i]}


def preload_consent(session: Session, ids: list[int]) -> None:
    """Ask many cases' consent, and whether their complainants gave their real names, at once
    (a sweep's chunk), for `visible_ids` and `texts_in_hand` to find."""
    people = memo_of(session).people
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        _consented(session, chunk)
        for person in session.connection().execute(_REAL_NAMES, {"ids": chunk}):
            people[(person.id, False)] = person


_REAL_NAMES = (select(Complainant.id, Complainant.real_name)
               .join(Case, col(Case.complainant_id) == Complainant.id)
               .where(col(Case.id).in_(bindparam("ids", expanding=True))))


def _person(session: Session, complainant_id: int, *, seen: bool) -> Any:
    """The complainant as `complainant_view` needs them: name and phone only when `seen`."""
    people = memo_of(session).people
    key = (complainant_id, seen)
    if key not in people:
        people[key] = session.connection().execute(_PERSON[seen], {"id": complainant_id}).first()
    return people[key]


def visible_ids(session: Session, ctx: ServiceContext, facts: list[Facts], *, actor: Actor,
                consent: bool = True) -> set[int]:
    """The cases among `facts` whose complainants `actor` may see (the rest read redacted).

    `consent=False` for a file that leaves Duban: a complainant's consent lets the handling unit
    see them while it handles the case, not put them in a spreadsheet.
    """
    rule = ctx.policy.privacy
    if not facts or not may_ever_see_identity(rule, actor):
        return set()
    code = _actor_code(ctx, actor)
    agreed: set[int] = set()
    if consent and actor.role in rule.consent_roles and actor.org_id is not None:
        agreed = _consented(session, [f.id for f in facts if actor.org_id in (f.unit_id, f.delegate_id)])
    return {f.id for f in facts
            if may_see_identity(rule, actor, actor_code=code, office_code=ctx.orgs.by_id(f.office_id).code,
                                unit_id=f.unit_id, consent=f.id in agreed, delegate_id=f.delegate_id)}


_RAW_TEXTS = (select(_CASES.c.id, _CASES.c.title, _CASES.c.summary)
              .where(_CASES.c.id.in_(bindparam("ids", expanding=True))))


_RAW_TEXT = Prepared(select(_CASES.c.id, _CASES.c.title, _CASES.c.summary)
                     .where(_CASES.c.id == bindparam("id")))


def _raw_texts(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    if len(ids) == 1:  # one case's answer or page: at driver level, as the case itself was read
        return {r["id"]: (r["title"], r["summary"]) for r in _RAW_TEXT.rows(session, {"id": min(ids)})}
    return {i: (t, s) for i, t, s in session.connection().execute(_RAW_TEXTS, {"ids": sorted(ids)})}


# -- lists -----------------------------------------------------------------------------------

_ROW_COLUMNS = [_CASES.c[name] for name in (
    "id", "number", "state", "disposition", "priority", "level", "deadline_kind",
    "deadline_start", "deadline_on", "deadline_provisional", "return_count", "repeat_count",
    "received_at", "version", "office_id", "unit_id", "missed_deadline_on", "decline_reason",
    "sign_due_on", "delegate_id")] + [
    _CASES.c.title_redacted.label("title")]


_RETURNS_PENDING = select(Objection.case_id).where(Objection.status == REQUESTED)


def _identity_region(ctx: ServiceContext, session: Session, actor: Actor) -> Any | None:
    """Where-clause of the cases an identity role may see in full (received by its office or one
    below: their ids from the directory), or None when it holds none: then no statement of its
    search names a raw text."""
    if actor.org_id is None:
        return true()
    code = _actor_code(ctx, actor)
    if not code:
        return None
    within = [o.id for o in region_orgs(ctx.orgs, code)]
    if len(within) == len(ctx.orgs.all()):  # the province: every case
        return true()
    region = col(Case.office_id).in_(within)
    if session.connection().execute(select(Case.id).where(region).limit(1)).first() is None:
        return None
    return region


def _region(ctx: ServiceContext, session: Session, flt: CaseFilter, actor: Actor) -> Any | None:
    """The identity region of a text search (`_identity_region`), asked once per list: None when
    there is no text, or the reader may see no identity (then only redacted texts are searched)."""
    if not flt.text or actor.role not in ctx.policy.privacy.identity_roles:
        return None
    return _identity_region(ctx, session, actor)


@dataclass
class CasePage:
    """A page of a list and how many cases the whole list holds (exact up to `search.COUNT_CAP`;
    `capped` when there are more)."""

    rows: list[CaseRow]
    total: int
    capped: bool


def _list_query(ctx: ServiceContext, flt: CaseFilter, *, region: Any | None, probe: bool = False,
                searched: bool = True, within: list[Any] | None = None,
                keys: search.Keys = search.NO_KEYS, walked: bool = False) -> Any:
    """The statement of a list: scope, filters and order, without paging. A text search matches
    everyone's redacted texts, and the raw texts and the complainant's name and phone only in
    `region` (`_region`: so a search never tells what a redacted text hides). `probe`: it asks
    each case read (search.text_probe) instead of looking its matches up first; `within` (with
    `probe`: conditions whose union holds the scope, each answered by an index,
    `queries.scope_branches`): the cases they find are tested first, and only those that match
    are read whole.
    `searched=False`: without the text search (the scope a search's own count asks each match
    of). `keys`: what every case of the list holds in the index (search.index_keys). `walked`: read
    by walking the work order (search.filter_clauses)."""
    today = ctx.today()
    # The names of the office and the unit come from the org directory in memory, and a region is
    # its orgs' ids: no org is joined.
    query = select(*_ROW_COLUMNS)  # type: ignore[call-overload]
    query = query.where(*search.state_clauses(ctx.engine.dialect.name, flt))
    if flt.open_only:
        query = query.where(col(Case.state).in_(OPEN_STATES))
    if flt.disposition:
        query = query.where(Case.disposition == flt.disposition)
    if flt.level:
        query = query.where(Case.level == flt.level)
    # The filters before the scope: SQLite tests a row's terms in the order written, and a
    # category's or a date's comparison rejects most rows before the region's IN-lists are asked.
    for clause in search.filter_clauses(flt, today, walked=walked) + scope_clauses(flt):
        query = query.where(clause)
    if flt.priority:
        query = query.where(Case.priority == flt.priority)
    if flt.unsigned:
        query = query.where(col(Case.sign_due_on).is_not(None), col(Case.state).in_(HANDLING_STATES))
    if flt.return_pending:
        query = query.where(col(Case.id).in_(_RETURNS_PENDING))
    # overdue on the running limit, or on one missed before a raise (counted_deadline); red is
    # exactly that, so the colour filter's other values can leave those out before the calendar.
    late = or_(col(Case.deadline_on) < today, col(Case.missed_deadline_on) < today)
    if flt.overdue is True or flt.warning == LATE_COLOUR:
        query = query.where(late)
    elif flt.warning:  # not late, written so that a case without a deadline (NULL) is kept
        query = query.where(*[or_(day.is_(None), day >= today) for day in _DEADLINES])
        due = _due(ctx, flt, today)
        if due is not None:
            query = query.where(col(Case.id).in_(due))
        if flt.warning == SHARE_COLOUR:
            query = query.where(col(Case.deadline_start).is_not(None))
    if flt.text and searched:
        found = search.search_clause(ctx.engine.dialect.name, flt.text, identity_region=region, probe=probe,
                                     keys=keys)
        query = query.where(found if within is None else _found_in(within, found))
    return query.order_by(*search.order_by(flt))


_DEADLINES = (col(Case.deadline_on), col(Case.missed_deadline_on))  # a counted deadline is one of them


def _due(ctx: ServiceContext, flt: CaseFilter, today: Any) -> Any | None:
    """SELECT the ids of the cases that may show the colour the list asks for by their deadlines
    alone, found by the deadlines' indexes (a deadline not passed; yellow: due by the last day
    that can be yellow today), or None when the colour needs no deadline (none) or is not asked."""
    if not flt.warning or flt.warning in (LATE_COLOUR, NO_COLOUR):
        return None
    due = [day >= today for day in _DEADLINES]
    if flt.warning == SOON_COLOUR:
        until = last_yellow_deadline(today, ctx.calendars.fewest_workdays, ctx.policy)
        due = [and_(after, day <= until) for after, day in zip(due, _DEADLINES, strict=True)]
    return union_all(*[select(col(Case.id)).where(d) for d in due])


def _row(ctx: ServiceContext, found: Any, today: Any) -> CaseRow:
    orgs = ctx.orgs
    held = orgs.by_id(found.office_id)
    handler = orgs.by_id(found.unit_id) if found.unit_id is not None else None
    return row_of(ctx, found, held.name, held.code, handler.name if handler else None,
                  handler.code if handler else None, today)


_CHUNK = 500


def list_cases(ctx: ServiceContext, flt: CaseFilter, *, actor: Actor, consent: bool = True) -> list[CaseRow]:
    """Cases in work order (priority cases first, then by deadline) or the order `flt` sorts by,
    titled as `actor` may read.

    Scope comes from `flt`: start it from `queries.scope_for(session, actor)`. `consent`: see
    `visible_ids`.
    """
    return _listed(ctx, flt, actor=actor, consent=consent, count=False).rows


def case_page(ctx: ServiceContext, flt: CaseFilter, *, actor: Actor) -> CasePage:
    """A page of `list_cases` and the list's total (the list pages, the API)."""
    return _listed(ctx, flt, actor=actor, consent=True, count=True)


def _listed(ctx: ServiceContext, flt: CaseFilter, *, actor: Actor, consent: bool, count: bool) -> CasePage:
    today = ctx.today()
    with DubanSession(ctx.engine) as session:
        conn = session.connection()
        region = _region(ctx, session, flt, actor)
        months = _months(conn, flt) if flt.text else None
        keys = search.index_keys(flt, months, conn.dialect.name) if flt.text else search.NO_KEYS
        query = _list_query(ctx, flt, region=region, keys=keys)
        coloured = flt.warning and flt.warning != LATE_COLOUR  # red is "late", a clause
        if flt.text:
            passes = search.index_passes(conn.dialect.name, flt, months)
            found, total = (_read_coloured_searched(ctx, conn, flt, region, passes, today) if coloured
                            else _read_searched(ctx, conn, query, flt, region, passes))
        elif coloured:
            found, total = _read_coloured(ctx, conn, query, flt, today, count=count)
        else:
            found, total = _read_listed(ctx, conn, query, flt, count=count)
        facts = [Facts(r.id, r.office_id, r.unit_id, r.delegate_id) for r, _ in found]
        raw = _raw_texts(session, visible_ids(session, ctx, facts, actor=actor, consent=consent))
    rows = [row for _, row in found]
    for row in rows:
        if row.id in raw:
            row.title = raw[row.id][0]
    return CasePage(rows=rows, total=min(total, search.COUNT_CAP), capped=total > search.COUNT_CAP)


def _months(conn: Any, flt: CaseFilter) -> tuple[dt.date, dt.date] | None:
    """The first and last day of a list's range of receipt dates, for the index's month keys
    (search.index_keys), or None when it names no range (or no case is stored). Each end is
    brought within the days of the first and last case received (a step into the index of
    receipt times each): an open end is closed there, and a range reaching before the first case
    (since 2000) asks no month that holds none."""
    start, end = flt.extra.get("received_from"), flt.extra.get("received_to")
    if not (start or end):
        return None
    # each its own subquery: SQLite answers one min() or max() a statement by its index
    edges = [select(agg(Case.received_at)).scalar_subquery() for agg in (func.min, func.max)]
    first, last = conn.execute(select(*edges)).one()
    if first is None:  # no case at all
        return None
    first, last = local_date(first), local_date(last)
    return (max(start, first) if start else first, min(end, last) if end else last)


def _read_listed(ctx: ServiceContext, conn: Any, query: Any, flt: CaseFilter, *,
                 count: bool) -> tuple[list[tuple[Any, CaseRow]], int]:
    """A list's page and total (without text). A list a filter may leave few cases in
    (search.narrowing) is counted by its ids (up to the cap, as a count would read them), and
    when they are at most search.FILTERED_FEW (a complained-about unit's, a week's) its page is
    read by them and sorted: a planner that guesses them more, or spread otherwise, walks the
    work order to find the page (PostgreSQL: an org's 1,568 cases of a million, 108 ms)."""
    if not count:
        return _page(ctx, conn, query, flt), 0
    if not search.narrowing(flt):
        return _page(ctx, conn, query, flt), _capped_count(conn, query)
    ids = list(conn.execute(search.matched(query, search.COUNT_CAP + 1)).scalars())
    if len(ids) <= search.FILTERED_FEW:
        query = query.where(_among(conn.dialect.name, ids))
    return _page(ctx, conn, query, flt), len(ids)


def _capped_count(conn: Any, query: Any) -> int:
    """The list's total, counted by the indexes up to just past the cap."""
    return int(conn.execute(search.counted(query, search.COUNT_CAP)).scalar_one())


def _read_searched(ctx: ServiceContext, conn: Any, query: Any, flt: CaseFilter,
                   region: Any | None, passes: list[search.Keys]) -> tuple[list[tuple[Any, CaseRow]], int]:
    """A text search's page and total, read the cheapest of three ways:
    - a scope of at most search.NARROW cases (a county's, a unit's) holding fewer cases than the
      word has index rows tests each of its cases (search.text_probe): a common word costs a
      county its ten thousand cases, not the province's hundred thousand matches;
    - a word found in more cases than search.WALK_ABOVE (a common one) is paged by reading the
      cases in the list's order and keeping the matches: a few hundred rows for page 1 of a word
      in one case in ten, where sorting every match costs its hundred thousand;
    - rarer words are looked up, by their ids (`_streamed_matches`), among the rows of the cases
      that hold the list's keys (a region, a category, a few months), read in `passes`
      (search.index_passes), and their page picked by the place in the work order each brings
      (search.KEYED_MATCHES), else read by walking the list's order a bounded way
      (`_walked_page`), else by sorting them."""
    dialect = conn.dialect.name
    scoped = _list_query(ctx, flt, region=region, searched=False)
    tested_by = _tested_case_by_case(conn, flt, region, scoped)
    if tested_by is not None:
        within = scope_branches(flt) if dialect in search.NESTED_PROBE and tested_by == "scope" else None
        probed = _list_query(ctx, flt, region=region, probe=True, within=within)
        # every match's id in the list's order, then the page's cases by id
        ordered = probed.with_only_columns(col(Case.id), maintain_column_froms=True)
        tested = list(conn.execute(ordered).scalars())
        return _rows_by_id(ctx, conn, scoped, tested[flt.offset:flt.offset + flt.limit]), len(tested)
    keyed = search.keyed(dialect, flt)
    ids, total = _streamed_matches(conn, scoped, flt, region, passes, keyed=keyed)
    if total > search.WALK_ABOVE and flt.extra.get("sort") in search.WALKABLE_SORTS:
        walked = not flt.extra.get("sort") and dialect in search.UNINDEXED_WALK
        query = _list_query(ctx, flt, region=region, probe=True, walked=walked)
    elif ids is not None and keyed:  # in the list's order already
        return _rows_by_id(ctx, conn, scoped, ids[flt.offset:flt.offset + flt.limit]), total
    elif ids is not None:
        walked_page = _walked_page(ctx, conn, scoped, flt, ids)
        if walked_page is not None:
            return walked_page, total
        query = scoped.where(_among(dialect, ids))
    return _page(ctx, conn, query, flt), total


def _walked_page(ctx: ServiceContext, conn: Any, scoped: Any, flt: CaseFilter,
                 ids: list[int]) -> list[tuple[Any, CaseRow]] | None:
    """PostgreSQL: the page of a list whose cases are all found (`ids`; sorted by number or
    receipt: in work order each brings its place, search.KEYED_MATCHES), read by walking its
    order for at most search.WALK_RATIO cases one of them, keeping them; None when the page's
    lie further on, or would, spread evenly through the order, or the list's filter bunches
    them (search.bunched). Sorting them reads each one's case row (8,088 in the biggest city:
    27 ms); a walk passes cases at a tenth of that, and a page of matches spread through the
    order lies within the first few thousand."""
    wanted = min(flt.offset + flt.limit, len(ids))
    if (conn.dialect.name not in search.BOUNDED_WALK or flt.extra.get("sort") not in search.WALKABLE_SORTS
            or not wanted or search.bunched(flt)):
        return None
    bound = len(ids) * search.WALK_RATIO
    if wanted * conn.execute(_LAST_CASE).scalar_one() > bound * len(ids) / 2:
        return None  # spread evenly, they would lie further on than half the bound
    order = search.order_by(flt)
    walked = select(_CASES.c.id).order_by(*order)
    if flt.state == CaseState.CLOSED:  # they lie in the order's closed part: walk it alone
        walked = walked.where(search.CLOSED_KEY)
    terms = [(term.element, True) if getattr(term, "modifier", None) is operators.desc_op else (term, False)
             for term in order]
    # the order's terms as the walked prefix's columns, so that ordering by them again sorts nothing
    prefix = walked.with_only_columns(*[term.label(f"key{i}") for i, (term, _) in enumerate(terms)],
                                      maintain_column_froms=True).limit(bound).subquery("walked")
    keys = [prefix.c[f"key{i}"].desc() if descending else prefix.c[f"key{i}"]
            for i, (_, descending) in enumerate(terms)]
    case_id = prefix.c[f"key{len(terms) - 1}"]  # the order ends with the case's id
    matched = _among(conn.dialect.name, ids, column=case_id)
    first = select(case_id).where(matched).order_by(*keys).limit(wanted)
    found = list(conn.execute(first).scalars())
    return _rows_by_id(ctx, conn, scoped, found[flt.offset:]) if len(found) == wanted else None


_LAST_CASE = select(func.coalesce(func.max(_CASES.c.id), 0))


def _tested_case_by_case(conn: Any, flt: CaseFilter, region: Any | None, scoped: Any) -> str | None:
    """Whether a search tests each case of its list (`_read_searched`), and what bounds them:
    "filter" when a filter that may leave few cases (search.narrowing: a complained-about unit,
    a handling unit, a date range) leaves at most search.FILTERED_FEW in the list (the word's
    matches would be read through the whole scope's); else "scope" when the scope holds at most
    search.NARROW cases; and either only when testing them costs less than looking up the word's
    rows in the index (search.LOOKUP_COST). None: the word's rows are looked up. A region's
    reader (a city's, a county's) has its word's rows found among the region's alone
    (models/search.py), which cost no more than testing its cases: its scope is never tested
    whole, and a date range alone does not count as a narrow filter there (PostgreSQL, asked for
    a county's cases of a month, planned them through the whole work-order index: 380 ms)."""
    regional = flt.office_prefix is not None  # (`region` is the identity region)
    cases, by = None, "filter"
    if search.narrowing(flt, dates=not regional):
        listed = int(conn.execute(search.counted(scoped, search.FILTERED_FEW)).scalar_one())
        cases = listed if listed <= search.FILTERED_FEW else None
    if cases is None:
        if regional:
            return None
        cases, by = _scope_size(conn, flt), "scope"
        if cases > search.NARROW:
            return None
    enough = int(cases / search.LOOKUP_COST) + 1
    rows = search.index_rows(conn.dialect.name, flt.text or "", raw=region is not None, limit=enough)
    if conn.dialect.name in search.ESTIMATED and _estimated(conn, rows) >= search.SURELY * enough:
        return by  # a common word, by the statistics: no need to count its rows
    return by if int(conn.execute(rows).scalar_one()) >= enough else None


def _estimated(conn: Any, query: Any) -> float:
    """PostgreSQL: the planner's estimate of the rows the innermost plan node under `query`'s
    aggregate reads (for a word's index rows, from the statistics of the index's grams: near
    the truth for a common word, low for a rare one)."""
    compiled = query.compile(dialect=conn.dialect)
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar_one()
    node = plan[0]["Plan"]
    while node.get("Plans"):
        node = node["Plans"][0]
    return float(node["Plan Rows"])


def _scope_size(conn: Any, flt: CaseFilter, cap: int = search.NARROW) -> int:
    """At least the number of cases in the filter's scope, counted up to just past `cap` by its
    org indexes alone (`queries.scope_branches`: a case in two branches counts twice), reading no
    case's row."""
    branches = scope_branches(flt) or [true()]
    counts = [search.counted(select(col(Case.id)).where(branch), cap).scalar_subquery()
              for branch in branches]
    return int(conn.execute(select(sum(counts[1:], counts[0]))).scalar_one())


def _found_in(branches: list[Any], *more: Any) -> Any:
    """Where-clause: the case is one of those `branches` (queries.scope_branches) find by their
    org indexes and `more` keeps, as a list found first (SQLite then reads only those rows)."""
    return col(Case.id).in_(select(col(Case.id)).where(or_(*branches), *more).correlate(None))


def _rows_by_id(ctx: ServiceContext, conn: Any, query: Any, ids: list[int]) -> list[tuple[Any, CaseRow]]:
    """The rows of `query` (the list's statement) for the page's `ids`, in the order of `ids`."""
    found = {r.id: r for r in conn.execute(query.where(_among(conn.dialect.name, ids)).order_by(None))}
    today = ctx.today()
    return [(found[i], _row(ctx, found[i], today)) for i in ids]


def _among(dialect: str, ids: list[int], *, name: str = "matched", column: Any = None) -> Any:
    """Where-clause: the case (`column`: the column holding its id) is one of `ids` (one
    parameter however many: thousands of them would be as many placeholders to write and bind)."""
    column = col(Case.id) if column is None else column
    if dialect == "postgresql":
        return column == any_(bindparam(name, ids, type_=ARRAY(Integer)))
    listed = func.json_each(bindparam(name, json.dumps(ids)))
    return column.in_(select(literal_column("value", Integer)).select_from(listed))


def _streamed_matches(conn: Any, scoped: Any, flt: CaseFilter, region: Any | None,
                      passes: list[search.Keys], *, keyed: bool = False) -> tuple[list[int] | None, int]:
    """The ids of a search's matches and their number, or None and a number past the cap
    (`_matches`), left as soon as they pass the cap; `keyed`: in the list's order (each brings
    its place in it, search.KEYED_MATCHES), else by id. One pass, whatever the word: a common one
    costs the cap's worth of its matches, a rarer one all of them. (The planner, told only the
    index's guess of how rare a word is and how large a city is, chose between walking an index
    in order testing every case and reading the whole scope, and guessed wrong by seconds either
    way.)"""
    placed: dict[int, int] = {}
    with closing(_matches(conn, scoped, flt, region, passes, keyed=keyed)) as found:
        if _gathered(found, placed, keyed=keyed):
            return None, len(placed)
    return _by_place(placed), len(placed)


def _gathered(found: Iterable[Any], placed: dict[int, int], *, keyed: bool) -> bool:
    """Each match of `found` (`_matches`) into `placed`, a case once: its place (`keyed`: in the
    work order; else its id), until they pass the cap; whether they did."""
    for match in found:
        case_id, place = match if keyed else (match, match)
        placed.setdefault(case_id, place)
        if len(placed) > search.COUNT_CAP:
            return True
    return False


def _by_place(placed: dict[int, int]) -> list[int]:
    """The cases of `placed` (`_gathered`) in the order of their places."""
    return sorted(placed, key=placed.__getitem__)


def _matches(conn: Any, scoped: Any, flt: CaseFilter, region: Any | None,
             passes: list[search.Keys], columns: tuple[Any, ...] = (),
             keyed: bool = False) -> Generator[Any, None, None]:
    """The case ids of a search's matches as they are found, in no order, a case once per index
    row that matches: the index's matching rows (those of the cases that hold each pass's keys:
    a region's reader's region's, a category's, some months': search.index_passes) read as a
    stream (PostgreSQL: by a server-side cursor; SQLite's FTS5 yields them as it finds them),
    each asked of `scoped` by its case's id (search.matched_driven). With `columns`, those of
    each match's case row instead: read as it is asked (search.ROWS_DRIVEN), else by id, a
    batch of matches at a time. `keyed` (without `columns`; PostgreSQL: search.KEYED_MATCHES): rows
    of each match's `id` and its place in the work order (`order_key`)."""
    dialect = conn.dialect.name
    driven_rows = bool(columns) and dialect in search.ROWS_DRIVEN
    by_id = scoped.with_only_columns(*columns, maintain_column_froms=True).order_by(None)
    listed = _listed_words(conn, flt.text or "", raw=region is not None)
    for keys in passes:
        driven = search.matched_driven(dialect, flt.text or "", identity_region=region,
                                       scoped=scoped, keys=keys, columns=columns if driven_rows else (),
                                       newest_first=flt.extra.get("received_from") is not None,
                                       listed=listed, keyed=keyed and not columns)
        with closing(_indexed_stream(conn, driven)) as result:
            if not columns:
                yield from (result if keyed else result.scalars())
            elif driven_rows:
                yield from result
            else:
                for batch in batched(_once(result.scalars(), key=int), _STREAM_BATCH):
                    yield from conn.execute(by_id.where(_among(dialect, batch)))


_STREAM_BATCH = 2_000  # the index rows a streamed search fetches at a time


def _indexed_stream(conn: Any, statement: Any) -> Any:
    """The result of a search's matches (`_matches`), streamed; planned, where
    search.INDEXED_CURSOR, with sequential scans off while it is planned (DECLARE), not while it
    is read. (Should the statement fail, its transaction is lost and the setting with it.)"""
    streamed = statement.execution_options(stream_results=True, yield_per=_STREAM_BATCH)
    if conn.dialect.name not in search.INDEXED_CURSOR:
        return conn.execute(streamed)
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    result = conn.execute(streamed)
    conn.exec_driver_sql("SET LOCAL enable_seqscan TO DEFAULT")
    return result


def _listed_words(conn: Any, typed: str, *, raw: bool) -> bool:
    """Whether a query of several words asks its other words as lists of their cases
    (search.matched_driven's `listed`): SQLite, when its first word has at least
    search.LISTED_FROM index rows, and either search.LISTED_COMMON or more, or each other word no
    more than search.LISTED_RATIO times its rows (each counted up to where it decides): a list
    costs a word's whole lookup, a test each of the first word's matches. (A keyword in 4,000
    cases of a million and a phrase in one case in four: the phrase's 250,000 rows listed for
    the keyword's matches in a city's 179 cost 100 ms more than testing them.)"""
    words = search.words(typed)
    if conn.dialect.name != "sqlite" or len(words) < 2:
        return False
    lead, others = search.lead(words)
    rows = _index_rows(conn, lead, raw=raw, limit=search.LISTED_COMMON)
    if rows < search.LISTED_FROM or rows >= search.LISTED_COMMON:
        return rows >= search.LISTED_FROM
    most = rows * search.LISTED_RATIO
    return all(_index_rows(conn, word, raw=raw, limit=most + 1) <= most for word in others)


def _index_rows(conn: Any, word: str, *, raw: bool, limit: int) -> int:
    """The index rows of one of a query's words, up to `limit` (a phrase quoted again: read as a
    query, its blank would make it two words)."""
    typed = f'"{word}"' if " " in word else word
    return int(conn.execute(search.index_rows(conn.dialect.name, typed, raw=raw, limit=limit)).scalar_one())


def _page(ctx: ServiceContext, conn: Any, query: Any, flt: CaseFilter) -> list[tuple[Any, CaseRow]]:
    today = ctx.today()
    return [(r, _row(ctx, r, today)) for r in conn.execute(query.offset(flt.offset).limit(flt.limit))]


def _read_coloured(ctx: ServiceContext, conn: Any, query: Any, flt: CaseFilter, today: Any, *,
                   count: bool, few: bool | None = None,
                   broad: bool | None = None) -> tuple[list[tuple[Any, CaseRow]], int]:
    """Warning colours depend on the calendar: read in order and stop as soon as the page (and,
    when counting, the capped total) is known. One statement (a chunk at a time by OFFSET read
    every row before the chunk again: a county's "none" list took seconds), and only the columns
    a colour needs; the page's whole rows after, by id. A broad scope's rows are streamed
    (PostgreSQL: a server-side cursor, planned for the start of the order: the work-order index
    walked); a narrow one's are read at once (planned for all of them: its few thousand cases
    found by their org indexes and sorted, where a walk would read the province's order), and so
    are a colour's few candidates (`_due`: a walk would pass every case to find none of them;
    `few`, `broad` (`_broad`): already asked by the caller)."""
    wanted = flt.offset + flt.limit if not count else search.COUNT_CAP + 1
    total = 0
    # What a colour needs, in the list's order; the page's whole rows after, by id.
    colouring = _colouring(query)
    shown: list[int] = []
    counted_apart = False
    branches = scope_branches(flt)
    due = _due(ctx, flt, today)
    statements: Iterable[Any]
    if due is not None and (_few(conn, due) if few is None else few):  # read at once, planned for all
        statements = [colouring]
    elif _broad(conn, flt) if broad is None else broad:
        # streamed: planned to read the start of the order (the work-order index walked; in work
        # order, its ranges without the late cases)
        streamed = colouring.execution_options(stream_results=True, yield_per=_CHUNK)
        counted_apart = count and _counted_apart(conn, flt, branches)
        if counted_apart:  # the page alone read in order
            wanted = flt.offset + flt.limit
        statements = [streamed] if flt.extra.get("sort") else _work_order_ranges(conn, streamed, today)
    else:  # a few thousand rows, read at once: planned to read them all and sort them
        assert branches is not None, "a narrow scope is a region's or a unit's"
        if conn.dialect.name in search.NESTED_PROBE:  # SQLite: else it walks the order's index
            colouring = colouring.where(_found_in(branches))
        statements = [colouring]
    with closing(_rows_of(conn, statements)) as result:
        for r in result:
            if _colour(ctx, r, today) != flt.warning:
                continue
            if flt.offset <= total < flt.offset + flt.limit:
                shown.append(r.id)
            total += 1
            if total >= wanted:
                break
    if counted_apart and branches is not None and total >= wanted:  # the list goes on past the page
        if conn.dialect.name in search.NESTED_PROBE:  # SQLite: else by a state's or a date's index
            colouring = colouring.where(_found_in(branches))
        total = _uncoloured_total(ctx, conn, colouring, today)
    return _rows_by_id(ctx, conn, query, shown), total


def _counted_apart(conn: Any, flt: CaseFilter, branches: list[Any] | None) -> bool:
    """Whether a streamed list of no colour is counted apart from its page (`_uncoloured_total`):
    when its scope holds at most search.APART_SHARE of all cases, where walking the work order
    passes many other readers' cases for each of its own. Not on PostgreSQL when a filter may
    leave few cases (search.narrowing): it then reads them by that filter's index, and the walk
    costs less."""
    if flt.warning != NO_COLOUR or branches is None:
        return False
    if conn.dialect.name not in search.NESTED_PROBE and search.narrowing(flt):
        return False
    cases = conn.execute(select(func.max(Case.id))).scalar() or 0  # about all of them (never deleted)
    share = int(cases * search.APART_SHARE)
    return _scope_size(conn, flt, share) <= share


def _read_coloured_searched(ctx: ServiceContext, conn: Any, flt: CaseFilter, region: Any | None,
                            passes: list[search.Keys], today: Any) -> tuple[list[tuple[Any, CaseRow]], int]:
    """A colour's list searched for a word, and its total. A colour of few candidates (`_due`:
    those due soon) tests each candidate's texts (search.text_probe). The list of no colour
    first counts the word's matches without a deadline, found by their key in the index
    (scopekeys.UNDATED; the list asks each whether it has none, PostgreSQL by the scope's index
    alone): they show no colour whatever the calendar says; then those with one (scopekeys.DATED)
    are coloured, only if the cap is not passed yet. (The phrase in one case of four, its
    matches all coloured: 209 ms at the province of a million on PostgreSQL, half of them late;
    counted by the key, 90.) The matches to colour (another colour's, or those with a deadline)
    are found (`_matches`) with the columns their colour needs, read as each is asked of the
    list, and coloured, until more than the cap show the colour: when they are all found, the
    page is theirs in the list's order; past the cap, it is read by walking the list's order
    testing each case's texts (a common word). (SQLite fetched them again by id, 2,000 at a
    time, as PostgreSQL still does: the phrase in a city's list of no colour, 190 ms; now 133.)
    (As one statement, `id IN (the word's rows)`, PostgreSQL planned each range of the work order
    with the word's lookup asked case by case: a city's list of no colour and a common phrase,
    19 s.)"""
    dialect = conn.dialect.name
    walked = not flt.extra.get("sort") and dialect in search.UNINDEXED_WALK
    probed = _list_query(ctx, flt, region=region, probe=True, walked=walked)
    due = _due(ctx, flt, today)
    if due is not None and _few(conn, due):
        return _read_coloured(ctx, conn, probed, flt, today, count=True, few=True)
    scoped = _list_query(ctx, flt, region=region, searched=False)
    coloured = scoped  # the matches whose colour is worked out
    placed = search.keyed(dialect, flt)  # each brings its place
    shown: dict[int, int] = {}  # each match shown: its place (in the order, else its id)
    broad = _broad(conn, flt) if flt.warning == NO_COLOUR else None
    if broad and _parted(conn, flt, region):  # without a deadline: none
        undated = scoped.where(_UNDATED)
        with closing(_matches(conn, undated, flt, region, _keyed(passes, scopekeys.UNDATED),
                              keyed=placed)) as found:
            _gathered(found, shown, keyed=placed)
        coloured, passes = scoped.where(_DATED), _keyed(passes, scopekeys.DATED)
    if len(shown) <= search.COUNT_CAP:
        columns = (*_COLOURED_COLUMNS, search.work_order_key()) if placed else _COLOURED_COLUMNS
        with closing(_matches(conn, coloured, flt, region, passes, columns=columns)) as found:
            for r in _once(found, key=lambda r: r.id, seen=set(shown)):
                if _colour(ctx, r, today) == flt.warning:
                    shown[r.id] = r.order_key if placed else r.id
                    if len(shown) > search.COUNT_CAP:
                        break
    if len(shown) > search.COUNT_CAP:
        return _read_coloured(ctx, conn, probed, flt, today, count=False, broad=broad)[0], len(shown)
    if placed:  # the page picked by their places in the order
        page = _by_place(shown)[flt.offset:flt.offset + flt.limit]
        return _rows_by_id(ctx, conn, scoped, page), len(shown)
    return _page(ctx, conn, scoped.where(_among(dialect, list(shown))), flt), len(shown)


def _broad(conn: Any, flt: CaseFilter) -> bool:
    """Whether the list's scope holds more than search.NARROW cases (the province's: every case)."""
    return scope_branches(flt) is None or _scope_size(conn, flt) > search.NARROW


def _parted(conn: Any, flt: CaseFilter, region: Any | None) -> bool:
    """Whether a list of no colour searched for a word, its scope broad (`_broad`: a county's few
    thousand cases cost less read whole), counts the matches without a deadline by their key
    before colouring those with one (`_read_coloured_searched`): where a key's lookup costs more
    than a rare word's whole list (search.KEYS_DEAR), when the word is common."""
    if conn.dialect.name not in search.KEYS_DEAR:
        return True
    lead, _ = search.lead(search.words(flt.text or ""))
    return _index_rows(conn, lead, raw=region is not None, limit=search.COUNT_CAP) >= search.COUNT_CAP


def _keyed(passes: list[search.Keys], key: str) -> list[search.Keys]:
    """Each of a search's passes asking the index for the rows holding `key` too."""
    return [(*keys, (key,)) for keys in passes]


# A case without a deadline, and one with (the list's own clauses for scopekeys.UNDATED and DATED).
_UNDATED = and_(*[day.is_(None) for day in _DEADLINES])
_DATED = or_(*[day.is_not(None) for day in _DEADLINES])


def _once(items: Iterable[T], key: Callable[[T], int], seen: set[int] | None = None) -> Iterator[T]:
    """Each of `items` the first time its case (`key`) comes (a case comes once per index row
    that matches; `seen`: the cases that came before, in another pass)."""
    seen = set() if seen is None else seen
    for item in items:
        case_id = key(item)
        if case_id not in seen:
            seen.add(case_id)
            yield item


def _colouring(query: Any) -> Any:
    """`query` (a list's statement) taking only the columns a colour is worked out from."""
    return query.with_only_columns(*_COLOURED_COLUMNS, maintain_column_froms=True)


def _colour(ctx: ServiceContext, r: Any, today: Any) -> str:
    """The colour of a row of _COLOURED (queries.case_colour); no colour without a deadline,
    known before its org's calendar is looked up."""
    if r.deadline_on is None and r.missed_deadline_on is None:
        return NO_COLOUR
    return case_colour(ctx, r, ctx.orgs.by_id(r.unit_id or r.office_id).code, today)


def _uncoloured_total(ctx: ServiceContext, conn: Any, colouring: Any, today: Any) -> int:
    """How many cases a list of no colour (`colouring`: its cases not late, the columns a colour
    needs) holds, up to just past the cap: its cases read in no order, as the scope's indexes
    find them, until the cap is passed. Read in the list's order instead, a small city's list
    (21,400 cases in a province of a million) passed the province's open cases to count its
    own: 113 ms."""
    total = 0
    unordered = colouring.order_by(None).execution_options(stream_results=True, yield_per=_CHUNK)
    with closing(conn.execute(unordered)) as result:
        for r in result:
            if _colour(ctx, r, today) == NO_COLOUR:
                total += 1
                if total > search.COUNT_CAP:
                    break
    return total


def _rows_of(conn: Any, statements: Iterable[Any]) -> Generator[Any, None, None]:
    """The rows of each statement in turn, each statement's result closed once left."""
    for statement in statements:
        with closing(conn.execute(statement)) as result:
            yield from result


_NO_DEADLINE = col(Case.deadline_on).is_(None)


def _work_order_ranges(conn: Any, query: Any, today: Any) -> Iterator[Any]:
    """`query` (a list in work order that leaves the late cases out) as one statement per range of
    the work-order index (models/case.py), in the order's order: its leading columns fixed
    (closed or open, a priority, without a deadline or with one from today on), each range found
    by the index and read in its order. One walk of the index would pass every late case, most
    of the open ones, before the first it keeps. The leading columns are compared by IS (IS TRUE
    on PostgreSQL, IS 1 on SQLite), which both databases answer by the index, where `= false`
    or NOT is rewritten by PostgreSQL into a comparison the index does not hold."""
    order = (col(Case.deadline_on), col(Case.id))
    for closed in (false(), true()):
        side = search.CLOSED_KEY.is_(closed)
        rank = conn.execute(select(func.min(Case.priority_rank)).where(side)).scalar()
        while rank is not None:
            # Ordered by the index's next columns alone: a constant's expression in the ORDER BY
            # makes SQLite sort the range rather than read it in its order.
            ranged = query.where(side, col(Case.priority_rank) == rank).order_by(None)
            yield ranged.where(_NO_DEADLINE.is_(false()), col(Case.deadline_on) >= today).order_by(*order)
            yield ranged.where(_NO_DEADLINE.is_(true())).order_by(*order)
            # the next priority, found by the index (a loose index scan)
            rank = conn.execute(select(func.min(Case.priority_rank)).where(
                side, col(Case.priority_rank) > rank)).scalar()


def _few(conn: Any, ids: Any) -> bool:
    """Whether the statement `ids` (SELECT id …) finds at most search.NARROW cases, counted by
    the indexes that answer it up to just past that."""
    found = select(literal_column("id")).select_from(ids.subquery()).limit(search.NARROW + 1).subquery()
    return int(conn.execute(select(func.count()).select_from(found)).scalar_one()) <= search.NARROW


# The columns a case's colour is worked out from (queries.case_colour, and its calendar's org).
_COLOURED = ("id", "office_id", "unit_id", "deadline_on", "deadline_start", "missed_deadline_on")
_COLOURED_COLUMNS = tuple(col(getattr(Case, name)) for name in _COLOURED)


def case_row(ctx: ServiceContext, case: Case, *, actor: Actor) -> CaseRow:
    """The list row of a case already in hand (one just registered), titled for `actor`."""
    office, unit = orgs_of(ctx, case)
    assert case.id is not None
    with DubanSession(ctx.engine) as session:
        seen = visible_ids(session, ctx, [Facts.of(case)], actor=actor)
        # A repeat links into a case loaded without its texts: the raw title by its own statement.
        title = _raw_texts(session, seen)[case.id][0] if seen else case.title_redacted
    return row_of(ctx, case, office.name, office.code, unit.name if unit else None,
                  unit.code if unit else None, ctx.today(), title=title)


def case_texts(session: Session, ctx: ServiceContext, ids: list[int], *, actor: Actor,
               consent: bool = True) -> dict[int, dict[str, str]]:
    """Title and summary of each case as `actor` may read them (exports, queues): the redacted
    twins of all, then the raw texts of those `actor` may see in full."""
    out: dict[int, dict[str, str]] = {}
    facts: list[Facts] = []
    for start in range(0, len(ids), 5000):
        for i, office_id, unit_id, delegate_id, title, summary in session.connection().execute(
                _REDACTED_TEXTS, {"ids": ids[start:start + 5000]}):
            out[i] = {"title": title, "summary": summary}
            facts.append(Facts(i, office_id, unit_id, delegate_id))
    seen = visible_ids(session, ctx, facts, actor=actor, consent=consent)
    for i, (title, summary) in _raw_texts(session, seen).items():
        out[i] = {"title": title, "summary": summary}
    return out


_REDACTED_TEXTS = select(*[_CASES.c[name] for name in (
    "id", "office_id", "unit_id", "delegate_id", "title_redacted", "summary_redacted")]).where(
    _CASES.c.id.in_(bindparam("ids", expanding=True)))


def texts_in_hand(session: Session, ctx: ServiceContext, case: Case, *, actor: Actor) -> dict[str, Any]:
    """Title, summary and complainant of a case an action holds (loaded for writing), as `actor`
    may read them: the mail of a notification is composed from what its recipient may see."""
    assert case.id is not None
    seen = case.id in visible_ids(session, ctx, [Facts.of(case)], actor=actor)
    person = _person(session, case.complainant_id, seen=seen) if case.complainant_id else None
    title, summary = case.title_redacted, case.summary_redacted
    if seen:  # from the row in hand when it was loaded with its raw texts, else read now
        held = case.__dict__
        title, summary = ((held["title"], held["summary"]) if "title" in held and "summary" in held
                          else _raw_texts(session, {case.id})[case.id])
    return {"seen": seen, "title": title, "summary": summary,
            "complainant": complainant_view(seen, person, ctx.labels.text["masked"])}


# -- one case --------------------------------------------------------------------------------

_DOOR_LOAD = {by: Prepared(select(*redacted_columns(_CASES)).where(_CASES.c[by] == bindparam("ref")))
              for by in ("id", "number")}


def load_case(session: Session, ctx: ServiceContext, ref: int | str, *, actor: Actor,
              texts: bool = True) -> tuple[Case, bool]:
    """The case as `actor` may read it, and whether they may see its complainants; CaseNotFound
    when it is not there or not theirs to see (nobody learns that cases outside their scope exist).
    `texts=False`: for a reader of the case's other rows (its ratings, attachments, a page of its
    history), which shows neither title nor summary: they stay the redacted twins, whoever reads."""
    by = "id" if isinstance(ref, int) else "number"
    found = fetch_cases(session, _DOOR_LOAD[by], {"ref": ref}, for_write=False)
    if not found or not may_see(session, actor, found[0]):
        raise CaseNotFound(ref)
    case = found[0]
    assert case.id is not None
    seen = case.id in visible_ids(session, ctx, [Facts.of(case)], actor=actor)
    if seen and texts:
        case.title, case.summary = _raw_texts(session, {case.id})[case.id]
    return case, seen


# The collections of a case page, oldest first. Timeline and reports grow by one with every
# progress report (weekly on a key-supervised case), so the API shows only the newest of them.
HISTORY: dict[str, tuple[Any, Any]] = {
    "timeline": (AuditEvent, AuditEvent.seq),
    "reports": (HandlingReport, HandlingReport.id),
    "reviews": (Review, Review.id),
    "callbacks": (Callback, Callback.id),
    "extensions": (Extension, Extension.id),
    "declines": (Decline, Decline.id),
    "returns": (Objection, Objection.id),  # 退单申请 and their decisions
    "review_requests": (ReviewRequest, ReviewRequest.id),  # 复查 / 复核 (services/reviews.py)
}
BOUNDED = ("timeline", "reports")
# How many of the bounded collections a case's answer and page show: the newest (a key-supervised
# case reports progress every week, for years); the rest page by page (`case_history`).
SHOWN_HISTORY = 50
HISTORY_PAGE = 100  # a page of the rest (`case_history`): the API's default, the web's size
# What no face shows of a collection's rows, left unread: an event's place in the audit chain
# (its hashes, key, the facts and row digests it seals) is `duban audit verify`'s, not the page's.
_UNSHOWN = {"timeline": frozenset({"case_id", "prev_hash", "hash", "alg", "key_id", "facts", "rows"})}
_PREPARED: dict[tuple[Any, ...], Prepared] = {}


def _prepared(build: Callable[..., Any], *args: Any) -> Prepared:
    """A case's read by its id, `build(*args)` prebuilt once (building and keying a statement on
    every call cost as much as running it)."""
    key = (build, *args)
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = Prepared(build(*args))
    return found


def _history_select(kind: str, shape: str, raw: bool, hide: bool = False) -> Any:
    """The SELECT of one collection of a case (`case_id`). shape: "all", "page" or "newest"; raw:
    the texts as written (only for a reader who may see identity), else their redacted twins."""
    model, order = HISTORY[kind]
    table = model.__table__
    columns = ([c for c in table.c if not c.name.endswith("_redacted")] if raw
               else redacted_columns(table))
    unshown = _UNSHOWN.get(kind, frozenset())
    statement = select(*[c for c in columns if c.name not in unshown]) \
        .where(table.c.case_id == bindparam("case_id"))
    if hide:  # a referral's steps, for a reader who may not see the referral
        statement = statement.where(*(table.c.action != a for a in REFERRAL_ACTIONS))
    if shape == "newest":
        statement = statement.order_by(col(order).desc()).limit(bindparam("limit"))
    else:
        statement = statement.order_by(order)
    if shape == "page":
        statement = statement.limit(bindparam("limit")).offset(bindparam("offset"))
    return statement


# Besides its collections, what a case's answer and page read by the case's id: its subject, its
# first complainant and its raw texts (as the reader may see them), and on the page the
# complainants' ratings of its replies and its attachments (as `reply_ratings` and
# `list_attachments` give them).
_SUBJECT_ID = select(_CASES.c.subject_id).where(_CASES.c.id == bindparam("case_id")).scalar_subquery()
_SUBJECT_OF = select(_SUBJECTS.c.name, _SUBJECTS.c.kind, _SUBJECTS.c.resolution).where(
    _SUBJECTS.c.id == _SUBJECT_ID)
_TEXTS_OF = select(_CASES.c.title, _CASES.c.summary).where(_CASES.c.id == bindparam("case_id"))


def _beside(raw: bool, page: bool) -> dict[str, tuple[Any, str | None]]:
    """name -> (its SELECT of the case's `case_id`, the column its rows are ordered by, if many)."""
    from duban.services.attachments import CASE_ATTACHMENTS  # it reads cases through this module

    out: dict[str, tuple[Any, str | None]] = {"subject": (_SUBJECT_OF, None),
                                              "person": (_PERSON_OF[raw], None)}
    if raw:
        out["texts"] = (_TEXTS_OF, None)
    if page:
        out["ratings"] = (_RATINGS[raw], "id")
        out["attachments"] = (CASE_ATTACHMENTS[raw], "id")
    return out


def _beside_read(name: str, raw: bool) -> Any:
    return _beside(raw, page=True)[name][0]


def _reads(raw: bool, hide: bool, bounded: bool, page: bool) -> dict[str, tuple[Any, str | None]]:
    """Every read of a case by its id for this reader: the collections (`_history_select`), then
    `_beside`'s."""
    out: dict[str, tuple[Any, str | None]] = {}
    for kind, (_, order) in HISTORY.items():
        shape = "newest" if bounded and kind in BOUNDED else "all"
        out[kind] = (_history_select(kind, shape, raw, hide and kind == "timeline"), order.key)
    return out | _beside(raw, page)


# PostgreSQL: all of a case's reads by one statement, each as a JSON array (`_histories`).
Conversions = dict[str, dict[str, Callable[[Any], Any]]]  # read -> column -> from JSON's text
_HISTORIES_SQL: dict[tuple[bool, bool, bool, bool], tuple[Prepared, Conversions]] = {}
_EMPTY_ARRAY: Any = literal_column("'[]'::json")
_FROM_JSON: dict[type, Callable[[str], Any]] = {
    UTCDateTime: lambda text: dt.datetime.fromisoformat(text).astimezone(dt.UTC),
    Date: dt.date.fromisoformat}


def _histories_sql(raw: bool, hide: bool, bounded: bool, page: bool) -> tuple[Prepared, Conversions]:
    """The statement, and per read the conversions of the values JSON carries as text (its times
    and dates). Each read is the SELECT `_reads` gives, so it reads exactly the columns that
    statement reads for this reader."""
    key = (raw, hide, bounded, page)
    found = _HISTORIES_SQL.get(key)
    if found is None:
        arrays: list[Any] = []
        conversions: Conversions = {}
        for name, (statement, order) in _reads(raw, hide, bounded, page).items():
            rows = statement.subquery(f"h_{name}")
            row = rows.table_valued()
            aggregated = func.json_agg(row if order is None else aggregate_order_by(row, rows.c[order]))
            array = cast(func.coalesce(aggregated, _EMPTY_ARRAY), Text)
            arrays.append(select(array).scalar_subquery().label(name))
            conversions[name] = {c.key: convert for c in rows.c
                                 if (convert := _FROM_JSON.get(type(c.type))) is not None}
        found = _HISTORIES_SQL[key] = (Prepared(select(*arrays)), conversions)
    return found


def _histories(session: Session, case_id: int, *, raw: bool, history: int | None, hide: bool,
               page: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every read of a case by its id (`_reads`), as a statement of each reads it: all of each
    collection, or (`history`) the newest of the bounded ones. PostgreSQL in one statement (each
    cost a round trip, a parse and psycopg's work: about half of reading a case); SQLite, where a
    statement costs little, one each."""
    if session.get_bind().dialect.name != "postgresql":
        return _one_each(session, case_id, raw=raw, history=history, hide=hide, page=page)
    statement, conversions = _histories_sql(raw, hide, history is not None, page)
    arrays = statement.rows(session, {"case_id": case_id, "limit": history})[0]
    out: dict[str, list[dict[str, Any]]] = {}
    for name, converts in conversions.items():
        rows = json.loads(arrays[name])
        for row in rows:
            for column, convert in converts.items():
                if row[column] is not None:
                    row[column] = convert(row[column])
        out[name] = _settled(name, rows)
    return out


def _one_each(session: Session, case_id: int, *, raw: bool, history: int | None, hide: bool,
              page: bool) -> dict[str, list[dict[str, Any]]]:
    """`_histories`, a statement for each read."""
    out = {kind: _history(session, case_id, kind, raw=raw, limit=history if kind in BOUNDED else None,
                          newest=history is not None and kind in BOUNDED, hide=hide)
           for kind in HISTORY}
    for name in _beside(raw, page):
        out[name] = _prepared(_beside_read, name, raw).rows(session, {"case_id": case_id})
    return out


def _history(session: Session, case_id: int, kind: str, *, raw: bool, limit: int | None = None,
             offset: int = 0, newest: bool = False, hide: bool = False) -> list[dict[str, Any]]:
    """Rows of one collection as plain dicts, oldest first: all of them, a page, or the newest `limit`.
    `hide`: leave out a referral's steps (only the timeline has them)."""
    shape = "all" if limit is None else "newest" if newest else "page"
    params = {"case_id": case_id, "limit": limit, "offset": offset}
    hidden = hide and kind == "timeline"
    rows = _settled(kind, _prepared(_history_select, kind, shape, raw, hidden).rows(session, params))
    return rows[::-1] if shape == "newest" else rows


def _settled(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if kind == "callbacks":
        for row in rows:  # a callback from before 0015 has only its flag: read on the scale
            row["result"] = row["result"] or ("satisfied" if row["satisfied"] else "unsatisfied")
            row["reason"] = row["reason"] or ""
    return rows


def _count(session: Session, case_id: int, kind: str, *, hide: bool = False) -> int:
    model, _ = HISTORY[kind]
    query = select(func.count()).select_from(model).where(model.case_id == case_id)  # type: ignore[call-overload]
    if hide and kind == "timeline":
        query = query.where(col(model.action).not_in(REFERRAL_ACTIONS))
    return int(session.exec(query).one())


def _hides_referral(session: Session, actor: Actor, case: Case) -> bool:
    """Whether the case has a referral that `actor` may not see (its steps are then left out)."""
    return case.referred_to_id is not None and not may_see_referral(session, actor, case)


def referral_of(session: Session, ctx: ServiceContext, case: Case, *, actor: Actor) -> dict[str, Any] | None:
    """The case's newest referral as `actor` may read it; None when there is none or it is not
    theirs to see (the unit that goes on handling the case learns nothing of it)."""
    if case.id is None or case.referred_to_id is None or not may_see_referral(session, actor, case):
        return None
    row = latest_referral(session, case.id)
    if row is None:
        return None
    seen = case.id in visible_ids(session, ctx, [Facts.of(case)], actor=actor)
    out = {k: v for k, v in row.items() if not k.endswith("_redacted") and k != "outcome_note"}
    out["outcome_note"] = row["outcome_note"] if seen else row["outcome_note_redacted"]
    out["stage"] = referral_stage(row)
    out["commission"] = org_summary(ctx.orgs.by_id(row["commission_id"]))
    out["outcome_label"] = ctx.labels.of("referral_outcomes", row["outcome"]) if row["outcome"] else ""
    return out


# The first complainant as `complainant_view` needs them: name, phone and email only when seen.
_COMPLAINANTS: Any = Complainant.__table__  # type: ignore[attr-defined]
_PERSON_COLUMNS = {seen: [_COMPLAINANTS.c[name] for name in names] for seen, names in (
    (True, ("name", "phone", "email", "real_name")), (False, ("real_name",)))}
_PERSON = {seen: select(*columns).where(_COMPLAINANTS.c.id == bindparam("id"))
           for seen, columns in _PERSON_COLUMNS.items()}
_COMPLAINANT_ID = select(_CASES.c.complainant_id).where(_CASES.c.id == bindparam("case_id")).scalar_subquery()
_PERSON_OF = {seen: select(*columns).where(_COMPLAINANTS.c.id == _COMPLAINANT_ID)
              for seen, columns in _PERSON_COLUMNS.items()}
CASE_HIDDEN = {"complainant_id", "matter_key", "audit_hash"}


def case_detail(ctx: ServiceContext, ref: int | str, *, actor: Actor,
                history: int | None = None, avoided: bool = False, page: bool = False) -> dict[str, Any]:
    """Everything on a case page, as `actor` may read it.

    `history` bounds the timeline and the reports to their newest entries (the API's answer:
    the rest is paged by `case_history`); `timeline_total` and `reports_total` count them all.
    `avoided`: also `avoided_org_ids`, the orgs the case must be kept from (`routing.avoided_for`),
    when an action `actor` may take names a unit; read in the same session, for the page's picker.
    `page`: also `ratings` and `attachments` (as `reply_ratings` and `list_attachments` give
    them), read in the same session rather than each letting the reader into the case again.
    """
    from duban.services.cases import CaseService
    from duban.services.handlers import Guards

    with keyed(DubanSession(ctx.engine)) as session:
        # Its raw texts, for whom they are, come with the rest of what is read by its id.
        case, seen = load_case(session, ctx, ref, actor=actor, texts=False)
        assert case.id is not None
        hide = _hides_referral(session, actor, case)
        read = _histories(session, case.id, raw=seen, history=history, hide=hide, page=page)
        if seen:
            case.title, case.summary = (read["texts"][0][name] for name in ("title", "summary"))
        collections = {kind: read[kind] for kind in HISTORY}
        office, unit = orgs_of(ctx, case)
        row = row_of(ctx, case, office.name, office.code, unit.name if unit else None,
                   unit.code if unit else None, ctx.today())
        totals = {f"{kind}_total": len(collections[kind]) for kind in BOUNDED}
        if history is not None:
            totals["timeline_total"] = (_count(session, case.id, "timeline", hide=True) if hide
                                        else max(case.audit_seq, len(collections["timeline"])))
            if len(collections["reports"]) == history:
                totals["reports_total"] = _count(session, case.id, "reports")
        subject = read["subject"][0] if read["subject"] else None
        # The complainant block shows the first complainant, whose own consent lifts the mask
        # there even when a repeat complainant did not agree (then the texts stay redacted).
        person_seen = seen or _first_agreed(session, ctx, case, actor=actor)
        person: Any = next((SimpleNamespace(**p) for p in read["person"]), None)
        if person_seen and not seen and case.complainant_id is not None:
            person = _person(session, case.complainant_id, seen=True)
        facts = {name: getattr(case, name) for name in _CASE_FACTS}
        referral = referral_of(session, ctx, case, actor=actor)
        if referral is None:  # nothing of a referral for whom it is not
            for name in REFERRAL_FACTS:
                facts.pop(name, None)
        # The guards' facts of returns, extensions and callbacks are in the collections just read.
        guards = Guards(session, ctx, ctx.today()).knowing(
            case, returns=collections["returns"], extensions=collections["extensions"],
            callbacks=collections["callbacks"])
        allowed = CaseService(ctx).allowed_in(session, case, actor, guards=guards)
        read_only = acts_as(session, actor, case) is None
        extra: dict[str, Any] = {}
        if avoided:
            names_unit = any("unit" in FORMS[a].model_fields for a in allowed)
            extra["avoided_org_ids"] = (avoided_for(session, ctx.orgs, ctx.policy, case) if names_unit
                                        else set())
        # 二次交办: the government's departments, for the picker of whoever may pass the case on.
        choices = delegation.choices(session, ctx.orgs, ctx.policy, case) if "delegate" in allowed else []
        if page:
            extra["ratings"], extra["attachments"] = read["ratings"], read["attachments"]
        return {
            "case": facts,
            "row": row.as_dict(),
            "office": org_summary(office),
            "record_office": org_summary(office_of_record(ctx.orgs, case)),
            "read_only": read_only,
            "unit": org_summary(unit),
            "delegate": org_summary(ctx.orgs.by_id(case.delegate_id)) if case.delegate_id else None,
            "delegate_report_pending": bool(case.delegate_report_pending),
            "delegate_choices": choices,
            "subject": subject,
            "complainant": complainant_view(person_seen, person, ctx.labels.text["masked"]),
            **collections,
            **totals,
            "referral": referral,
            "allowed_actions": allowed,
            "extension_unit": ctx.policy.extension.unit,  # the unit a new request is asked in
            **extra,
        }


_FIRST_AGREED = (select(Complainant.consent_disclose).join(Case, col(Case.complainant_id) == Complainant.id)
                 .where(Case.id == bindparam("id")))


def _first_agreed(session: Session, ctx: ServiceContext, case: Case, *, actor: Actor) -> bool:
    """Whether the rule lets `actor` see the case's first complainant on their own consent."""
    rule = ctx.policy.privacy
    if actor.role not in rule.consent_roles or actor.org_id is None or actor.org_id not in (
            case.unit_id, case.delegate_id):
        return False
    agreed = bool(session.connection().execute(_FIRST_AGREED, {"id": case.id}).scalar())
    return may_see_identity(rule, actor, actor_code=_actor_code(ctx, actor),
                            office_code=ctx.orgs.by_id(case.office_id).code, unit_id=case.unit_id,
                            consent=agreed, delegate_id=case.delegate_id)


_CASE_FACTS = [c.name for c in _CASES.c if not c.name.endswith("_redacted") and c.name not in CASE_HIDDEN]
# The case's referral columns, shown only to whom the referral is (`referral_of`).
REFERRAL_FACTS = ("referred_to_id", "referred_from_id", "notice_due_on")


def case_history(ctx: ServiceContext, ref: int | str, kind: str, *, actor: Actor,
                 limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of a case's timeline or reports, oldest first, as on the case page; and how many
    there are in all."""
    with DubanSession(ctx.engine) as session:
        case, seen = load_case(session, ctx, ref, actor=actor, texts=False)
        assert case.id is not None
        hide = _hides_referral(session, actor, case)
        items = _history(session, case.id, kind, raw=seen, limit=limit, offset=offset, hide=hide)
        total = (_count(session, case.id, kind, hide=True) if hide and kind == "timeline"
                 else case.audit_seq if kind == "timeline" else _count(session, case.id, kind))
        return items, max(total, offset + len(items))


# The columns of a case an action's answer carries (no summary text, no history).
SUMMARY_FACTS = ("number", "title", "state", "disposition", "priority", "level", "received_at",
                 "dispatched_at", "closed_at", "updated_at", "deadline_kind", "deadline_on",
                 "deadline_provisional", "extension_days", "extension_unit", "return_count",
                 "repeat_count", "version", "decline_reason")


def case_summary(ctx: ServiceContext, ref: int | str, *, actor: Actor) -> dict[str, Any]:
    """Where a case stands, for the caller of an action: state, deadline, warning, who handles it
    and what `actor` may do next. One row read, none of the case's history."""
    from duban.services.cases import CaseService

    with keyed(DubanSession(ctx.engine)) as session:
        case, _ = load_case(session, ctx, ref, actor=actor)
        office, unit = orgs_of(ctx, case)
        row = row_of(ctx, case, office.name, office.code, unit.name if unit else None,
                   unit.code if unit else None, ctx.today())
        facts = {key: getattr(case, key) for key in SUMMARY_FACTS}
        return {
            "case": {**facts, "warning": row.warning, "workdays_left": row.workdays_left},
            "office": org_summary(office),
            "unit": org_summary(unit),
            "allowed_actions": CaseService(ctx).allowed_in(session, case, actor),
            "extension_unit": ctx.policy.extension.unit,
        }


def complainants_of(session: Session, ctx: ServiceContext, facts: list[Facts], *, actor: Actor,
                    consent: bool = True) -> dict[int, Any]:
    """The first complainant (name, phone, real_name) of each case `actor` may see them on; cases
    they may not see them on are left out (no statement names the person for those)."""
    seen = visible_ids(session, ctx, facts, actor=actor, consent=consent)
    if not seen:
        return {}
    query = (select(Case.id, Complainant.name, Complainant.phone, Complainant.real_name)
             .join(Complainant, col(Case.complainant_id) == Complainant.id)
             .where(col(Case.id).in_(sorted(seen))))
    return {row[0]: row for row in session.connection().execute(query)}


# -- what a complainant reads online ---------------------------------------------------------

_CITIZEN_FACTS = select(*[_CASES.c[name] for name in (
    "number", "state", "office_id", "category", "received_at", "dispatched_at", "closed_at",
    "review_level", "concluded_at")]).where(
    _CASES.c.id == bindparam("id"))
# The reply: the final report the office approved, newest first; its redacted text only.
_REPLY = (select(HandlingReport.id, HandlingReport.text_redacted, Review.reviewed_at)
          .join(Review, col(Review.report_id) == HandlingReport.id)
          .where(col(Review.case_id) == bindparam("id"), col(Review.decision) == "approved",
                 col(HandlingReport.kind) == "final")
          .order_by(col(Review.id).desc()).limit(1))
_RATING = select(ReplyRating.rating, ReplyRating.comment, ReplyRating.rated_at).where(
    ReplyRating.report_id == bindparam("report"), ReplyRating.complainant_id == bindparam("person"))


def reply_of(session: Session, case_id: int) -> Any | None:
    """The case's reply (id, text_redacted, reviewed_at): the approved final report, or None."""
    return session.connection().execute(_REPLY, {"id": case_id}).first()


def citizen_case(ctx: ServiceContext, number: str, *, code: str, actor: Actor) -> dict[str, Any]:
    """What a complainant reads of the case their query code proves, and nothing else.

    A deliberate, minimal view: the state (the code; `public.toml` says it in plain words), the
    receiving office, the category, the dates it was received, dispatched and closed, the reply
    once the office approved it (the final report's redacted text), and which review (复查 or 复核)
    a request would ask for. Never the texts of the
    case (a repeat complaint may have been linked into someone else's), the handling unit, staff,
    notes, steps, pressure, or other complainants. A wrong pair and an unknown number are the
    same CaseNotFound.
    """
    if actor.role != CITIZEN:
        raise PermissionDenied(action="follow", role=actor.role, allowed_roles=[CITIZEN])
    with DubanSession(ctx.engine) as session:
        proof = prove(session, number, code)
        if proof is None:
            raise CaseNotFound(number)
        connection = session.connection()
        facts = connection.execute(_CITIZEN_FACTS, {"id": proof.case_id}).mappings().one()
        reply = reply_of(session, proof.case_id)
        rating = (connection.execute(_RATING, {"report": reply.id, "person": proof.complainant_id})
                  .mappings().first() if reply is not None else None)
    return {
        "number": facts["number"],
        "state": facts["state"],
        "office": ctx.orgs.by_id(facts["office_id"]).name,
        "category": facts["category"],
        "received_at": facts["received_at"],
        "dispatched_at": facts["dispatched_at"],
        "closed_at": facts["closed_at"],
        "reply": ({"text": reply.text_redacted, "at": reply.reviewed_at} if reply is not None else None),
        "rating": dict(rating) if rating is not None else None,
        # The review a request would ask for now (复查, then 复核), None once concluded (终结).
        "review_next": next_level(SimpleNamespace(**facts)),
    }


_RATINGS = {raw: select(*(
    [c for c in ReplyRating.__table__.c if not c.name.endswith("_redacted")] if raw  # type: ignore[attr-defined]
    else redacted_columns(ReplyRating.__table__))).where(  # type: ignore[attr-defined]
    ReplyRating.case_id == bindparam("case_id")).order_by(col(ReplyRating.id)) for raw in (False, True)}


def reply_ratings(ctx: ServiceContext, ref: int | str, *, actor: Actor) -> list[dict[str, Any]]:
    """The complainants' ratings of the case's replies, for its page: the comment as `actor` may
    read it (redacted unless they may see the case's complainants)."""
    with DubanSession(ctx.engine) as session:
        case, seen = load_case(session, ctx, ref, actor=actor, texts=False)
        assert case.id is not None
        return _ratings_of(session, case.id, seen=seen)


def _ratings_of(session: Session, case_id: int, *, seen: bool) -> list[dict[str, Any]]:
    return [dict(r) for r in session.connection().execute(_RATINGS[seen], {"case_id": case_id}).mappings()]


def scope(ctx: ServiceContext, *, actor: Actor) -> CaseFilter:
    """The cases `actor` may see, as a filter a face narrows (never widens) before `list_cases`."""
    with Session(ctx.engine) as session:
        return scope_for(session, actor)


def still_sees(ctx: ServiceContext, ref: int | str, *, actor: Actor) -> bool:
    """Whether `actor` may read the case now (an action may have taken it out of their sight)."""
    with Session(ctx.engine) as session:
        try:
            load_case(session, ctx, ref, actor=actor, texts=False)
        except CaseNotFound:
            return False
    return True


def any_case(ctx: ServiceContext) -> bool:
    """Whether the database holds a case at all: a count, which names none of them."""
    with Session(ctx.engine) as session:
        return session.exec(select(func.count()).select_from(Case)).one() > 0
