"""The case columns events fix since the facts grew (audit.ADDED_FACTS): each rewritten without an
event is named by verify, and events written before them still verify."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from duban.services import CaseService, ServiceContext, audit
from duban.services.audit import FIRST_FACTS, facts_of, split_facts
from duban.services.integrity import verify
from tests.factories import SUPERVISOR, transferred, unit_actor, world
from tests.services.test_integrity import _sql

UNIT = "GS-LZ-CG-GOV"


def _problems(ctx: ServiceContext) -> list[str]:
    return [str(f) for f in verify(ctx).findings]


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    """A case signed for by its unit (signed_at, signed_by, sign_due_on, record office set)."""
    ctx = world(engine)
    number = transferred(ctx)
    CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, UNIT), form={})
    return ctx


@pytest.mark.parametrize("column, value", [
    ("delegate_id", "2"),  # an id: who may see and act on the case
    ("record_office_id", "3"), ("referred_to_id", "4"),
    ("review_level", "'recheck'"), ("decline_reason", "'duplicate'"),  # codes
    ("signed_by", "'别人'"),  # a name
    ("deadline_days", "99"),  # a count
    ("sign_due_on", "'2030-01-01'"), ("missed_deadline_on", "'2030-01-01'"),  # dates
    ("signed_at", "'2030-01-01 00:00:00.000000'"), ("replied_at", "'2030-01-01 00:00:00.000000'"),
    ("concluded_at", "'2030-01-01 00:00:00.000000'"),  # times
])
def test_a_case_column_rewritten_without_an_event_is_named(ctx: ServiceContext, column: str,
                                                           value: str) -> None:
    assert _problems(ctx) == []
    _sql(ctx, f"UPDATE cases SET {column} = {value} WHERE id = 1")
    problems = _problems(ctx)
    assert len(problems) == 1 and problems[0].startswith(
        f"GS-2023-00001: 案件记录与其事件不符：{column}现为"), problems


def test_a_name_holding_the_separator_stays_one_field() -> None:
    facts = facts_of({"state": "transferred", "signed_by": "张|三%"})
    assert split_facts(facts)["signed_by"] == "张%7C三%25"
    assert split_facts(facts)["state"] == "transferred"


def test_events_written_before_the_facts_grew_still_verify_as_far_as_they_go(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = world(engine)
    monkeypatch.setattr(audit, "FACT_FIELDS", FIRST_FACTS)  # as an earlier version sealed them
    number = transferred(ctx)
    CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, UNIT), form={})
    monkeypatch.undo()
    assert _problems(ctx) == []
    _sql(ctx, "UPDATE cases SET delegate_id = 2 WHERE id = 1")
    assert _problems(ctx) == []  # not fixed by that event: the next action's event fixes it
    _sql(ctx, "UPDATE cases SET unit_id = NULL WHERE id = 1")
    assert _problems(ctx)[0].startswith("GS-2023-00001: 案件记录与其事件不符：unit_id现为")
    _sql(ctx, f"UPDATE cases SET unit_id = (SELECT id FROM orgs WHERE code = '{UNIT}'), delegate_id = NULL"
              " WHERE id = 1")
    CaseService(ctx).act(number, "remind", actor=SUPERVISOR, form={})
    assert _problems(ctx) == []
    _sql(ctx, "UPDATE cases SET delegate_id = 2 WHERE id = 1")
    assert _problems(ctx)[0].startswith("GS-2023-00001: 案件记录与其事件不符：delegate_id现为")
