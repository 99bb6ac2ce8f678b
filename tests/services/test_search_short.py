"""Queries of one and two characters (水, 噪音): the index of unigrams and bigrams (duban.grams,
models/search.py) finds exactly what a plain substring scan of the same texts finds, stays in step
when a text changes, and never reads the raw texts for a reader without the right
to identity."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from duban.grams import fold, grams, token
from duban.services import CaseService, ServiceContext
from duban.services.queries import scope_for
from duban.services.reading import case_page
from duban.services.search import CaseQuery, narrow
from tests.factories import CLERK, DISPATCHER, LEADER, complaint, world

# Few characters, so 1- and 2-character queries often hit and often miss; letters of both cases.
ALPHABET = "噪音水供暖扰民道路村镇款小区aB"
texts = st.text(alphabet=ALPHABET, min_size=1, max_size=14)
queries = st.text(alphabet=ALPHABET, min_size=1, max_size=2)


@given(text_=st.text(min_size=0, max_size=30), typed=st.text(min_size=1, max_size=2))
def test_a_texts_grams_hold_a_short_query_exactly_when_the_text_contains_it(text_: str, typed: str) -> None:
    assert (token(typed) in grams(text_).split()) == (fold(typed) in fold(text_))


def found(ctx: ServiceContext, actor: Any, typed: str) -> set[str]:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse({"text": typed, "per_page": "500"}), ctx.orgs)
    page = case_page(ctx, flt, actor=actor)
    assert not page.capped
    return {r.number for r in page.rows}


def stored_texts(engine: Engine) -> dict[str, tuple[list[str], list[str]]]:
    """Per case: the texts anyone may search, and the raw ones only identity roles may."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT c.number, c.title, c.summary, c.title_redacted, "
                                 "c.summary_redacted, p.name, p.phone FROM cases c "
                                 "JOIN complainants p ON p.id = c.complainant_id"))
        return {r.number: ([r.number, r.title_redacted, r.summary_redacted],
                           [r.title, r.summary, r.name, r.phone]) for r in rows}


def scanned(engine: Engine, typed: str, *, identity: bool) -> set[str]:
    """The plain substring scan: what the index must agree with."""
    return {number for number, (opened, raw) in stored_texts(engine).items()
            if any(fold(typed) in fold(t) for t in opened + (raw if identity else []))}


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


# Each example writes to a real database: a failure is reported as found, not shrunk for minutes.
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=4),
       rewrite=texts, probes=st.lists(queries, min_size=3, max_size=6))
def test_one_and_two_character_queries_find_exactly_what_a_substring_scan_finds(
        ctx: ServiceContext, cases: list[tuple[str, str, str]], rewrite: str, probes: list[str]) -> None:
    numbers = [CaseService(ctx).register(complaint(title=title, summary=summary, complainant_name=name,
                                                   complainant_phone="", subject_name="某单位"),
                                         actor=CLERK).case.number
               for title, summary, name in cases]
    # A text rewritten in place (as re-redaction does): the grams it lost must go from the index.
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET title = :t, title_redacted = :r WHERE number = :n"),
                     {"t": rewrite, "r": rewrite, "n": numbers[0]})
    for typed in probes + [rewrite[:1], rewrite[-2:], cases[0][0][:2]]:
        typed = typed.strip()
        if not typed:
            continue
        assert found(ctx, DISPATCHER, typed) == scanned(ctx.engine, typed, identity=True), typed
        assert found(ctx, LEADER, typed) == scanned(ctx.engine, typed, identity=False), typed


def test_short_queries_never_read_raw_text_for_a_reader_without_identity_rights(ctx: ServiceContext) -> None:
    number = CaseService(ctx).register(complaint(title="某小区供暖不达标", complainant_name="欧阳冰雹",
                                                 complainant_phone="13912345678"), actor=CLERK).case.number
    assert found(ctx, DISPATCHER, "冰雹") == {number}  # the check below can fail
    assert found(ctx, DISPATCHER, "9") == {number}
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append(f"{statement} {parameters}")

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        for typed in ("冰雹", "冰", "欧阳", "9", "13"):
            assert found(ctx, LEADER, typed) == set(), typed
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    assert seen and not any("raw_text" in s or "raw_grams" in s for s in seen)
    # Without a column filter, SQLite's MATCH would read both documents' grams.
    if ctx.engine.dialect.name == "sqlite":
        assert all("open_grams : " in s for s in seen if "case_search_grams MATCH" in s)
