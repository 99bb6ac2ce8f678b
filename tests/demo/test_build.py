"""The demo reaches seed 000's figures through the service layer, and says so in its register."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.demo.build import build_demo
from duban.demo.status import status_paragraph
from duban.models import AuditEvent, Case, HandlingReport
from duban.services import ServiceContext

SEED_000 = (
    "截至3月24日18时，省市县三级共受理社会监督意见1481件，其中省本级受理774件，占52.3%。"
    "按照转办、督办、重点督办和移交纪检监察机关四种方式予以处置，省、市、县三级共处置监督意见1481件，"
    "其中省本级处置774件（转办693件、督办46件、重点督办5件、移交省纪委监委30件）。"
    "省市县三级共办结678件，其中省本级受理的社会监督意见办结205件，重点督办的5件取得阶段性进展3件。"
)


def test_the_demo_reproduces_seed_000s_paragraph(engine: Engine) -> None:
    ctx = ServiceContext(engine=engine)
    summary = build_demo(ctx, seed=2023)
    assert "1481 cases" in summary
    assert status_paragraph(ctx) == SEED_000
    with Session(engine) as session:
        # Every case got there by actions: each has its register event and a dispatch.
        cases = session.exec(select(func.count()).select_from(Case)).one()
        registered = session.exec(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "register")).one()
        progress = session.exec(select(func.count()).select_from(HandlingReport)
                                .where(HandlingReport.kind == "progress")).one()
        avoided = [e for e in session.exec(select(AuditEvent).where(AuditEvent.action == "transfer"))
                   if "avoidance" in e.data]
    assert cases == registered == 1481
    assert progress == 3
    assert avoided, "the demo shows the avoidance rule at work"
