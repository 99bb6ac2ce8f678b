"""Small hand-made worlds for tests: a few orgs, a simulated clock, actors, and case builders."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from duban.clock import SimulatedClock, parse_local
from duban.db import make_engine
from duban.models import CaseCreate, Org
from duban.services import Actor, CaseService, ServiceContext
from duban.services.orgs import install_orgs
from duban.workcal import load_calendar_book


@dataclass(frozen=True)
class OrgRow:
    code: str
    name: str
    kind: str
    level: str
    parent_code: str | None
    region_name: str = ""
    email: str = ""
    head_email: str = ""
    autonomous: bool = False
    leader_email: str = ""  # 同级政府分管领导 (抄告)


# A province, one city with one county, and the units that handle and get complained about.
ORGS = [
    OrgRow("GS", "省办", "office", "province", None, "甘肃省", "gs@duban.example", "gs.head@duban.example"),
    OrgRow("GS-GOV", "甘肃省人民政府", "government", "province", "GS", "甘肃省"),
    OrgRow("GS-JW", "省纪委监委", "commission", "province", "GS", "甘肃省"),
    OrgRow("GS-FGW", "省发展改革委", "department", "province", "GS", "甘肃省", "gs-fgw@duban.example",
           "gs-fgw.head@duban.example", leader_email="gs-gov.fg-fgw@duban.example"),
    OrgRow("GS-LZ", "兰州市办", "office", "city", "GS", "兰州市", "gs-lz@duban.example",
           leader_email="gs-lz-gov.fg-duban@duban.example"),  # when it handles a case itself
    OrgRow("GS-LZ-GOV", "兰州市人民政府", "government", "city", "GS-LZ", "兰州市", "gs-lz-gov@duban.example",
           "gs-lz-gov.head@duban.example"),
    OrgRow("GS-LZ-JW", "兰州市纪委监委", "commission", "city", "GS-LZ", "兰州市"),
    OrgRow("GS-LZ-ZJJ", "兰州市住建局", "bureau", "city", "GS-LZ", "兰州市", "gs-lz-zjj@duban.example"),
    OrgRow("GS-LZ-CG", "城关区办", "office", "county", "GS-LZ", "城关区", "gs-lz-cg@duban.example"),
    OrgRow("GS-LZ-CG-GOV", "城关区人民政府", "government", "county", "GS-LZ-CG", "城关区",
           "gs-lz-cg-gov@duban.example", "gs-lz-cg-gov.head@duban.example",
           leader_email="gs-lz-cg-gov.deputy@duban.example"),
    OrgRow("GS-LZ-CG-ZJJ", "城关区住建局", "bureau", "county", "GS-LZ-CG", "城关区",
           "gs-lz-cg-zjj@duban.example", "gs-lz-cg-zjj.head@duban.example",
           leader_email="gs-lz-cg-gov.fg-zjj@duban.example"),
    # No contacts on file: 抄告 and 重要工作提示 have nobody distinct to go to.
    OrgRow("GS-LZ-CG-SWJ", "城关区水务局", "bureau", "county", "GS-LZ-CG", "城关区",
           "gs-lz-cg-swj@duban.example"),
    OrgRow("GS-LX", "临夏州办", "office", "city", "GS", "临夏回族自治州", autonomous=True),
    OrgRow("GS-LX-GOV", "临夏州人民政府", "government", "city", "GS-LX", "临夏回族自治州", autonomous=True),
]

CLERK = Actor("受理员甲", "clerk")
DISPATCHER = Actor("分流员乙", "dispatcher")
SUPERVISOR = Actor("审核员丙", "supervisor")
LEADER = Actor("领导丁", "leader")
# What a final handling report must state besides its text (policy [handling_report] required).
REPORTED = {"finding": "true", "actions_taken": "已核实并处理"}
# A valid value for every field any action's form has (services/forms.py), for tests that try
# every action: a new form field belongs here.
SAMPLE_FORM = {"unit": "GS-LZ-CG-SWJ", "department": "GS-LZ-CG-SWJ", "note": "说明", "reason": "理由",
               "reasons": "理由", "days": 3, "text": "办理情况", "outcome": "talk_inquiry",
               "handling_continues": False, "decline_reason": "outside_remit", "method": "phone",
               "result": "satisfied", "finding": "true", "actions_taken": "办理措施",
               "rectification": "整改措施", "accountability": "问责情况", "opinion": "uphold",
               "reply": "复查意见"}


def world(engine: Engine, *, start: str = "2023-09-27 10:00", override_dir: Any = None) -> ServiceContext:
    """A service context on `engine` with the small org tree and a simulated clock at `start`."""
    install_orgs(engine, ORGS)
    ctx = ServiceContext(engine=engine, clock=SimulatedClock(parse_local(start)))
    if override_dir is not None:
        ctx.calendars = load_calendar_book(override_dir)
    return ctx


def org_id(ctx: ServiceContext, code: str) -> int:
    with Session(ctx.engine) as session:
        org = session.exec(select(Org).where(Org.code == code)).one()
        assert org.id is not None
        return org.id


def unit_actor(ctx: ServiceContext, code: str) -> Actor:
    return Actor(f"{code}承办人", "unit", org_id(ctx, code))


def complaint(**overrides: Any) -> CaseCreate:
    fields: dict[str, Any] = dict(
        office_code="GS", title="城关区住建局拖欠某建设集团工程款4216万元",
        summary="反映人称工程已完工三年。",
        category="arrears", channel="phone", priority="enterprise", complainant_name="测试反映人",
        complainant_phone="19900123456", complainant_real_name=True, subject_name="城关区住建局",
        subject_org_code="GS-LZ-CG-ZJJ",
    )
    fields.update(overrides)
    return CaseCreate(**fields)


def advance(ctx: ServiceContext, **delta: float) -> dt.datetime:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    return clock.advance(dt.timedelta(**delta))


def registered(ctx: ServiceContext, **overrides: Any) -> str:
    return CaseService(ctx).register(complaint(**overrides), actor=CLERK).case.number


def transferred(ctx: ServiceContext, unit: str = "GS-LZ-CG-GOV", **overrides: Any) -> str:
    number = registered(ctx, **overrides)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": unit})
    return number


def reported(ctx: ServiceContext, unit: str = "GS-LZ-CG-GOV", **overrides: Any) -> str:
    """A case transferred to `unit` and reported on (its own search index row and its report's)."""
    number = transferred(ctx, unit, **overrides)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, unit),
                         form={"text": "水管已修复，供水恢复", **REPORTED})
    return number


def fresh_databases(folder: Path, schema: Callable[[], Path], *,
                    engine: Engine | None = None) -> Callable[[], Engine]:
    """An empty database for each example of a property test: with a PostgreSQL `engine`, the
    test's own, emptied (the org tree stays; world() refreshes it); else a copy of the suite's
    empty SQLite schema (tests/conftest.py `_sqlite_schema`; an audit trail refuses DELETE) in
    `folder`, the previous example's file removed (shrinking runs hundreds of examples)."""
    made: list[Engine] = []

    def fresh() -> Engine:
        if engine is not None and engine.dialect.name == "postgresql":
            truncate(engine, [t for t in SQLModel.metadata.sorted_tables if t.name != "orgs"])
            return engine
        while made:
            done = made.pop()
            done.dispose()
            for leftover in folder.glob(f"{Path(str(done.url.database)).name}*"):
                leftover.unlink()
        path = folder / f"example-{uuid.uuid4().hex}.db"
        shutil.copyfile(schema(), path)
        made.append(make_engine(f"sqlite:///{path}"))
        return made[-1]

    return fresh


def truncate(engine: Engine, tables: list[Any]) -> None:
    """PostgreSQL: empty `tables` (and what references them: the search index), ids from 1 again."""
    if tables:
        names = ", ".join(engine.dialect.identifier_preparer.format_table(t) for t in tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
