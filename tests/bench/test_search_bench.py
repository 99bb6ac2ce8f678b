"""The search benchmark builds what it measures right: every case indexed, the triggers back, and
the searches it times find what the cases hold. Correctness only, never time."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

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
        assert conn.execute(text("select count(*) from case_search")).scalar() == 400
        province = conn.execute(text("select id from orgs where kind = 'office' and level = 'province'")
                                ).scalar()
        holding = text("select count(*) from cases where title like :p or summary like :p")
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
