"""A text search is read one of several ways (duban.services.reading._read_searched): every match
looked up and sorted (PostgreSQL: the matching rows streamed, each asked of the scope), or its
page read by walking the list's order as far as a bound (reading._walked_page), or picked by
the place in work order each match brings (PostgreSQL: search.KEYED_MATCHES); the cases
walked in the list's order keeping the matches; each case of a narrow scope tested
(search.text_probe). Whichever way is taken, the page and the total
must be the same, in work order and in each sort, for readers with the right to identity and
without, at the province, in a county and in two cities (a region looks a word up among its own
cases' rows: models/search.py), with cases handed to units in and out of each region."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlmodel import Session, col, select

from duban.models import Case
from duban.services import Actor, CaseService, ServiceContext, search
from duban.services.queries import CaseFilter, scope_for
from duban.services.reading import CasePage, case_page
from duban.services.search import CaseQuery, narrow
from tests.factories import CLERK, DISPATCHER, LEADER, complaint, org_id, unit_actor, world

ALPHABET = "噪音水供暖扰民aBＡａ"
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
# Each case's place in work order: closed or not, priority rank, deadline (None: none).
places = st.tuples(st.booleans(), st.integers(0, 3), st.none() | st.integers(0, 3))
SORTS = sorted(search.WALKABLE_SORTS, key=str)
OFFICES = ["GS", "GS-LZ-CG", "GS-LX"]  # the province's office, a county's, another city's
# The unit a case was handed to, if any: the province's, a city's, a county's, another city's. A
# case whose unit lies in a region is in its readers' scope wherever its office is.
UNITS = [None, "GS-FGW", "GS-LZ-ZJJ", "GS-LZ-CG-GOV", "GS-LX-GOV"]
EVERY_DATABASE = frozenset({"sqlite", "postgresql"})


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def page(ctx: ServiceContext, actor: Any, params: dict[str, str]) -> CasePage:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse(params), ctx.orgs)
    return case_page(ctx, flt, actor=actor)


def ways(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, actor: Any,
         params: dict[str, str]) -> dict[str, CasePage]:
    """The page and total of one search, read each way reading._read_searched can read it."""
    settings_of = {
        # every match looked up and sorted (PostgreSQL: the index's matching rows streamed, each
        # asked of the scope)
        "looked up": dict(NARROW=-1, WALK_ABOVE=10**9, BOUNDED_WALK=frozenset(), KEYED_MATCHES=frozenset()),
        # every match looked up bringing its place in work order, the page picked by it
        # (PostgreSQL: search.KEYED_MATCHES; a sorted list sorts them)
        "looked up, placed": dict(NARROW=-1, WALK_ABOVE=10**9, BOUNDED_WALK=frozenset(),
                                  KEYED_MATCHES=frozenset({"postgresql"})),
        # every match looked up, the page read by walking the list's order (reading._walked_page)
        # as far as it must, or only as far as the matches' number and then sorted
        "page walked": dict(NARROW=-1, WALK_ABOVE=10**9, BOUNDED_WALK=EVERY_DATABASE, WALK_RATIO=10**6,
                            KEYED_MATCHES=frozenset()),
        "page walked, bounded": dict(NARROW=-1, WALK_ABOVE=10**9, BOUNDED_WALK=EVERY_DATABASE, WALK_RATIO=1,
                                     KEYED_MATCHES=frozenset()),
        # the cases read in the list's order and the matches kept
        "walked": dict(NARROW=-1, WALK_ABOVE=-1),
        # every case of the scope tested, whatever the word
        "tested": dict(NARROW=10**9, LOOKUP_COST=10**9, WALK_ABOVE=10**9),
    }
    out = {}
    for way, values in settings_of.items():
        with monkeypatch.context() as patched:
            for name, value in values.items():
                patched.setattr(search, name, value)
            out[way] = page(ctx, actor, params)
    return out


def place(ctx: ServiceContext, number: str, closed: bool, rank: int, deadline: int | None,
          unit: str | None = None) -> None:
    """Put a case where the test wants it in work order (the order's columns only), and in the
    hands of `unit`."""
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET state = :s, priority_rank = :r, deadline_on = :d, "
                          "unit_id = (SELECT id FROM orgs WHERE code = :u) WHERE number = :n"),
                     {"s": "closed" if closed else "registered", "r": rank, "n": number, "u": unit,
                      "d": None if deadline is None else dt.date(2024, 1, 1) + dt.timedelta(days=deadline)})


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(texts, texts, places, st.sampled_from(OFFICES), st.sampled_from(UNITS)),
                     min_size=2, max_size=7),
       probes=st.lists(st.tuples(st.text(alphabet=ALPHABET, min_size=1, max_size=4), st.sampled_from(SORTS),
                                 st.sampled_from(["1", "2"])), min_size=2, max_size=4))
def test_every_way_of_reading_a_search_gives_the_same_page_and_total(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
        cases: list[tuple[str, str, Any, str, str | None]],
        probes: list[tuple[str, str | None, str]]) -> None:
    for i, (title, name, (closed, rank, deadline), office, unit) in enumerate(cases):
        # a title of its own: the same title and subject would be linked to the open case as a repeat
        number = CaseService(ctx).register(complaint(title=f"{title} {i}", complainant_name=name,
                                                     office_code=office), actor=CLERK).case.number
        place(ctx, number, closed, rank, deadline, unit)
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    cities = [Actor(f"{code}分流员", "dispatcher", org_id(ctx, code)) for code in ("GS-LZ", "GS-LX")]
    for typed, sort, at in probes:
        params = {"text": typed, "per_page": "2", "page": at, **({"sort": sort} if sort else {})}
        for actor in (DISPATCHER, LEADER, county, *cities):
            read = ways(ctx, monkeypatch, actor, params)
            expected = read.pop("looked up")
            for way, got in read.items():
                assert [r.id for r in got.rows] == [r.id for r in expected.rows], (way, actor.name, params)
                assert (got.total, got.capped) == (expected.total, expected.capped), (way, actor.name, params)


def test_a_common_word_walks_the_cases_in_order_and_a_rare_one_is_looked_up(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    for title in ("小区噪音扰民", "道路噪音", "供暖不达标"):
        CaseService(ctx).register(complaint(title=title), actor=CLERK)
    monkeypatch.setattr(search, "WALK_ABOVE", 1)
    monkeypatch.setattr(search, "NARROW", -1)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    probe = "FROM case_search probed"  # search.text_probe, on either database
    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        common = page(ctx, LEADER, {"text": "噪音"})
        walked = [s for s in seen if probe in s]
        seen.clear()
        rare = page(ctx, LEADER, {"text": "供暖"})
        looked_up = [s for s in seen if probe in s]
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    assert (common.total, len(common.rows), len(walked)) == (2, 2, 1)
    assert (rare.total, len(rare.rows), looked_up) == (1, 1, [])


def test_a_unit_tests_its_own_cases_for_a_word_commoner_than_they_are_and_a_region_looks_its_rows_up(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    for i, office in enumerate(("GS", "GS", "GS", "GS", "GS-LZ-CG", "GS-LZ-CG")):
        number = CaseService(ctx).register(complaint(title=f"{i}号楼噪音扰民", office_code=office),
                                           actor=CLERK).case.number
        if office != "GS":  # the unit's two cases
            CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    heating = CaseService(ctx).register(complaint(title="供暖不达标", office_code="GS-LZ-CG"), actor=CLERK)
    CaseService(ctx).act(heating.case.number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    monkeypatch.setattr(search, "SURELY", 10**9)  # PostgreSQL: count the word's rows, never guess
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    def probes(query: dict[str, str], actor: Actor) -> tuple[int, int]:
        seen.clear()
        listed = page(ctx, actor, query)
        # testing each case: a probe with no lookup (a lookup's cases may be probed too, SQLite's
        # for the identity rule)
        return listed.total, len([s for s in seen if "FROM case_search probed" in s and "MATCH" not in s])

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        common = probes({"text": "噪音"}, unit)  # in 6 cases' rows, the unit holds 3 cases: tested
        rare = probes({"text": "供暖"}, unit)  # in 1: looked up
        # the county holds the same 3 cases, but a region finds the word among its own rows
        region = probes({"text": "噪音"}, county)
        province = probes({"text": "噪音"}, DISPATCHER)  # 6 of 7 cases: looked up
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    assert common == (2, 1)
    assert rare == (1, 0)
    assert region == (2, 0)
    assert province == (6, 0)


@pytest.mark.parametrize(("where", "query", "walks", "sorts"), [
    ("early", {}, 1, 0),  # the page among the first cases walked
    ("late", {}, 1, 1),  # walked as far as the bound, found none: sorted
    ("late", {"state": "closed"}, 1, 0),  # a list of closed cases walks the order's closed part
    ("rare", {}, 0, 1),  # one match in 30 cases would lie further on than the bound: sorted at once
    ("early", {"received_from": "2000-01-01"}, 0, 1),  # a date range bunches its cases: sorted
])
def test_a_found_search_s_page_is_walked_as_far_as_a_bound_and_else_sorted(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, where: str, query: dict[str, str],
        walks: int, sorts: int) -> None:
    """Thirty cases, ten holding the word: first in work order ("early", the others closed), or
    last ("late", they are closed). A walk of at most two cases a match (twenty) finds the first
    page of two among the first, not among the last: then the matches are sorted. Either way the
    page is the matches' first two in order."""
    numbers = []
    for i in range(30):
        word = "噪音" if i % 3 == 0 else "供暖"
        rare = "唯一" if i == 27 else ""
        registered = CaseService(ctx).register(complaint(title=f"{i}号楼{word}{rare}"), actor=CLERK)
        numbers.append(registered.case.number)
    for i, number in enumerate(numbers):
        place(ctx, number, closed=(i % 3 == 0) == (where != "early"), rank=1, deadline=i)
    monkeypatch.setattr(search, "NARROW", -1)
    monkeypatch.setattr(search, "WALK_ABOVE", 10**9)
    monkeypatch.setattr(search, "SURELY", 10**9)  # PostgreSQL: count the word's rows, never guess
    monkeypatch.setattr(search, "BOUNDED_WALK", EVERY_DATABASE)
    monkeypatch.setattr(search, "KEYED_MATCHES", frozenset())  # a sort's way (PostgreSQL's work order: below)
    monkeypatch.setattr(search, "WALK_RATIO", 2)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        got = page(ctx, LEADER, {"text": "唯一" if where == "rare" else "噪音", "per_page": "2", **query})
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    paged = ("ORDER BY", "LIMIT", "OFFSET")  # reading._page: the matches sorted
    sorted_by_id = [s for s in seen if "walked" not in s and all(word in s for word in paged)]
    expected = [numbers[27]] if where == "rare" else [numbers[0], numbers[3]]
    assert ([r.number for r in got.rows], got.total) == (expected, 1 if where == "rare" else 10)
    assert (len([s for s in seen if "walked" in s]), len(sorted_by_id)) == (walks, sorts)


DAYS = st.none() | st.dates()


@settings(max_examples=20, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.booleans(), st.integers(0, 127), DAYS), min_size=2, max_size=12))
@example(rows=[(False, 0, dt.date(1, 1, 2)), (False, 0, dt.date.min)])  # the first days counted
@example(rows=[(False, 127, None), (False, 127, dt.date.max), (True, 0, dt.date.min)])
def test_the_work_order_s_one_number_orders_cases_as_the_work_order_does(
        ctx: ServiceContext, rows: list[tuple[bool, int, dt.date | None]]) -> None:
    """search.work_order_key: whatever the closed flag, the rank the policy gives (up to its
    width), the deadline (any day a date holds, or none) and the id."""
    if ctx.engine.dialect.name not in search.KEYED_MATCHES:
        pytest.skip("the number is PostgreSQL's (search.KEYED_MATCHES)")
    numbers = []  # this example's cases (a case is never deleted: those of earlier ones stay)
    for i, (closed, rank, day) in enumerate(rows):
        numbers.append(CaseService(ctx).register(complaint(title=f"排序{i}"), actor=CLERK).case.number)
        with ctx.engine.begin() as conn:
            conn.execute(text("UPDATE cases SET state = :s, priority_rank = :r, deadline_on = :d "
                              "WHERE number = :n"),
                         {"s": "closed" if closed else "registered", "r": rank, "d": day, "n": numbers[-1]})
    ours = select(Case.id).where(col(Case.number).in_(numbers))
    with ctx.engine.connect() as conn:
        by_order = list(conn.execute(ours.order_by(*search.order_by(CaseFilter()))).scalars())
        by_number = list(conn.execute(ours.order_by(search.work_order_key())).scalars())
    assert by_number == by_order


@pytest.mark.parametrize("query", [{}, {"warning": "none"}, {"received_from": "2000-01-01"},
                                   {"text": "号楼 噪音"}])  # two words apart: PostgreSQL's other statement
def test_a_found_search_s_page_is_picked_by_the_places_its_matches_bring(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, query: dict[str, str]) -> None:
    """PostgreSQL (search.KEYED_MATCHES): the matches of a search in work order bring their place
    in it, and the page is the first of them by it: no statement sorts or walks them, and the
    page is the one a sort gives, in a list of no colour and a date range as well."""
    if ctx.engine.dialect.name not in search.KEYED_MATCHES:
        pytest.skip("SQLite sorts its found cases (search.KEYED_MATCHES)")
    numbers = []
    for i in range(12):
        word = "噪音" if i % 2 == 0 else "供暖"
        numbers.append(CaseService(ctx).register(complaint(title=f"{i}号楼{word}"), actor=CLERK).case.number)
    for i, number in enumerate(numbers):  # the matches' work order is not their order of receipt
        place(ctx, number, closed=i < 4, rank=1 + i % 3, deadline=None if i % 4 == 2 else 30 - i)
    monkeypatch.setattr(search, "NARROW", -1)
    monkeypatch.setattr(search, "WALK_ABOVE", 10**9)
    monkeypatch.setattr(search, "SURELY", 10**9)  # count the word's rows, never guess
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    params = {"text": "噪音", "per_page": "2", "page": "2", **query}
    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        got = page(ctx, LEADER, params)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    monkeypatch.setattr(search, "KEYED_MATCHES", frozenset())
    monkeypatch.setattr(search, "BOUNDED_WALK", frozenset())
    expected = page(ctx, LEADER, params)
    assert len(expected.rows) == 2
    assert ([r.number for r in got.rows], got.total) == ([r.number for r in expected.rows], expected.total)
    paged = ("ORDER BY", "LIMIT", "OFFSET")  # reading._page: the matches sorted
    assert [s for s in seen if all(word in s for word in paged) or "walked" in s] == []
