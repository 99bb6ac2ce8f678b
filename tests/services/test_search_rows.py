"""The search index holds a row per text source (models/search.py): a new report, review or callback
writes its own row only, however long the case's history, and every source stays searchable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from duban.grams import SQL_FUNCTION, grams
from duban.services import Actor, CaseService, ServiceContext, search
from duban.services.queries import scope_for
from duban.services.reading import case_page
from duban.services.search import CaseQuery, narrow
from tests.factories import CLERK, DISPATCHER, LEADER, REPORTED, complaint, org_id, unit_actor, world

UNIT = "GS-LZ-CG-GOV"
LONG = "整改材料不齐全，" + "请补充现场照片和整改台账。" * 250  # longer than any case row's documents


@pytest.fixture
def ctx(engine) -> ServiceContext:  # type: ignore[no-untyped-def]
    return world(engine)


def found(ctx: ServiceContext, actor: Any, typed: str) -> list[str]:
    with Session(ctx.engine) as session:
        flt = narrow(scope_for(session, actor), CaseQuery.parse({"text": typed}), ctx.orgs)
    return [r.number for r in case_page(ctx, flt, actor=actor).rows]


def handed(ctx: ServiceContext, **overrides: Any) -> tuple[str, int]:
    case = CaseService(ctx).register(complaint(**overrides), actor=CLERK).case
    CaseService(ctx).act(case.number, "transfer", actor=DISPATCHER, form={"unit": UNIT})
    assert case.id is not None
    return case.number, case.id


def called_back(ctx: ServiceContext, case_id: int) -> None:
    """A callback note on the case, written as of its report (a row of its own in the index)."""
    with ctx.engine.begin() as conn:
        at = conn.execute(text("SELECT submitted_at FROM handling_reports WHERE case_id = :c"),
                          {"c": case_id}).scalar_one()
        conn.execute(text("INSERT INTO callbacks(case_id, note, note_redacted, caller, called_at) "
                          "VALUES (:c, '群众表示基本满意', '群众表示基本满意', '回访员', :at)"),
                     {"c": case_id, "at": at})


def indexed(conn: Connection, case_id: int, change: Callable[[], None]) -> int:
    """The characters of index documents `change` wrote for the case: on SQLite what the triggers
    gave the grams function (each written row's documents, and a rewritten row's old ones), on
    PostgreSQL the documents of the case's rows that are new or rewritten (a new row version)."""
    if conn.dialect.name == "sqlite":
        fed: list[int] = []

        def counting(*texts: str | None) -> str:
            fed.append(sum(len(t or "") for t in texts))
            return grams(*texts)

        raw = conn.connection.driver_connection
        assert raw is not None
        raw.create_function(SQL_FUNCTION, -1, counting, deterministic=True)
        try:
            change()
        finally:
            raw.create_function(SQL_FUNCTION, -1, grams, deterministic=True)
        return sum(fed)
    rows = text("SELECT ctid::text AS at, length(open_text) + length(raw_text) AS size FROM case_search "
                "WHERE case_id = :c")
    before = {r.at for r in conn.execute(rows, {"c": case_id})}
    change()
    return sum(r.size for r in conn.execute(rows, {"c": case_id}) if r.at not in before)


def index_rows(conn: Connection, case_id: int) -> int:
    if conn.dialect.name == "sqlite":
        return conn.execute(text("SELECT count(*) FROM case_search WHERE rowid BETWEEN :lo AND :hi"),
                            {"lo": case_id << 32, "hi": ((case_id + 1) << 32) - 1}).scalar_one()
    rows = text("SELECT count(*) FROM case_search WHERE case_id = :c")
    return conn.execute(rows, {"c": case_id}).scalar_one()


def test_a_report_writes_one_small_index_row_whether_it_is_the_second_or_the_two_hundredth(
        ctx: ServiceContext) -> None:
    number, case_id = handed(ctx, title="某村饮水困难")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                         form={"text": "第000次报告：管道巡查", **REPORTED})
    with ctx.engine.begin() as conn:
        # Further reports as copies of the first (only the trigger is under test here).
        copied = [c["name"] for c in inspect(conn).get_columns("handling_reports")
                  if c["name"] not in ("id", "text", "text_redacted")]
        names = ", ".join(copied)
        first = conn.execute(text("SELECT min(id) FROM handling_reports")).scalar_one()
        add = text(f"INSERT INTO handling_reports({names}, text, text_redacted) SELECT {names}, :t, :t "
                   "FROM handling_reports WHERE id = :first")

        def report(i: int) -> Callable[[], None]:
            return lambda: conn.execute(add, {"t": f"第{i:03d}次报告：管道巡查", "first": first})

        second = indexed(conn, case_id, report(1))
        for i in range(2, 199):
            report(i)()
        two_hundredth = indexed(conn, case_id, report(199))
        assert second > 0 and two_hundredth == second
        assert index_rows(conn, case_id) == 201  # the case's own row and one per report
    assert found(ctx, LEADER, "第199次报告") == [number] and found(ctx, LEADER, "第001次") == [number]


def test_a_phrase_is_found_in_a_report_a_review_and_a_callback_and_by_the_complainants_new_phone(
        ctx: ServiceContext) -> None:
    number, case_id = handed(ctx, title="某小区供暖不达标", complainant_phone="13900001111")
    other, _ = handed(ctx, title="某路段积水")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                         form={"text": "管道已经更换完毕", **REPORTED})
    with ctx.engine.begin() as conn:
        at = conn.execute(text("SELECT submitted_at FROM handling_reports")).scalar_one()
        conn.execute(text("INSERT INTO reviews(case_id, decision, reasons, reasons_redacted, reviewer, "
                          "reviewed_at) VALUES (:c, 'returned', :r, :r, '审核员', :at)"),
                     {"c": case_id, "at": at, "r": LONG})
    called_back(ctx, case_id)
    for typed in ("管道已经更换", "更换", "材料不齐", "齐全", "表示基本满意", "满意", "供暖不达标"):
        assert found(ctx, LEADER, typed) == [number], typed
    assert found(ctx, DISPATCHER, "13900001111") == [number]
    with ctx.engine.begin() as conn:
        person = conn.execute(text("SELECT complainant_id FROM cases WHERE id = :c"),
                              {"c": case_id}).scalar_one()
        written = indexed(conn, case_id, lambda: conn.execute(
            text("UPDATE complainants SET phone = '13700002222' WHERE id = :p"), {"p": person}))
    # Only the case's own row is rewritten, never its report, review and callback rows.
    assert 0 < written < len(LONG)
    assert found(ctx, DISPATCHER, "13700002222") == [number]
    assert found(ctx, DISPATCHER, "13900001111") == []
    assert found(ctx, DISPATCHER, "更换完毕") == [number] and found(ctx, DISPATCHER, "积水") == [other]
    with ctx.engine.begin() as conn:  # a removed source leaves the index with its row
        conn.execute(text("DELETE FROM callbacks WHERE case_id = :c"), {"c": case_id})
    assert found(ctx, LEADER, "基本满意") == [] and found(ctx, LEADER, "满意") == []
    assert found(ctx, LEADER, "材料不齐") == [number]


def test_words_apart_are_found_in_any_two_of_the_case_s_rows_whichever_holds_the_first(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each word of a query in any of the case's rows (its own, its report's, its callback's):
    # all in one, or the first (the longest) in one and the others in rows before or after it.
    number, case_id = handed(ctx, title="某小区供暖不达标", complainant_name="欧阳修")
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                         form={"text": "管道已经更换完毕", **REPORTED})
    called_back(ctx, case_id)
    handed(ctx, title="某路段供暖管道更换")  # both words of the first query in one row
    lone, _ = handed(ctx, title="供暖费用不合理，表示不满意")  # 满意 without 更换
    both = found(ctx, LEADER, "供暖 更换")
    assert len(both) == 2 and number in both
    for narrowest in (search.NARROW, -1):  # a narrow scope's cases tested, or the word looked up
        monkeypatch.setattr(search, "NARROW", narrowest)
        for actor in (DISPATCHER, LEADER, *regional(ctx)):
            # the first word (the longest) in the case's row, a report or a callback; the other
            # in a row after it, before it, or both
            for typed in ("供暖不达标 更换", "更换完毕 供暖", "表示基本满意 管道", "已经更换完毕 满意",
                          "基本满意 更换 不达标", "表示基本满意 某小区"):
                assert found(ctx, actor, typed) == [number], (actor.name, narrowest, typed)
            for typed in ("供暖不达标 积水", "更换完毕 积水", "表示基本满意 积水"):
                assert found(ctx, actor, typed) == [], (actor.name, narrowest, typed)
            assert found(ctx, actor, "表示 满意") == sorted([number, lone]), (actor.name, narrowest)
            # the complainant's name (raw texts alone) beside a report's word: for a reader of identity
            named = found(ctx, actor, "管道已经更换 欧阳修")
            assert named == ([number] if actor is DISPATCHER else []), (actor.name, narrowest)


@pytest.mark.parametrize(("cap", "total", "capped"),
                         [(2, 2, True), (4, 4, True), (5, 5, False), (9, 5, False)])
def test_a_capped_total_counts_each_case_once_whether_its_own_texts_or_its_reports_hold_the_word(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, cap: int, total: int, capped: bool) -> None:
    # Three cases hold the word in their title, one of them in a report too, and two in a report
    # only: five cases, each counted once however many of its rows hold the word.
    for title, report in [("水管破裂", "水管已修复"), ("停水三天", None), ("水费争议", None),
                          ("道路破损", "已通水"), ("路灯不亮", "水表已换")]:
        number, _ = handed(ctx, title=title)
        if report:
            CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                                 form={"text": report, **REPORTED})
    monkeypatch.setattr(search, "COUNT_CAP", cap)
    for actor, narrowest in [(DISPATCHER, search.NARROW), (LEADER, search.NARROW),
                             *[(a, bound) for a in regional(ctx) for bound in (search.NARROW, -1)]]:
        # the unit lies in the city and the county: their readers test each case of their narrow
        # scope, or (NARROW -1) look the word up among their region's rows
        monkeypatch.setattr(search, "NARROW", narrowest)
        with Session(ctx.engine) as session:
            flt = narrow(scope_for(session, actor), CaseQuery.parse({"text": "水"}), ctx.orgs)
        page = case_page(ctx, flt, actor=actor)
        assert (page.total, page.capped) == (total, capped), (actor, narrowest)


def test_a_name_only_a_reader_allowed_identity_may_search_passes_the_cap_for_that_reader_alone(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # The complainant's name is in the raw documents only: counted for the dispatcher (who may see
    # identity), in no case for the leader (who may not). The redacted texts are counted first.
    for title in ("道路破损", "路灯不亮", "停车收费"):
        handed(ctx, title=title, complainant_name="欧阳修")
    handed(ctx, title="噪音扰民", complainant_name="欧阳修", office_code="GS-LZ")  # received by the city
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    totals = {}
    default = search.NARROW
    # the city's and the county's dispatchers may see identity only of the cases their region
    # received: the city one of them, the county none
    for actor in (DISPATCHER, LEADER, *regional(ctx)):
        for narrowest in (default, -1):  # (regions: tested case by case, or looked up)
            monkeypatch.setattr(search, "NARROW", narrowest)
            with Session(ctx.engine) as session:
                flt = narrow(scope_for(session, actor), CaseQuery.parse({"text": "欧阳"}), ctx.orgs)
            page = case_page(ctx, flt, actor=actor)
            totals[actor.name, narrowest] = (page.total, page.capped)
    expected = {DISPATCHER.name: (2, True), LEADER.name: (0, False), "GS-LZ": (1, False),
                "GS-LZ-CG": (0, False)}
    assert totals == {(who, bound): expected[who] for who, bound in totals}


def regional(ctx: ServiceContext) -> list[Actor]:
    """The dispatchers of the city and the county the unit lies in (a region's reader searches
    its own cases' rows: models/search.py)."""
    return [Actor(code, "dispatcher", org_id(ctx, code)) for code in ("GS-LZ", "GS-LZ-CG")]
