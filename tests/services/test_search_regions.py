"""Each row of the search index carries the regions its case lies in, its category, channel and
month of receipt, whether it has no deadline and whether it is finished (duban.scopekeys), so
that a region's reader, or a list filtered by them, looks a word up among its own cases' rows
(models/search.py, migrations 0030, 0035, 0043 and 0047). The keys must
follow the case wherever it moves and whatever it is reclassified as, in the same statement,
whatever else that statement changes: a key left behind would hide a case from the list it
belongs to, and on SQLite a row unindexed with other tokens than it was indexed with corrupts the
grams' index."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Connection

from duban import scopekeys
from duban.clock import SHANGHAI
from duban.models.search import CASE_SHIFT, GRAMS_TABLE, SCOPE_FUNCTION, SEARCH_TABLE
from duban.services import CaseService, ServiceContext
from duban.services.scope import in_region
from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, registered, reported, unit_actor, world

OFFICES = ["GS", "GS-LZ", "GS-LZ-CG", "GS-LX"]
UNITS = [None, "GS-FGW", "GS-LZ-ZJJ", "GS-LZ-CG-GOV", "GS-LX-GOV"]
# What a step does to one case: move its office, its unit, or both with its title in one UPDATE.
EXAMPLES = itertools.count()
steps = st.tuples(st.integers(0, 5), st.sampled_from(OFFICES), st.sampled_from(UNITS), st.booleans())
CATEGORIES, CHANNELS = ["water", "arrears", "other"], ["phone", "letter"]
# Times of receipt on both sides of a month's first midnight in Asia/Shanghai (16:00 UTC the day
# before), and of a year's.
RECEIVED = [dt.datetime(2023, 11, 30, 15, 59, tzinfo=dt.UTC), dt.datetime(2023, 11, 30, 16, 0, tzinfo=dt.UTC),
            dt.datetime(2023, 12, 31, 16, 30, tzinfo=dt.UTC), dt.datetime(2023, 12, 15, 2, 0, tzinfo=dt.UTC)]
# A step of the keys' test: which case, its category, channel and time of receipt, and whether
# the same UPDATE rewrites its title too.
reclassified = st.tuples(st.integers(0, 5), st.sampled_from(CATEGORIES), st.sampled_from(CHANNELS),
                         st.sampled_from(RECEIVED), st.booleans())
# A step of the deadline key's test: which case, its running deadline and the one it missed (or
# none), and whether the same UPDATE moves its office too.
DAYS = [None, dt.date(2024, 1, 10), dt.date(2024, 2, 1)]
redated = st.tuples(st.integers(0, 5), st.sampled_from(DAYS), st.sampled_from(DAYS), st.booleans())
# A step of the finished key's test: which case, its state, and whether the same UPDATE takes its
# deadline away (as closing does) and whether it moves its office too.
STATES = ["received", "transferred", "reported", "closed", "not_accepted", "recheck"]
restated = st.tuples(st.integers(0, 5), st.sampled_from(STATES), st.booleans(), st.booleans())


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def test_an_org_lies_in_every_region_whose_code_begins_its_own() -> None:
    assert scopekeys.keys("GS-LZ-CG", "GS-LZ-ZJJ") == ["GS", "GS-LZ", "GS-LZ-CG", "GS-LZ-ZJJ"]
    assert scopekeys.keys("GS", None) == ["GS"]
    for code in ("GS-LZ-CG-GOV", "GS-LX", "GS-LZ"):
        for region in ("GS", "GS-LZ", "GS-LZ-CG", "GS-LX", "GS-L"):
            assert (region in scopekeys.keys(code)) == in_region(code, region), (code, region)


def _indexed(conn: Connection, region: str) -> set[int]:
    """The rows the index says lie in `region` (SQLite: the rowids; PostgreSQL: the same numbers)."""
    if conn.dialect.name == "sqlite":
        return set(conn.execute(text(f"SELECT rowid FROM {GRAMS_TABLE} WHERE {GRAMS_TABLE} MATCH :q"),
                                {"q": f'scope : "{scopekeys.token(region)}"'}).scalars())
    key = f"(case_id::bigint << {CASE_SHIFT}) + (kind::bigint << 30) + source_id"
    return set(conn.execute(text(f"SELECT {key} FROM {SEARCH_TABLE} WHERE scope @> ARRAY[CAST(:r AS text)]"),
                            {"r": region}).scalars())


def _expected(conn: Connection, region: str) -> set[int]:
    """The rows whose case's office or unit lies in `region`, from the source tables."""
    rows = conn.execute(text(
        f"SELECT s.case_id, s.kind, s.source_id, o.code, u.code FROM ({_rows(conn)}) s "
        "JOIN cases c ON c.id = s.case_id JOIN orgs o ON o.id = c.office_id "
        "LEFT JOIN orgs u ON u.id = c.unit_id")).all()
    return {(case << CASE_SHIFT) + (kind << 30) + source for case, kind, source, office, unit in rows
            if in_region(office, region) or in_region(unit, region)}


def _rows(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return (f"SELECT rowid >> {CASE_SHIFT} AS case_id, (rowid >> 30) & 3 AS kind, "
                f"rowid & {(1 << 30) - 1} AS source_id FROM {SEARCH_TABLE}")
    return f"SELECT case_id, kind, source_id FROM {SEARCH_TABLE}"


def _ids(conn: Connection, codes: list[str | None]) -> dict[str | None, int | None]:
    found = dict(conn.execute(text("SELECT code, id FROM orgs")).all())
    return {code: found[code] if code else None for code in codes}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(steps, min_size=1, max_size=12))
def test_every_index_row_carries_exactly_the_regions_its_case_lies_in_wherever_it_moves(
        ctx: ServiceContext, moves: list[tuple[int, str, str | None, bool]]) -> None:
    service = CaseService(ctx)
    example = next(EXAMPLES)  # examples share the database: titles of their own, or repeats are linked
    numbers = [service.register(complaint(title=f"第{example}组第{i}个小区供水中断", office_code=office),
                                actor=CLERK).case.number
               for i, office in enumerate([*OFFICES, "GS-LZ-CG", "GS"])]
    # a handling report and a review: rows of their own that must move with their case
    service.act(numbers[2], "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    service.act(numbers[2], "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={"text": "水管已修复，供水恢复", **REPORTED})
    with ctx.engine.begin() as conn:
        ids = _ids(conn, [*OFFICES, *UNITS])
        for which, office, unit, retitle in moves:
            change: dict[str, Any] = {"n": numbers[which], "o": ids[office], "u": ids[unit]}
            title = ", title = title || '改', title_redacted = title_redacted || '改'" if retitle else ""
            conn.execute(text(f"UPDATE cases SET office_id = :o, unit_id = :u{title} WHERE number = :n"),
                         change)
    with ctx.engine.connect() as conn:
        for region in ("GS", "GS-LZ", "GS-LZ-CG", "GS-LX", "GS-FGW", "GS-LZ-ZJJ", "GS-LX-GOV"):
            assert _indexed(conn, region) == _expected(conn, region), region


def test_the_regions_postgresql_computes_are_those_of_scopekeys(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite calls duban.scopekeys itself")
    with ctx.engine.connect() as conn:
        orgs = conn.execute(text("SELECT id, code FROM orgs")).all()
        for office_id, office in orgs:
            for unit_id, unit in [(None, None), *orgs[:5]]:
                keys = conn.execute(text(f"SELECT {SCOPE_FUNCTION}(:o, :u)"), {"o": office_id, "u": unit_id}
                                    ).scalar_one()
                assert sorted(set(keys)) == scopekeys.keys(office, unit), (office, unit)


def _expected_keys(conn: Connection, key: str) -> set[int]:
    """The rows whose case holds `key` (duban.scopekeys.case_keys), from the source tables, its
    month worked out here from the stored time."""
    rows = conn.execute(text(
        f"SELECT s.case_id, s.kind, s.source_id, o.code, u.code, c.category, c.channel, c.received_at, "
        f"c.deadline_on IS NULL AND c.missed_deadline_on IS NULL, c.state FROM ({_rows(conn)}) s "
        "JOIN cases c ON c.id = s.case_id JOIN orgs o ON o.id = c.office_id "
        "LEFT JOIN orgs u ON u.id = c.unit_id")).all()
    out = set()
    for case, kind, source, office, unit, category, channel, received, undated, state in rows:
        when = received if isinstance(received, dt.datetime) else dt.datetime.fromisoformat(received)
        month = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(SHANGHAI).strftime("%Y%m")
        finished = state in ("closed", "not_accepted")  # states.definition.FINISHED_STATES, written out
        if key in scopekeys.case_keys(office, unit, category, channel, month, bool(undated), finished):
            out.add((case << CASE_SHIFT) + (kind << 30) + source)
    return out


def _six_cases(ctx: ServiceContext) -> list[str]:
    """Six new cases of Lanzhou's office, the second handled: a deadline, and a report's row that
    must carry its case's keys too."""
    example = next(EXAMPLES)  # examples share the database: titles of their own
    return [(reported if i == 1 else registered)(ctx, title=f"第{example}组第{i}个小区供水中断",
                                                 office_code="GS-LZ") for i in range(6)]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(reclassified, min_size=1, max_size=12))
def test_every_index_row_carries_its_case_s_category_channel_and_month_whatever_it_becomes(
        ctx: ServiceContext, changes: list[tuple[int, str, str, dt.datetime, bool]]) -> None:
    numbers = _six_cases(ctx)
    with ctx.engine.begin() as conn:
        for which, category, channel, received, retitle in changes:
            title = ", title = title || '改', title_redacted = title_redacted || '改'" if retitle else ""
            # the stored form of a time, as the models write it (SQLite: naive UTC text)
            sqlite = conn.dialect.name == "sqlite"
            stored = received.replace(tzinfo=None).isoformat(" ") if sqlite else received
            conn.execute(text(f"UPDATE cases SET category = :c, channel = :h, received_at = :r{title} "
                              "WHERE number = :n"),
                         {"n": numbers[which], "c": category, "h": channel, "r": stored})
    keys = [*(scopekeys.category_key(c) for c in CATEGORIES), *(scopekeys.channel_key(c) for c in CHANNELS),
            *scopekeys.month_keys(dt.date(2023, 9, 1), dt.date(2024, 1, 31))]
    with ctx.engine.connect() as conn:
        for key in keys:
            assert _indexed(conn, key) == _expected_keys(conn, key), key
        assert _indexed(conn, "GS-LZ") == _expected(conn, "GS-LZ")  # the regions stay


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(redated, min_size=1, max_size=12))
def test_every_index_row_says_whether_its_case_has_no_deadline_whatever_its_deadlines_become(
        ctx: ServiceContext, changes: list[tuple[int, dt.date | None, dt.date | None, bool]]) -> None:
    """No deadline is neither a running one nor one missed before a raise: the row's key says
    which the case has, and changes as they come and go, whichever of the case's columns the same
    statement changes besides."""
    numbers = _six_cases(ctx)
    with ctx.engine.begin() as conn:
        ids = _ids(conn, ["GS-LZ", "GS-LX"])
        for which, running, missed, moved in changes:
            office = ", office_id = :o" if moved else ""
            conn.execute(text(f"UPDATE cases SET deadline_on = :d, missed_deadline_on = :m{office} "
                              "WHERE number = :n"),
                         {"n": numbers[which], "d": running, "m": missed, "o": ids["GS-LX"]})
    with ctx.engine.connect() as conn:
        for key in (scopekeys.UNDATED, scopekeys.DATED):  # one or the other, each row
            assert _indexed(conn, key) == _expected_keys(conn, key), key
        for region in ("GS-LZ", "GS-LX"):  # the regions stay
            assert _indexed(conn, region) == _expected(conn, region)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(restated, min_size=1, max_size=12))
def test_every_index_row_says_whether_its_case_is_finished_whatever_its_state_becomes(
        ctx: ServiceContext, changes: list[tuple[int, str, bool, bool]]) -> None:
    """Finished is closed or not accepted: the row's key says which side the case is on, and
    changes as it crosses, whatever else the same statement changes (its deadline going, as
    closing takes it; its office)."""
    numbers = _six_cases(ctx)
    with ctx.engine.begin() as conn:
        ids = _ids(conn, ["GS-LZ", "GS-LX"])
        for which, state, undated, moved in changes:
            deadline = ", deadline_on = NULL" if undated else ""
            office = ", office_id = :o" if moved else ""
            conn.execute(text(f"UPDATE cases SET state = :s{deadline}{office} WHERE number = :n"),
                         {"n": numbers[which], "s": state, "o": ids["GS-LX"]})
    with ctx.engine.connect() as conn:
        for key in (scopekeys.FINISHED, scopekeys.OPEN, scopekeys.UNDATED, scopekeys.DATED):
            assert _indexed(conn, key) == _expected_keys(conn, key), key
        for region in ("GS-LZ", "GS-LX"):  # the regions stay
            assert _indexed(conn, region) == _expected(conn, region)


def test_the_keys_postgresql_computes_are_those_of_scopekeys(ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite calls duban.scopekeys itself")
    with ctx.engine.connect() as conn:
        orgs = conn.execute(text("SELECT id, code FROM orgs")).all()[:6]
        for (office_id, office), (unit_id, unit) in itertools.product(orgs, [(None, None), *orgs[:2]]):
            for received, undated, finished in itertools.product(RECEIVED, (True, False), (True, False)):
                keys = conn.execute(text(f"SELECT {SCOPE_FUNCTION}(:o, :u, :c, :h, :r, :d, :f)"),
                                    {"o": office_id, "u": unit_id, "c": "water", "h": "letter", "r": received,
                                     "d": undated, "f": finished}).scalar_one()
                month = received.astimezone(SHANGHAI).strftime("%Y%m")
                expected = scopekeys.case_keys(office, unit, "water", "letter", month, undated, finished)
                assert sorted(set(keys)) == sorted(expected)
