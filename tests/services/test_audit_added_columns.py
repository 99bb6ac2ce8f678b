"""A column added to a covered table after rows were written (audit.toml `added`): the digests
recorded before it existed still verify, and a value filled in later is still an edit found."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.models import Complainant
from duban.services.auditrows import covered_tables, row_digest
from duban.services.integrity import verify_audit
from tests.factories import registered, world

ROW = {"name": "王某", "phone": "13912345678", "address": "", "real_name": True, "consent_disclose": False}


def test_an_empty_added_column_hashes_as_before_it_existed() -> None:
    complainants = covered_tables()["complainants"]
    before = complainants.__class__(complainants.table, complainants.case_column, complainants.key,
                                    tuple(c for c in complainants.columns if c != "email"),
                                    complainants.event_optional)
    old = row_digest(before, ROW, "sha256")  # what an event before migration 0016 recorded
    assert row_digest(complainants, {**ROW, "email": ""}, "sha256") == old
    assert row_digest(complainants, {**ROW, "email": "a@example.cn"}, "sha256") != old


def test_a_complainants_email_is_covered_by_the_registration_event(engine: Engine) -> None:
    ctx = world(engine)
    registered(ctx, complainant_email="wang@example.cn")
    registered(ctx, title="另一事项：某局拖欠货款")
    assert verify_audit(ctx, stop_at_first=False)[2] == []
    with Session(engine) as session:
        session.execute(update(Complainant).where(Complainant.id == 2).values(email="someone@example.cn"))
        session.commit()
    findings = verify_audit(ctx, stop_at_first=False)[2]
    assert len(findings) == 1 and "反映人 " in str(findings[0])
