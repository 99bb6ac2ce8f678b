"""A common word's page is read by walking the cases in order and keeping its matches
(duban.services.reading, search.text_probe): that page and the list's total must be exactly what
looking every match up and sorting them gives, in work order and in each sort the walk serves,
for a reader with the right to identity and one without."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlmodel import Session

from duban.services import CaseService, ServiceContext, search
from duban.services.queries import scope_for
from duban.services.reading import CasePage, case_page
from duban.services.search import CaseQuery, narrow
from tests.factories import CLERK, DISPATCHER, LEADER, complaint, world

ALPHABET = "噪音水供暖扰民aB"
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=10)
# Each case's place in work order: closed or not, priority rank, deadline (None: none).
places = st.tuples(st.booleans(), st.integers(0, 3), st.none() | st.integers(0, 3))
SORTS = sorted(search.WALKABLE_SORTS, key=str)


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def page(ctx: ServiceContext, actor: Any, params: dict[str, str]) -> CasePage:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse(params), ctx.orgs)
    return case_page(ctx, flt, actor=actor)


def walked_and_sorted(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, actor: Any,
                      params: dict[str, str]) -> tuple[CasePage, CasePage]:
    monkeypatch.setattr(search, "NARROW", -1)  # no scope is small enough to test case by case
    monkeypatch.setattr(search, "WALK_ABOVE", -1)  # every search walks
    walked = page(ctx, actor, params)
    monkeypatch.setattr(search, "WALK_ABOVE", 10**9)  # none does
    return walked, page(ctx, actor, params)


def place(ctx: ServiceContext, number: str, closed: bool, rank: int, deadline: int | None) -> None:
    """Put a case where the test wants it in work order (the order's columns only)."""
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET state = :s, priority_rank = :r, deadline_on = :d "
                          "WHERE number = :n"),
                     {"s": "closed" if closed else "registered", "r": rank, "n": number,
                      "d": None if deadline is None else dt.date(2024, 1, 1) + dt.timedelta(days=deadline)})


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(texts, texts, places), min_size=2, max_size=7),
       probes=st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=3), min_size=2, max_size=3))
def test_a_walked_page_and_total_equal_those_of_sorting_every_match(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, cases: list[tuple[str, str, Any]],
        probes: list[str]) -> None:
    for title, name, (closed, rank, deadline) in cases:
        number = CaseService(ctx).register(complaint(title=title, complainant_name=name,
                                                     subject_name="某单位"), actor=CLERK).case.number
        place(ctx, number, closed, rank, deadline)
    for typed in probes:
        for sort in SORTS:
            for at in ("1", "2"):
                params = {"text": typed, "per_page": "2", "page": at, **({"sort": sort} if sort else {})}
                for actor in (DISPATCHER, LEADER):
                    walked, looked_up = walked_and_sorted(ctx, monkeypatch, actor, params)
                    assert [r.id for r in walked.rows] == [r.id for r in looked_up.rows], params
                    assert (walked.total, walked.capped) == (looked_up.total, looked_up.capped), params
                    monkeypatch.setattr(search, "NARROW", 10**9)  # every scope is tested case by case
                    tested = page(ctx, actor, params)
                    assert [r.id for r in tested.rows] == [r.id for r in looked_up.rows], params
                    assert (tested.total, tested.capped) == (looked_up.total, looked_up.capped), params


def test_a_common_word_walks_the_cases_in_order_and_a_rare_one_is_looked_up(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    for title in ("小区噪音扰民", "道路噪音", "供暖不达标"):
        CaseService(ctx).register(complaint(title=title), actor=CLERK)
    monkeypatch.setattr(search, "WALK_ABOVE", 1)
    monkeypatch.setattr(search, "NARROW", -1)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    probe = {"sqlite": "cases.id + ", "postgresql": "probed.case_id"}[ctx.engine.dialect.name]
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
