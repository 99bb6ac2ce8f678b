"""Search and list filters (duban.services.search through reading.case_page): what each reader can
find, Chinese queries of every length, the filters, sorting, totals and saved filters."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, event
from sqlalchemy import text as text_sql
from sqlmodel import Session

from duban import scopekeys
from duban.clock import parse_local
from duban.errors import InvalidActionInput
from duban.models.search import SEAM
from duban.services import Actor, CaseService, ServiceContext, reading, search
from duban.services.queries import CaseFilter, scope_for
from duban.services.reading import case_page, list_cases
from duban.services.savedfilters import delete_filter, query_of, save_filter, saved_filters
from duban.services.search import CaseQuery, narrow
from tests.factories import (
    CLERK,
    DISPATCHER,
    LEADER,
    REPORTED,
    SUPERVISOR,
    advance,
    complaint,
    org_id,
    registered,
    unit_actor,
    world,
)

ADMIN = Actor("管理员", "admin")
NAME, PHONE = "司马秘密", "13912345678"


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def found(ctx: ServiceContext, actor: Actor, **params: Any) -> list[str]:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse(params), ctx.orgs)
    return [r.number for r in case_page(ctx, flt, actor=actor).rows]


@contextmanager
def statements(ctx: ServiceContext) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)


def handed(ctx: ServiceContext, unit: str = "GS-LZ-CG-GOV", **overrides: Any) -> str:
    number = CaseService(ctx).register(complaint(**overrides), actor=CLERK).case.number
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": unit})
    return number


def test_a_reader_without_identity_rights_never_finds_a_case_by_the_complainants_phone_or_name(
        ctx: ServiceContext) -> None:
    number = handed(ctx, complainant_name=NAME, complainant_phone=PHONE, complainant_consent=True,
                    title="城关区某小区供暖不达标")
    assert found(ctx, DISPATCHER, text=PHONE) == [number]  # the check below can fail
    assert found(ctx, DISPATCHER, text=NAME) == [number]
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    assert found(ctx, unit) == [number]  # the case is the unit's: only identity keeps it hidden
    for reader in (unit, SUPERVISOR, LEADER, ADMIN):
        for typed in (PHONE, PHONE[3:9], PHONE[-4:], NAME, NAME[:2], NAME[-1]):
            with statements(ctx) as seen:
                assert found(ctx, reader, text=typed) == [], (reader.role, typed)
            assert not any("raw_text" in s for s in seen), "a statement named the raw document"


_PHONE_FORMS = ["13912345678", "139 1234 5678", "139-1234-5678", "+86 139 1234 5678", "(+86)13912345678",
                "0086-139-1234-5678", "8613912345678", "１３９ １２３４ ５６７８"]


@pytest.mark.parametrize("registered", ["139-1234-5678", "+86 139 1234 5678", "13912345678"])
def test_a_phone_is_found_however_it_was_typed_at_registration_and_in_the_search(
        ctx: ServiceContext, registered: str) -> None:
    number = handed(ctx, complainant_name=NAME, complainant_phone=registered, title="供暖不达标")
    other = handed(ctx, complainant_name="欧阳某", complainant_phone="(0931) 888-1234", title="噪音")
    for typed in _PHONE_FORMS:
        assert found(ctx, DISPATCHER, text=typed) == [number], typed
    assert found(ctx, DISPATCHER, text="0931 8881234") == [other]
    assert found(ctx, unit_actor(ctx, "GS-LZ-CG-GOV"), text="139-1234-5678") == []


def test_chinese_queries_of_every_length_find_exactly_the_cases_that_contain_them(
        ctx: ServiceContext) -> None:
    rng = random.Random(5)
    alphabet = "噪音扰民供暖饮水道路物业拖欠工资款小区村镇"
    texts = {}
    for _ in range(12):
        title = "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 10)))
        summary = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        number = CaseService(ctx).register(complaint(title=title, summary=summary, complainant_name="无名",
                                                     complainant_phone=""), actor=CLERK).case.number
        texts[number] = f"{title} {summary}"
    queries = {t[i:i + n] for t in texts.values() for n in (1, 2, 3, 4) for i in range(0, len(t) - n + 1, 3)}
    queries |= {"供暖噪", "款", "镇村"}  # and some that may match nothing
    for typed in sorted(q for q in queries if q.strip() == q and q):
        expected = sorted(n for n, t in texts.items() if all(w in t for w in search.words(typed)))
        assert sorted(found(ctx, LEADER, text=typed, per_page=100)) == expected, typed
    latin = CaseService(ctx).register(complaint(title="小区Wi-Fi信号差"), actor=CLERK).case.number
    for typed in ("wi", "WI", "W", "wi-fi", "WI-FI信号"):  # letters match in either case, at any length
        assert found(ctx, LEADER, text=typed) == [latin], typed


def test_a_reader_of_identity_finds_a_word_in_either_document_and_never_across_their_seam(
        ctx: ServiceContext) -> None:
    # The redacted document ends with the summary; the raw one starts with the title. PostgreSQL
    # indexes the two joined (models/search.py EITHER_TEXT): a word is found in one or the other.
    number = handed(ctx, complainant_name=NAME, complainant_phone=PHONE, title="某村饮水困难",
                    summary="管道老化")
    # (Words apart are each looked for, a control character among them a blank: search.words.)
    for typed in (NAME, PHONE[-4:], "管道老化", "某村饮水", "难 管", "老化", "老化 某村", f"老化{SEAM}某村"):
        assert found(ctx, DISPATCHER, text=typed) == [number], typed
    for typed in ("老化某村", "化某", '"老化 某村"', f'"老化{SEAM}某村"', f'"化{SEAM}某"',
                  f'"{PHONE[-2:]}{SEAM}某"'):
        assert found(ctx, DISPATCHER, text=typed) == [], typed


def test_postgresql_looks_a_word_up_in_either_document_by_one_index_scan(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 answers either column in one lookup of its own")
    handed(ctx, complainant_name=NAME, complainant_phone=PHONE)
    for typed in ("水", "饮水", "饮水困难", PHONE):
        hits = search._hits("postgresql", typed, raw=True)
        sql = str(hits.compile(dialect=ctx.engine.dialect, compile_kwargs={"literal_binds": True}))
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")))
        assert "ix_case_search_either_text" in plan and "BitmapOr" not in plan, (typed, plan)


def test_postgresql_asks_each_match_of_its_list_by_the_scope_index_alone(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reaches a case's row by its rowid; the scope index is PostgreSQL's")
    from duban.services.reading import _list_query, _region

    for unit, place in (("GS-LZ-CG-GOV", "城关区"), ("GS-LX-GOV", "临夏州")):
        handed(ctx, unit=unit, title=f"{place}某村饮水困难")
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")  # as a table long in use: its pages all visible
    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))
    commission = unit_actor(ctx, "GS-JW")  # sees the cases referred to it
    filtered = {"category": "water", "channel": "phone", "received_from": "2020-01-01",
                "subject": "城关区住建局"}
    for reader, filters in ((DISPATCHER, {}), (city, {}), (unit_actor(ctx, "GS-LZ-CG-GOV"), {}),
                            (commission, {}), (SUPERVISOR, {}), (DISPATCHER, filtered), (city, filtered)):
        with Session(ctx.engine) as session:
            query = CaseQuery.parse({"text": "饮水", **filters})
            flt = narrow(scope_for(session, reader), query, ctx.orgs)
            region = _region(ctx, session, flt, reader)
            scoped = _list_query(ctx, flt, region=region, searched=False)
            driven = search.matched_driven("postgresql", "饮水", identity_region=region, scoped=scoped,
                                           keys=search.index_keys(flt, None, "postgresql"))
            sql = str(driven.compile(dialect=ctx.engine.dialect, compile_kwargs={"literal_binds": True}))
            conn = session.connection()
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a few cases: a table's size
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")))
        assert "Index Only Scan using ix_cases_scope" in plan and "cases_pkey" not in plan, (reader, plan)


def test_postgresql_plans_a_search_s_cursor_of_matches_without_reading_the_index_table_whole(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """search.INDEXED_CURSOR: each statement that reads a search's matches from the text index
    is planned with sequential scans off, and the statements after it with the server's own."""
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's FTS5 finds a word's rows by its own index")
    handed(ctx, title="某村饮水困难")
    monkeypatch.setattr(search, "NARROW", -1)  # looked up, not tested case by case
    monkeypatch.setattr(search, "WALK_ABOVE", 10**9)
    settings_at: list[tuple[bool, str]] = []  # (reads the matches, the setting it is planned with)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            shown = cursor.connection.execute("SHOW enable_seqscan").fetchone()[0]
            settings_at.append(("case_search" in statement and " AS hit" in statement, shown))

    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))
    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        for reader, params in ((DISPATCHER, {"text": "饮水"}),
                               (city, {"text": "饮水困难", "warning": "none"}),
                               (DISPATCHER, {"text": "饮水 困难", "sort": "number"})):
            assert found(ctx, reader, **params)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    matches = [shown for reads, shown in settings_at if reads]
    after = [shown for i, (reads, shown) in enumerate(settings_at)
             if not reads and any(r for r, _ in settings_at[:i])]
    assert len(matches) >= 3 and set(matches) == {"off"}, settings_at
    assert after and set(after) == {"on"}, settings_at


@pytest.mark.parametrize("few", [search.FILTERED_FEW, 0])
def test_a_list_a_filter_narrows_reads_the_same_whether_its_cases_are_few_or_many(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, few: int) -> None:
    # FILTERED_FEW: a list (and a search) a filter leaves few cases in is read by their ids, or by
    # testing each; 0: as a broad one is (walked in order, the word's matches looked up).
    monkeypatch.setattr(search, "FILTERED_FEW", few)
    bureau, handlers = "城关区住建局", ["GS-LZ-CG-GOV", "GS-LZ-CG-GOV", "GS-LX-GOV", "GS-LZ-CG-GOV"]
    numbers = [handed(ctx, unit=unit, subject_name="某公司" if i == 1 else bureau,
                      subject_org_code=None if i == 1 else "GS-LZ-CG-ZJJ",
                      title=f"第{next(_SERIAL)}件饮水困难", summary="影响正常生活" if i % 2 else "道路")
               for i, unit in enumerate(handlers)]
    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))
    named, theirs = {"subject": bureau, "per_page": "100"}, sorted([numbers[0], numbers[2], numbers[3]])
    assert sorted(found(ctx, DISPATCHER, **named)) == theirs
    assert sorted(found(ctx, city, **named)) == sorted([numbers[0], numbers[3]])
    assert sorted(found(ctx, DISPATCHER, text="饮水", **named)) == theirs
    assert found(ctx, city, text="正常生活", **named) == [numbers[3]]
    assert found(ctx, DISPATCHER, text="正常生活", subject="某公司") == [numbers[1]]
    # received since a day: SQLite reads the newest cases' matches first
    since = {"received_from": "2020-01-01", "per_page": "100"}
    assert sorted(found(ctx, DISPATCHER, text="饮水", **since)) == sorted(numbers)
    assert sorted(found(ctx, city, text="正常生活", **since)) == sorted([numbers[1], numbers[3]])
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, DISPATCHER), CaseQuery.parse({**named, "per_page": "2", "page": "2"}),
                     ctx.orgs)
    page = case_page(ctx, flt, actor=DISPATCHER)
    assert (page.total, len(page.rows)) == (3, 1)


@contextmanager
def parameters(ctx: ServiceContext) -> Iterator[list[str]]:
    """Every value bound to a statement, as text."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        values = params.values() if isinstance(params, dict) else params
        seen.extend(str(v) for v in values)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("looked_up", [True, False])
def test_a_search_in_a_category_a_channel_or_a_few_months_asks_the_index_for_their_rows_alone(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, looked_up: bool) -> None:
    if looked_up:  # as in a large database: the word's rows looked up, never each case tested
        monkeypatch.setattr(search, "FILTERED_FEW", 0)
        monkeypatch.setattr(search, "NARROW", 0)
    # (category, channel, time of receipt in Asia/Shanghai): both sides of October's first
    # midnight there (16:00 UTC the day before), and a case in December
    made = {}
    for at, category, channel in (("2023-09-30 23:59", "water", "letter"),
                                  ("2023-10-01 00:00", "water", "phone"),
                                  ("2023-10-20 09:00", "arrears", "letter"),
                                  ("2023-12-05 09:00", "water", "phone")):
        ctx.clock.set(parse_local(at))  # type: ignore[attr-defined]
        number = handed(ctx, title=f"第{next(_SERIAL)}件饮水困难", summary="影响正常生活",
                        category=category, channel=channel)
        made[number] = (at[:10], category, channel)
    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))

    def expected(category: str = "", channel: str = "", since: str = "", until: str = "9999") -> list[str]:
        return sorted(n for n, (day, c, h) in made.items()
                      if category in ("", c) and channel in ("", h) and since <= day <= until)

    asked = [({"category": "water"}, expected(category="water"), scopekeys.category_key("water")),
             ({"channel": "letter"}, expected(channel="letter"), scopekeys.channel_key("letter")),
             ({"received_from": "2023-10-01", "received_to": "2023-10-31"},
              expected(since="2023-10-01", until="2023-10-31"), "month=202310"),
             ({"received_from": "2023-10-01"}, expected(since="2023-10-01"), "month=202312"),
             ({"received_to": "2023-09-30"}, expected(until="2023-09-30"), "month=202309"),
             ({"category": "water", "received_from": "2023-10-01"},
              expected(category="water", since="2023-10-01"), scopekeys.category_key("water")),
             # a year: the keys of its months from the first case's on
             ({"received_from": "2023-01-01", "received_to": "2023-12-31"},
              expected(since="2023-01-01", until="2023-12-31"), "month=202309"),
             # a range reaching before the first case: its months from the first case's on
             ({"received_from": "2020-01-01"}, expected(since="2020-01-01"), "month=202309")]
    for reader in (DISPATCHER, city):
        for typed in ("饮水", "饮水困难", "影响正常生活"):
            for filters, listed, key in asked:
                with parameters(ctx) as bound:
                    got = sorted(found(ctx, reader, text=typed, **filters))
                assert got == listed, (reader, typed, filters)
                if not looked_up:
                    continue
                # the key is asked of the index: as itself (PostgreSQL) or as its token (SQLite)
                assert [v for v in bound if key == v or scopekeys.token(key) in v], (typed, filters, bound)
                # and never a month before the first case or after the last
                assert not [v for v in bound if any(m in v for m in _OUTSIDE)], (typed, filters)


@pytest.mark.parametrize("looked_up", [False, True])
def test_a_list_of_one_state_or_of_the_open_cases_searched_asks_for_its_side_of_finished(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, looked_up: bool) -> None:
    """Finished is closed or not accepted: on PostgreSQL (search.STATE_KEYS) a state's list asks
    the index for its side's rows alone, and finds exactly the cases in that state whichever side
    they crossed to and back."""
    if looked_up:  # as in a large database: the word's rows looked up, never each case tested
        monkeypatch.setattr(search, "FILTERED_FEW", 0)
        monkeypatch.setattr(search, "NARROW", 0)
    service = CaseService(ctx)

    def made(state: str) -> str:
        number = (handed if state != "received" else registered)(ctx, title=f"第{next(_SERIAL)}件饮水困难")
        if state == "not_accepted":
            with ctx.engine.begin() as conn:  # back to triage, as a reinstated case is
                conn.execute(text_sql("UPDATE cases SET state = 'received' WHERE number = :n"), {"n": number})
            service.act(number, "decline", actor=DISPATCHER, form={"decline_reason": "outside_remit"})
        elif state != "transferred" and state != "received":  # closed, or closed and opened again
            with ctx.engine.begin() as conn:
                for step in ("closed", state):
                    conn.execute(text_sql("UPDATE cases SET state = :s, deadline_on = NULL "
                                          "WHERE number = :n"), {"n": number, "s": step})
        return number

    states = ("received", "transferred", "not_accepted", "closed", "recheck", "transferred", "closed")
    cases = {made(state): state for state in states}
    open_states = {"received", "transferred", "recheck"}
    finished = ("closed", "not_accepted")
    asked = [({"state": state}, {state}, scopekeys.FINISHED if state in finished else scopekeys.OPEN)
             for state in sorted(set(states))] + [({"open": "1"}, open_states, scopekeys.OPEN)]
    for filters, kept, key in asked:
        with parameters(ctx) as bound:
            got = sorted(found(ctx, DISPATCHER, text="饮水困难", **filters))
        assert got == sorted(n for n, state in cases.items() if state in kept), filters
        if not looked_up:
            continue
        other = scopekeys.OPEN if key == scopekeys.FINISHED else scopekeys.FINISHED
        asks = ctx.engine.dialect.name in search.STATE_KEYS
        assert bool([v for v in bound if key == v or scopekeys.token(key) in v]) is asks, (filters, bound)
        assert not [v for v in bound if other == v or scopekeys.token(other) in v], filters


# Month keys outside the cases above (September to December 2023), as bound on either database.
_OUTSIDE = [f(f"month={m}") for m in ("2020", "202308", "202401") for f in (str, scopekeys.token)]


def test_a_range_of_more_than_a_year_of_months_is_read_a_year_at_a_time_newest_first_on_postgresql(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's bitmaps read a word's rows in the table's order: a common word's count over a
    wide range is reached within its newest months, read first, and never reads the older."""
    monkeypatch.setattr(search, "FILTERED_FEW", 0)  # the word's rows looked up, as in a large database
    monkeypatch.setattr(search, "NARROW", 0)
    made = []
    for at in ("2022-03-10 09:00", "2023-06-01 09:00", "2023-12-05 09:00"):
        ctx.clock.set(parse_local(at))  # type: ignore[attr-defined]
        made.append(handed(ctx, title=f"第{next(_SERIAL)}件饮水困难", summary="影响正常生活"))
    handed(ctx, title="道路破损", summary="路面坑洼")
    passes = ctx.engine.dialect.name in search.MONTH_PASSES
    for typed in ("饮水", "影响正常生活"):
        # every match found, whatever pass holds it (22 months: 2022-03 to 2023-12)
        with parameters(ctx) as bound:
            assert sorted(found(ctx, DISPATCHER, text=typed, received_from="2021-01-01")) == sorted(made)
        months = [m for m in ("month=202312", "month=202301", "month=202212", "month=202203")
                  if [v for v in bound if v == m]]
        assert months == (["month=202312", "month=202301", "month=202212", "month=202203"] if passes else [])
        # the count passes its cap in the newest pass: the older is never asked
        monkeypatch.setattr(search, "COUNT_CAP", 1)
        with Session(ctx.engine) as session:
            flt = narrow(scope_for(session, DISPATCHER),
                         CaseQuery.parse({"text": typed, "received_from": "2021-01-01"}), ctx.orgs)
        with parameters(ctx) as bound:
            page = case_page(ctx, flt, actor=DISPATCHER)
        assert page.capped and sorted(r.number for r in page.rows) == sorted(made)
        assert ("month=202212" in bound) is False
        assert ("month=202312" in bound) is passes
        monkeypatch.setattr(search, "COUNT_CAP", 10_000)


def test_the_passes_of_a_range_hold_its_months_newest_first_a_year_at_most_each() -> None:
    flt = CaseFilter(office_prefix="GS-LZ", extra={"category": "water"})
    other = (("GS-LZ",), (scopekeys.category_key("water"),))
    for first, last, sizes in ((dt.date(2022, 1, 15), dt.date(2024, 1, 5), [12, 12, 1]),
                               (dt.date(2023, 1, 1), dt.date(2023, 12, 31), [12]),
                               (dt.date(2023, 1, 1), dt.date(2024, 1, 1), [12, 1]),
                               (dt.date(2023, 5, 2), dt.date(2023, 5, 3), [1])):
        months = scopekeys.month_keys(first, last)
        passes = search.index_passes("postgresql", flt, (first, last))
        assert [len(p[-1]) for p in passes] == sizes
        assert all(p[:-1] == other for p in passes)
        # the passes newest first, each month in one of them
        assert [m for p in passes for m in sorted(p[-1], reverse=True)] == months[::-1]
        # one pass of index_keys where the index reads in an order of its own, or for a year
        one = search.index_passes("sqlite", flt, (first, last))
        assert one == [search.index_keys(flt, (first, last), "sqlite")]
        assert (one == passes) is (len(months) <= search.MONTH_KEYS)
    assert search.index_passes("postgresql", flt, None) == [other]


def test_a_common_word_s_page_in_a_date_range_is_read_by_walking_the_work_order(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # as in a large database with a common word: its page read by walking the list's order
    for name in ("FILTERED_FEW", "NARROW", "WALK_ABOVE"):
        monkeypatch.setattr(search, name, 0)
    made = {}
    for at in ("2023-09-30 23:59", "2023-10-01 00:00", "2023-10-31 23:59", "2023-11-01 00:00"):
        ctx.clock.set(parse_local(at))  # type: ignore[attr-defined]
        made[handed(ctx, title=f"第{next(_SERIAL)}件饮水困难")] = at[:10]
    october = sorted(n for n, day in made.items() if day.startswith("2023-10"))
    city = Actor("兰州市分流员", "dispatcher", org_id(ctx, "GS-LZ"))
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        seen.append((statement, params))

    for reader in (DISPATCHER, city):
        seen.clear()
        event.listen(ctx.engine, "before_cursor_execute", record)
        try:
            got = found(ctx, reader, text="饮水", received_from="2023-10-01", received_to="2023-10-31")
        finally:
            event.remove(ctx.engine, "before_cursor_execute", record)
        assert sorted(got) == october, reader
        if ctx.engine.dialect.name not in search.UNINDEXED_WALK:
            continue
        # SQLite plans by the index that bounds the most: told nothing, it reads the whole range
        # by its receipt times and sorts it, where the walk finds the page in the first cases.
        paged = [(st, p) for st, p in seen if "ORDER BY" in st and "LIMIT" in st]
        assert paged, reader
        with ctx.engine.connect() as conn:
            for statement, params in paged:
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                plan = " ".join(str(r) for r in rows)
                assert "ix_cases_received_at" not in plan, plan


@pytest.mark.parametrize("typed", [None, "饮水"])
def test_a_list_of_closed_cases_starts_its_walk_of_the_work_order_at_the_closed_ones(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, typed: str | None) -> None:
    # as in a large database with a common word: its page read by walking the list's order
    for name in ("FILTERED_FEW", "NARROW", "WALK_ABOVE"):
        monkeypatch.setattr(search, name, 0)
    made = {handed(ctx, title=f"第{next(_SERIAL)}件饮水困难"): i % 3 == 0 for i in range(9)}
    shut = sorted(n for n, closed in made.items() if closed)
    with ctx.engine.begin() as conn:
        conn.execute(text_sql("UPDATE cases SET state = 'closed', deadline_on = NULL WHERE number IN :n")
                     .bindparams(bindparam("n", expanding=True)), {"n": shut})
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        seen.append((statement, params))

    asked = {"state": "closed", **({"text": typed} if typed else {})}
    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        got = found(ctx, DISPATCHER, **asked)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    assert sorted(got) == shut
    assert found(ctx, DISPATCHER, sort="-number", **asked) == shut[::-1]
    if ctx.engine.dialect.name not in search.CLOSED_SEEK:
        return
    # SQLite put the compared state in place of the column in the order's first key, and walked
    # every open case before the first closed one
    paged = [(st, p) for st, p in seen if "ORDER BY" in st and "LIMIT" in st]
    assert paged
    with ctx.engine.connect() as conn:
        for statement, params in paged:
            plan = " ".join(str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert "ix_cases_work_order (<expr>>?)" in plan, plan


def test_reports_and_notes_are_searched_once_written(ctx: ServiceContext) -> None:
    number = handed(ctx, title="某村饮水困难")
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    assert found(ctx, LEADER, text="管道已经更换") == []
    CaseService(ctx).act(number, "submit_report", actor=unit, form={"text": "管道已经更换完毕", **REPORTED})
    assert found(ctx, LEADER, text="管道已经更换") == [number]
    assert found(ctx, LEADER, text="管道") == [number]  # a 2-character word too
    assert found(ctx, unit, text="更换完毕") == [number]


def test_filters_narrow_by_category_channel_received_dates_and_units_named(ctx: ServiceContext) -> None:
    water = handed(ctx, title="某村饮水困难", category="water", channel="letter",
                   subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ")
    advance(ctx, days=3)
    arrears = handed(ctx, unit="GS-LZ-CG-SWJ")
    assert found(ctx, ADMIN, category="water") == [water]
    assert found(ctx, ADMIN, channel="letter") == [water]
    assert found(ctx, ADMIN, received_from="2023-09-28") == [arrears]
    assert found(ctx, ADMIN, received_to="2023-09-27") == [water]
    assert found(ctx, ADMIN, received_from="2023-09-27", received_to="2023-09-27") == [water]
    assert found(ctx, ADMIN, subject="城关区水务局") == [water]  # by name, not by org code
    assert found(ctx, ADMIN, unit="城关区人民政府") == [water]
    assert found(ctx, ADMIN, unit="GS-LZ-CG-SWJ") == [arrears]
    with pytest.raises(InvalidActionInput) as refused:
        found(ctx, ADMIN, unit="没有这个单位")
    assert refused.value.field == "unit"
    # A unit asking for another unit's cases gets none.
    assert found(ctx, unit_actor(ctx, "GS-LZ-CG-GOV"), unit="城关区水务局") == []


def test_sorting_by_a_column_and_paging_with_a_total(ctx: ServiceContext) -> None:
    numbers = []
    for i in range(5):
        numbers.append(handed(ctx, title=f"第{i}件"))
        advance(ctx, hours=1)
    assert found(ctx, ADMIN, sort="received") == numbers
    assert found(ctx, ADMIN, sort="-received") == numbers[::-1]
    assert found(ctx, ADMIN, sort="-number", per_page=2, page=2) == numbers[::-1][2:4]
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, ADMIN), CaseQuery.parse({"per_page": "2", "page": "3"}), ctx.orgs)
    page = case_page(ctx, flt, actor=ADMIN)
    assert (page.total, page.capped, len(page.rows)) == (5, False, 1)
    with pytest.raises(InvalidActionInput) as refused:
        CaseQuery.parse({"sort": "complainant_phone"})
    assert refused.value.field == "sort"


def test_the_warning_filter_pages_like_the_others(ctx: ServiceContext) -> None:
    numbers = [handed(ctx, title=f"第{i}件") for i in range(4)]
    advance(ctx, days=60)
    red = found(ctx, ADMIN, warning="red", per_page=100)
    assert sorted(red) == sorted(numbers)
    assert found(ctx, ADMIN, warning="red", per_page=2, page=2) == red[2:4]
    assert found(ctx, ADMIN, warning="yellow") == []
    with Session(ctx.engine) as session:
        scope = scope_for(session, ADMIN)
    flt = narrow(scope, CaseQuery.parse({"warning": "red", "per_page": "3"}), ctx.orgs)
    assert case_page(ctx, flt, actor=ADMIN).total == 4
    assert len(list_cases(ctx, flt, actor=ADMIN)) == 3


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limits=st.lists(st.tuples(st.none() | st.integers(-12, 40), st.none() | st.integers(0, 30),
                                 st.none() | st.integers(-12, 40), st.integers(0, 2), st.booleans()),
                       min_size=3, max_size=8),
       text=st.sampled_from([None, "供暖"]))
def test_each_colour_lists_exactly_the_cases_that_show_it(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
        limits: list[tuple[int | None, int | None, int | None, int, bool]], text: str | None) -> None:
    """Red is filtered in SQL (it is exactly "late"), the others by the calendar, case by case
    (after SQL leaves out what cannot show them: a colour needs a deadline not passed, blue a
    limit with a start): either way a colour's list is the cases whose row shows that colour, in
    the list's order (the province's read a range of the work-order index at a time: open and
    closed cases, priorities, cases with and without a deadline). Searched, a colour's list is
    found by its few candidates' texts, or by its word's matches coloured (all of them, or past
    the cap: COUNT_CAP 2, its page by walking the order)."""
    today = ctx.today()
    for i, (due, ran, missed, rank, closed) in enumerate(limits):
        # a title never used before: the same one would be linked to its open case as a repeat
        number = handed(ctx, title=f"第{next(_SERIAL)}件{'供暖' if i % 2 else '道路'}问题",
                        office_code="GS-LZ-CG" if i % 3 else "GS")
        with ctx.engine.begin() as conn:  # the deadline columns only, as a limit and a raise leave them
            conn.execute(text_sql("UPDATE cases SET deadline_on = :d, deadline_start = :s, "
                                  "missed_deadline_on = :m, priority_rank = :r, "
                                  "state = CASE WHEN :c THEN 'closed' ELSE state END WHERE number = :n"),
                         {"d": _day(today, due), "m": _day(today, missed), "n": number, "r": rank,
                          "c": closed, "s": None if due is None or ran is None else _day(today, due - ran)})
    params = {"per_page": "500", **({"text": text} if text else {})}
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    # the province's scope, streamed; a county's, read at once; a colour's few candidates read at
    # once, or (NARROW -1: none is few) streamed; a county's list of no colour streamed, its page
    # alone, and counted apart (APART_SHARE 10: any scope's share is small enough); a word's
    # matches bringing their rows' colour columns (SQLite), or those fetched by id after
    dialect = ctx.engine.dialect.name
    for actor, narrowest, share, by_id in [
            (ADMIN, search.NARROW, 0, False), (county, search.NARROW, 0, False), (ADMIN, -1, 0, False),
            (county, -1, 0, False), (county, -1, 10, False), (ADMIN, -1, 0, True), (county, -1, 0, True)]:
        with monkeypatch.context() as patched:
            patched.setattr(search, "NARROW", narrowest)
            patched.setattr(search, "APART_SHARE", share)
            patched.setattr(search, "ROWS_DRIVEN", search.ROWS_DRIVEN - {dialect} if by_id
                            else search.ROWS_DRIVEN)
            every = _rows(ctx, actor, params)
            for colour in ("none", "blue", "yellow", "red"):
                shown = [r.number for r in every if r.warning == colour]
                listed = _rows(ctx, actor, {**params, "warning": colour})
                assert [r.number for r in listed] == shown, (colour, narrowest)
                second = _page(ctx, actor, {**params, "warning": colour, "per_page": "2", "page": "2"})
                assert [r.number for r in second.rows] == shown[2:4], (colour, narrowest)
                assert (second.total, second.capped) == (len(shown), False), (colour, narrowest, share)
                patched.setattr(search, "COUNT_CAP", 2)  # a total past the cap: the cap and "more"
                first = _page(ctx, actor, {**params, "warning": colour, "per_page": "1"})
                assert (first.total, first.capped) == (min(len(shown), 2), len(shown) > 2), (colour, share)
                assert [r.number for r in first.rows] == shown[:1], (colour, share)
                patched.setattr(search, "COUNT_CAP", 10_000)


@pytest.mark.parametrize("by_id", [False, True])
def test_a_colour_s_list_searched_holds_only_its_own_matches_whichever_way_their_rows_come(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, by_id: bool) -> None:
    """A word's matches are asked of the list (its scope, not late) before they are coloured,
    whether they bring their rows' colour columns (search.ROWS_DRIVEN: SQLite) or those are
    fetched by id after: a match outside the county, one of another unit than the list's
    (a filter the index's keys do not hold), a late one and one of another colour are left out
    of the list and its total; a case without the word is never in it."""
    today = ctx.today()
    matched, colours = [], {}
    # (office, handling unit, days to the deadline, closed, holds the word, its colour in the list)
    for office, unit, due, closed, word, colour in (
            ("GS-LZ-CG", "GS-LZ-CG-GOV", 30, False, True, "none"),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", None, True, True, "none"),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", 0, False, True, "yellow"),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", -3, False, True, "red"),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", 30, False, False, "none"),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", 0, False, False, "yellow"),
            ("GS-LZ-CG", "GS-LZ-CG-SWJ", 30, False, True, None),
            ("GS-LZ-CG", "GS-LZ-CG-SWJ", 0, False, True, None),
            ("GS", "GS-FGW", 30, False, True, None), ("GS", "GS-FGW", None, True, True, None),
            ("GS", "GS-FGW", 0, False, True, None)):
        number = handed(ctx, unit=unit, office_code=office,
                        title=f"第{next(_SERIAL)}件{'供暖' if word else '道路'}问题")
        with ctx.engine.begin() as conn:
            conn.execute(text_sql("UPDATE cases SET deadline_on = :d, deadline_start = NULL, "
                                  "state = CASE WHEN :c THEN 'closed' ELSE state END WHERE number = :n"),
                         {"d": _day(today, due), "n": number, "c": closed})
        colours[number] = colour
        if word:
            matched.append(number)
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    dialect = ctx.engine.dialect.name
    monkeypatch.setattr(search, "NARROW", -1)  # a colour's candidates are not few: the matches coloured
    if by_id:
        if dialect not in search.ROWS_DRIVEN:
            pytest.skip("this database's matches are always fetched by id")
        monkeypatch.setattr(search, "ROWS_DRIVEN", search.ROWS_DRIVEN - {dialect})
    for colour in ("none", "yellow"):
        params = {"per_page": "500", "warning": colour, "unit": "GS-LZ-CG-GOV"}
        listed = [r.number for r in _rows(ctx, county, params)]
        wanted = [number for number in listed if number in matched]
        assert sorted(wanted) == sorted(n for n in matched if colours[n] == colour), colour
        searched = _page(ctx, county, {**params, "text": "供暖"})
        assert [r.number for r in searched.rows] == wanted, colour
        assert (searched.total, searched.capped) == (len(wanted), False), colour


def test_a_list_of_no_colour_of_a_small_share_of_the_cases_is_counted_apart_from_its_page(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its page read in the work order, its total from its cases in no order: the same page and
    total as the walk gives, capped alike, its cases with a deadline coloured too."""
    today = ctx.today()
    # (days to the deadline, closed): far off and none, near and yellow, passed and red, none
    for due, closed in ((30, False), (40, False), (1, False), (-3, False), (None, True), (None, False),
                        (35, False), (None, True)):
        number = handed(ctx, title=f"第{next(_SERIAL)}件供暖问题", office_code="GS-LZ-CG")
        with ctx.engine.begin() as conn:
            conn.execute(text_sql("UPDATE cases SET deadline_on = :d, deadline_start = NULL, "
                                  "state = CASE WHEN :c THEN 'closed' ELSE state END WHERE number = :n"),
                         {"d": _day(today, due), "n": number, "c": closed})
    for _ in range(3):  # the province's own, outside the county's scope
        handed(ctx, unit="GS-FGW", title=f"第{next(_SERIAL)}件道路问题", office_code="GS")
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    apart = []
    monkeypatch.setattr(reading, "_uncoloured_total",
                        lambda *a, **k: apart.append(1) or uncoloured_total(*a, **k))
    monkeypatch.setattr(search, "NARROW", -1)  # streamed, as a scope of more than a few thousand
    every = _page(ctx, county, {"per_page": "500"}).rows
    shown = [r.number for r in every if r.warning == "none"]
    # cases of no colour with a deadline and without, and cases of another colour
    assert {r.deadline_on is None for r in every if r.warning == "none"} == {True, False}
    assert len(shown) > 4 and len(shown) < len(every)
    for cap in (10_000, len(shown) - 2):
        monkeypatch.setattr(search, "COUNT_CAP", cap)
        pages = []
        for share in (0, 10):  # walked; counted apart (a case in two of the scope's branches counts twice)
            monkeypatch.setattr(search, "APART_SHARE", share)
            apart.clear()
            page = _page(ctx, county, {"warning": "none", "per_page": "2", "page": "2"})
            assert bool(apart) is bool(share)
            pages.append(([r.number for r in page.rows], page.total, page.capped))
        assert pages[0] == pages[1] == (shown[2:4], min(len(shown), cap), len(shown) > cap)
    # a scope that holds more than the share of all cases is walked
    monkeypatch.setattr(search, "APART_SHARE", 0.01)
    apart.clear()
    assert _page(ctx, county, {"warning": "none", "per_page": "2"}).total == len(shown) - 2 and not apart


@pytest.mark.parametrize("word", ["供暖", "供暖Жк"])
def test_a_list_of_no_colour_searched_counts_its_matches_without_a_deadline_by_the_index(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    """A case with neither a running deadline nor a missed one shows no colour whatever the
    calendar says: the list counts those of the word's matches in its scope (once a case, whatever
    rows hold the word) by their key, and past the cap reads its page by walking its order without
    colouring a match; at or under the cap, it colours the matches with a deadline, found by
    theirs. The count is the list's own, where an index cannot ask the key (SQLite's trigrams: a
    letter with a case, Ж)."""
    today = ctx.today()
    undated = []
    # (office, unit, holds the word, running deadline, missed deadline, closed, a report holding it)
    for office, unit, holds, due, missed, closed, reported in (
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, None, None, True, False),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, None, None, True, False),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, None, None, False, False),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, None, None, False, True),
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, 30, None, False, False),  # none by the calendar
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, None, 30, False, False),  # a missed deadline alone
            ("GS-LZ-CG", "GS-LZ-CG-GOV", True, 0, None, False, False),  # yellow
            ("GS-LZ-CG", "GS-LZ-CG-GOV", False, None, None, True, False),
            ("GS", "GS-FGW", True, None, None, True, False),  # outside the county
            ("GS", "GS-FGW", True, None, None, False, False)):
        number = handed(ctx, unit=unit, office_code=office,
                        title=f"第{next(_SERIAL)}件{word if holds else '道路'}问题")
        if reported:
            CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, unit),
                                 form={**REPORTED, "text": f"{word}已恢复，经核查属实"})
        with ctx.engine.begin() as conn:
            conn.execute(text_sql("UPDATE cases SET deadline_on = :d, missed_deadline_on = :m, "
                                  "deadline_start = NULL, state = CASE WHEN :c THEN 'closed' ELSE state END "
                                  "WHERE number = :n"),
                         {"d": _day(today, due), "m": _day(today, missed), "n": number, "c": closed})
        if holds and office == "GS-LZ-CG" and due is None and missed is None:
            undated.append(number)
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    matched = set(found(ctx, county, text=word, per_page="500"))
    uncoloured = _rows(ctx, county, {"per_page": "500", "warning": "none"})
    shown = [r.number for r in uncoloured if r.number in matched]
    assert len(shown) == len(undated) + 2  # and the two with a deadline of no colour
    lookups: list[Any] = []
    monkeypatch.setattr(reading, "_matches", lambda *a, **k: lookups.append(a[4]) or matches(*a, **k))
    dialect = ctx.engine.dialect.name
    monkeypatch.setattr(search, "NARROW", -1)  # the county's scope is broad
    # a key's lookup cheap or dear (then only a word in at least as many index rows as the cap is
    # parted: this one is in 10); the cap passed by the cases without a deadline, or not
    for dear, cap in itertools.product((False, True), (len(undated) - 1, len(undated), 10_000)):
        monkeypatch.setattr(search, "KEYS_DEAR", frozenset({dialect} if dear else ()))
        monkeypatch.setattr(search, "COUNT_CAP", cap)
        lookups.clear()
        page = _page(ctx, county, {"warning": "none", "text": word, "per_page": "2"})
        assert [r.number for r in page.rows] == shown[:2], cap
        assert (page.total, page.capped) == (min(cap, len(shown)), len(shown) > cap), cap
        # the matches without a deadline by their key; those with one, only under the cap
        parted = not dear or cap <= 10
        both = [{scopekeys.UNDATED}, *([{scopekeys.DATED}] if cap >= len(undated) else [])]
        assert [_deadline_keys(passes) for passes in lookups] == (both if parted else [set()]), (dear, cap)
    monkeypatch.setattr(search, "NARROW", 20_000)  # the county's few cases: its matches coloured
    monkeypatch.setattr(search, "KEYS_DEAR", frozenset())
    lookups.clear()
    assert [r.number for r in _page(ctx, county, {"warning": "none", "text": word}).rows] == shown
    assert [_deadline_keys(passes) for passes in lookups] == [set()]


def test_a_list_of_no_colour_searched_past_the_cap_asks_how_broad_its_scope_is_once(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the county's scope is broad decides both that its matches without a deadline are
    counted by their key and that its page, past the cap, is read by walking the order: counted
    once for both (a city's count of its scope: 6 ms at a million)."""
    for _ in range(3):
        number = handed(ctx, title=f"第{next(_SERIAL)}件供暖问题", office_code="GS-LZ-CG")
        with ctx.engine.begin() as conn:
            conn.execute(text_sql("UPDATE cases SET deadline_on = NULL WHERE number = :n"), {"n": number})
    monkeypatch.setattr(search, "NARROW", -1)  # the county's scope is broad
    monkeypatch.setattr(search, "COUNT_CAP", 1)
    county = Actor("城关区分流员", "dispatcher", org_id(ctx, "GS-LZ-CG"))
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        page = _page(ctx, county, {"warning": "none", "text": "供暖", "per_page": "1"})
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    assert (page.total, page.capped, len(page.rows)) == (1, True, 1)
    assert len([s for s in seen if "count(*)" in s and "case_search" not in s]) == 1


def _deadline_keys(passes: list[Any]) -> set[str]:
    """The keys of a deadline a search's passes ask the index for."""
    return {k for keys in passes for group in keys for k in group if k.startswith("deadline=")}


matches = reading._matches
uncoloured_total = reading._uncoloured_total
_SERIAL = itertools.count()


def _day(today: dt.date, days: int | None) -> dt.date | None:
    return None if days is None else today + dt.timedelta(days=days)


def _rows(ctx: ServiceContext, actor: Actor, params: dict[str, str]) -> list[Any]:
    return _page(ctx, actor, params).rows


def _page(ctx: ServiceContext, actor: Actor, params: dict[str, str]) -> Any:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse(params), ctx.orgs)
    return case_page(ctx, flt, actor=actor)


def test_one_query_parses_the_same_from_any_face_and_writes_itself_back() -> None:
    typed = {"text": " 供暖 ", "state": "transferred", "open": "1", "overdue": "on",
             "received_from": "2023-09-01", "unit": "城关区人民政府", "sort": "-received", "page": "2",
             "category": ""}
    query = CaseQuery.parse(typed)
    assert (query.text, query.open_only, query.overdue, query.category) == ("供暖", True, True, None)
    assert query.page == 2
    assert CaseQuery.parse(query.to_params()) == query
    assert query.to_params(page=1).get("page") is None
    for bad in ({"state": "lost"}, {"received_from": "2023-13-01"}, {"page": "0"}, {"category": "x"}):
        with pytest.raises(InvalidActionInput) as refused:
            CaseQuery.parse(bad)
        assert refused.value.field == next(iter(bad))


def test_saved_filters_belong_to_their_user(ctx: ServiceContext) -> None:
    from duban.services.users import create_user

    alice = create_user(ctx, username="alice", password="correct-horse-battery-9", role="dispatcher",
                        org_code="GS")
    bob = create_user(ctx, username="bob", password="correct-horse-battery-9", role="dispatcher",
                      org_code="GS")
    assert alice.id is not None and bob.id is not None
    first, second = CaseQuery.parse({"text": "供暖", "overdue": "1"}), CaseQuery.parse({"text": "暖气"})
    mine = save_filter(ctx, user_id=alice.id, name="超期供暖", query=first)
    save_filter(ctx, user_id=alice.id, name="超期供暖", query=second)
    [kept] = saved_filters(ctx, user_id=alice.id)
    assert kept.name == "超期供暖" and query_of(kept).text == "暖气"
    assert saved_filters(ctx, user_id=bob.id) == []
    assert mine.id is not None
    delete_filter(ctx, user_id=bob.id, filter_id=mine.id)  # not bob's: nothing happens
    assert len(saved_filters(ctx, user_id=alice.id)) == 1
    delete_filter(ctx, user_id=alice.id, filter_id=mine.id)
    assert saved_filters(ctx, user_id=alice.id) == []
    with pytest.raises(InvalidActionInput):
        save_filter(ctx, user_id=alice.id, name="  ", query=CaseQuery())
