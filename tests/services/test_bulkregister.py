"""register_many: a batch of complaints in one transaction, each written as `register` writes it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from duban.errors import CaseNotFound, InvalidActionInput, OrgNotFound, PermissionDenied
from duban.models import AuditEvent, Case, CaseCreate, Complainant, Subject
from duban.services import ServiceContext
from duban.services.bulkregister import register_many
from duban.services.cases import CaseService, Registered
from duban.services.integrity import verify
from tests.factories import CLERK, complaint, unit_actor, world
from tests.importer.ledger import refusing

# Complaints that take different turns through registration: a subject by code, by name, by a name
# that names no org, none at all; identity in the texts; other offices, levels and years.
VARIETY: list[dict[str, Any]] = [
    {},
    {"subject_org_code": None, "subject_name": "城关区水务局", "summary": "联系电话19900123456，请回电。"},
    {"subject_org_code": None, "subject_name": "某建设集团", "subject_kind": "enterprise",
     "office_code": "GS-LZ", "complainant_name": "司马青山", "summary": "司马青山称已垫资。"},
    {"subject_org_code": None, "subject_name": "", "office_code": "GS-LZ-CG", "priority": "livelihood",
     "received_at": dt.datetime(2022, 12, 30, 2, 0, tzinfo=dt.UTC)},
    {"channel": "letter", "category": "other", "complainant_address": "城关区某街道12号",
     "summary": "地址城关区某街道12号。", "received_at": dt.datetime(2023, 9, 25, 1, 0, tzinfo=dt.UTC)},
]
# What two registrations of one complaint may differ in: who they are, and where they stand in
# their office's numbering.
_OWN = {"id", "number", "title", "title_redacted", "matter_key", "complainant_id", "subject_id",
        "audit_hash", "received_at", "updated_at"}


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def batch(tag: str) -> list[CaseCreate]:
    return [complaint(title=f"{tag}号事项：城关区某工程拖欠工程款第{n}笔", **fields)
            for n, fields in enumerate(VARIETY)]


def written(ctx: ServiceContext, case: Case) -> dict[str, Any]:
    """A case as stored, with its complainant, subject and events, less what is its own."""
    with Session(ctx.engine) as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        complainant = session.get(Complainant, stored.complainant_id)
        subject = session.get(Subject, stored.subject_id) if stored.subject_id else None
        events = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()
    return {
        "case": {k: v for k, v in stored.model_dump().items() if k not in _OWN},
        "complainant": complainant.model_dump(exclude={"id"}) if complainant else None,
        "subject": subject.model_dump(exclude={"id"}) if subject else None,
        "events": [e.model_dump(include={"seq", "action", "from_state", "to_state", "data", "facts"})
                   for e in events],
        # The rows each event names: the complainant's and subject's by their digest (the case's
        # own digest covers its number and title, which differ).
        "rows": [[(table, digest if table != "cases" else "") for table, _, digest in json.loads(e.rows)]
                 for e in events],
    }


def test_a_batch_writes_each_complaint_as_register_does(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    one_by_one = [service.register(data, actor=CLERK).case for data in batch("甲")]
    outcomes = register_many(service, batch("乙"), actor=CLERK)
    assert all(isinstance(o, Registered) and not o.linked for o in outcomes), outcomes
    together = [o.case for o in outcomes if isinstance(o, Registered)]
    for alone, batched in zip(one_by_one, together, strict=True):
        assert written(ctx, batched) == written(ctx, alone)
        assert batched.title_redacted.replace("乙", "甲", 1) == alone.title_redacted
        assert batched.number != alone.number and batched.number.split("-")[:-1] == \
            alone.number.split("-")[:-1]
    assert verify(ctx, workers=1).intact


def test_numbers_of_a_batch_follow_on_in_each_office_and_year(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    service.register(complaint(title="此前登记的一件"), actor=CLERK)
    year_before = dt.datetime(2022, 12, 30, 2, 0, tzinfo=dt.UTC)
    offices = ["GS", "GS-LZ", "GS", "GS", "GS-LZ"]
    complaints = [complaint(title=f"第{n}件", office_code=code) for n, code in enumerate(offices)]
    complaints.insert(2, complaint(title="去年的一件", received_at=year_before))
    numbers = [o.case.number for o in register_many(service, complaints, actor=CLERK)
               if isinstance(o, Registered)]
    assert numbers == ["GS-2023-00002", "GS-LZ-2023-00001", "GS-2022-00001", "GS-2023-00003",
                       "GS-2023-00004", "GS-LZ-2023-00002"]


def test_complaints_failing_a_check_come_back_as_their_errors_in_place(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    complaints = [complaint(title="一"), complaint(title="二", office_code="GS-NOWHERE"),
                  complaint(title="三", office_code="GS-LZ-CG-ZJJ"),  # not an office
                  complaint(title="四", repeat_of="GS-2023-09999"), complaint(title="五")]
    outcomes = register_many(service, complaints, actor=CLERK)
    assert [type(o) for o in outcomes] == [Registered, OrgNotFound, InvalidActionInput, CaseNotFound,
                                           Registered]
    with Session(ctx.engine) as session:
        assert session.exec(select(Case.title).order_by(col(Case.id))).all() == ["一", "五"]
    refused = register_many(service, [complaint(title="六")], actor=unit_actor(ctx, "GS-LZ-CG-ZJJ"))
    assert [type(o) for o in refused] == [PermissionDenied]


def test_a_complaint_the_database_refuses_comes_back_as_its_error_and_the_rest_go_in(
        ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    complaints = [complaint(title=f"第{n}件", complainant_name=f"反映人{n}") for n in range(4)]
    with refusing(ctx.engine, "反映人2"):
        outcomes = register_many(service, complaints, actor=CLERK)
    assert [type(o) for o in outcomes] == [Registered, Registered, IntegrityError, Registered]
    with Session(ctx.engine) as session:
        assert session.exec(select(Case.title).order_by(col(Case.id))).all() == ["第0件", "第1件", "第3件"]


def test_repeats_within_a_batch_are_linked_in_turn(ctx: ServiceContext) -> None:
    service = CaseService(ctx)
    earlier = service.register(complaint(title="另一件事"), actor=CLERK).case
    complaints = [complaint(), complaint(complainant_name="欧阳明轩"), complaint(title="另一件事"),
                  complaint(complainant_name="司马青山"), complaint(title="新的一件")]
    outcomes = register_many(service, complaints, actor=CLERK)
    assert [o.linked for o in outcomes if isinstance(o, Registered)] == [False, True, True, True, False]
    first = outcomes[0]
    assert isinstance(first, Registered)
    with Session(ctx.engine) as session:
        case = session.get(Case, first.case.id)
        again = session.get(Case, earlier.id)
        assert case is not None and again is not None
        assert (case.repeat_count, case.version, case.audit_seq) == (2, 3, 3)
        assert (again.repeat_count, again.audit_seq) == (1, 2)
        seqs = session.exec(select(AuditEvent.seq).where(AuditEvent.case_id == case.id)
                            .order_by(col(AuditEvent.seq))).all()
    assert seqs == [1, 2, 3]
