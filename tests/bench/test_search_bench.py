"""The search benchmark builds what it measures right: every case indexed, the triggers back, and
the searches it times find what the cases hold; its sweep asks every shape. Correctness only,
never time."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench import search_bench
from bench.search_bench import KEYWORD, SHORT, populate
from duban.clock import SimulatedClock, parse_local
from duban.demo.orgs import load_orgs
from duban.services import Actor, CaseService, ServiceContext
from duban.services.orgs import install_orgs
from duban.services.queries import scope_for
from duban.services.reading import case_page
from duban.services.search import CaseQuery, narrow
from tests.factories import CLERK, complaint


def test_the_bench_cases_are_indexed_and_found_as_their_texts_say(engine: Engine) -> None:
    install_orgs(engine, load_orgs())
    _, phone = populate(engine, 400)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2024-01-05 09:00")))
    with engine.connect() as conn:
        # a row per case, and one per report: the reported and closed cases have theirs
        reports = conn.execute(text("select count(*) from handling_reports")).scalar()
        reported = text("select count(*) from cases where state in ('reported', 'closed')")
        assert reports == conn.execute(reported).scalar() > 0
        assert conn.execute(text("select count(*) from case_search")).scalar() == 400 + reports
        province = conn.execute(text("select id from orgs where kind = 'office' and level = 'province'")
                                ).scalar()
        holding = text("select count(*) from cases c where title like :p or summary like :p or exists "
                       "(select 1 from handling_reports r where r.case_id = c.id and r.text like :p)")
        truth = {typed: conn.execute(holding, {"p": f"%{typed}%"}).scalar() for typed in (KEYWORD, SHORT)}
    dispatcher = Actor("bench", "dispatcher", province)

    def total(typed: str) -> int:
        with Session(engine) as session:
            flt = narrow(scope_for(session, dispatcher), CaseQuery.parse({"text": typed}), ctx.orgs)
        return case_page(ctx, flt, actor=dispatcher).total

    assert total(KEYWORD) == truth[KEYWORD] and total(SHORT) == truth[SHORT]
    assert total(phone) == 1
    # The triggers are back: a case registered afterwards is found at once.
    CaseService(ctx).register(complaint(office_code="GS", title="基准之后登记的案件"), actor=CLERK)
    assert total("基准之后登记") == 1


def test_the_sweep_asks_every_word_with_every_filter_and_names_each_reader_s_worst(
        engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    install_orgs(engine, load_orgs())
    populate(engine, 200)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local("2024-01-05 09:00")))
    with engine.connect() as conn:
        province = conn.execute(text("select id from orgs where kind = 'office' and level = 'province'")
                                ).scalar()
    readers = {"search": Actor("bench", "dispatcher", province),
               "county": search_bench._regional_dispatchers(engine)["county"]}
    monkeypatch.setattr(search_bench, "GOAL_SECONDS", 0.0)  # every shape is "over": each printed
    worst = search_bench.sweep(ctx, readers, runs=1)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("sweep ")]
    shapes = [{**f, **({"text": w} if w else {})} for w in search_bench.SWEEP_WORDS
              for f in search_bench.SWEEP_FILTERS]
    assert len(printed) == len(shapes) * len(readers)
    for shape in shapes:  # each shape, for each reader
        assert sum(f" {shape} (" in line for line in printed) == len(readers), shape
    assert set(worst) == set(readers)
    for name, (seconds, shape) in worst.items():
        assert shape in shapes and seconds > 0
        slowest = max(float(line.split()[2]) for line in printed if line.split()[1] == name)
        assert abs(seconds * 1000 - slowest) < 0.1  # its worst is the slowest printed
