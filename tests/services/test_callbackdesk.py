"""回访工作台: an office's open callbacks, all / given to me / given to nobody, read in scope, the
complainant's phone only for roles policy [privacy] lets see identity."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from duban.errors import InvalidActionInput, PermissionDenied
from duban.services import Actor, CaseService, ServiceContext, bulk
from duban.services.callbackdesk import callback_desk, my_open_callbacks
from duban.services.callbacks import sample_callbacks
from duban.services.users import create_user
from tests.factories import REPORTED, org_id, transferred, unit_actor, world

PASSWORD = "callback-desk-2023"
PHONE = "19900123456"  # tests.factories.complaint's complainant


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")


def staff(ctx: ServiceContext, name: str, role: str, office: str = "GS-LZ") -> Actor:
    return Actor(name, role, org_id(ctx, office))


def verified(ctx: ServiceContext, office: str, unit: str, titles: list[str]) -> list[str]:
    """Cases received by `office`, handled by `unit`, approved: each owes its complainant a call."""
    service = CaseService(ctx)
    numbers = []
    for title in titles:
        number = transferred(ctx, unit=unit, office_code=office, title=title)
        service.act(number, "submit_report", actor=unit_actor(ctx, unit), form={**REPORTED, "text": "已办结"})
        service.act(number, "approve", actor=staff(ctx, "审核", "supervisor", office))
        numbers.append(number)
    return numbers


@pytest.fixture
def queued(ctx: ServiceContext) -> dict[str, list[str]]:
    lanzhou = verified(ctx, "GS-LZ", "GS-LZ-CG-GOV", ["兰州第一件", "兰州第二件", "兰州第三件"])
    linxia = verified(ctx, "GS-LX", "GS-LX-GOV", ["临夏的件"])
    sample_callbacks(ctx)  # every real-name complainant is called back
    create_user(ctx, username="huifang", password=PASSWORD, role="clerk", org_code="GS-LZ")
    result = bulk.run(ctx, "assign_callback", lanzhou[:2], actor=staff(ctx, "兰州督办", "supervisor"),
                      form={"assignee": "huifang"})
    assert {o.status for o in result.outcomes} == {"ok"}
    return {"lanzhou": lanzhou, "linxia": linxia}


def test_the_officer_sees_what_was_given_to_them_what_nobody_has_and_all(
        ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    officer = staff(ctx, "huifang", "clerk")
    a, b, c = queued["lanzhou"]
    mine = callback_desk(ctx, actor=officer, show="mine")
    assert sorted(item.case_number for item in mine) == [a, b]
    assert {item.assignee for item in mine} == {"huifang"} and all(item.assigned_at for item in mine)
    assert [item.case_number for item in callback_desk(ctx, actor=officer, show="unassigned")] == [c]
    assert sorted(item.case_number for item in callback_desk(ctx, actor=officer)) == [a, b, c]  # not 临夏's
    assert my_open_callbacks(ctx, actor=officer) == 2
    colleague = staff(ctx, "tongshi", "clerk")
    assert callback_desk(ctx, actor=colleague, show="mine") == []
    assert my_open_callbacks(ctx, actor=colleague) == 0


def test_the_navigation_s_count_reads_no_case_when_nothing_is_given_to_the_reader(
        ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        assert my_open_callbacks(ctx, actor=staff(ctx, "tongshi", "clerk")) == 0  # asked on every page
        nothing_read = list(seen)
        assert my_open_callbacks(ctx, actor=staff(ctx, "huifang", "clerk")) == 2
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)
    # When nothing was given: one look at the open items, no case read, no join with the cases.
    assert nothing_read and all("cases" not in s.replace("callback_tasks", "") for s in nothing_read)
    assert any(s.lstrip().startswith("SELECT cases.") for s in seen[len(nothing_read):])


def test_the_province_sees_every_office_and_linxia_only_its_own(
        ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    province = {item.case_number for item in callback_desk(ctx, actor=staff(ctx, "省办", "clerk", "GS"))}
    assert province == {*queued["lanzhou"], *queued["linxia"]}  # in the order sampling queued them
    linxia = callback_desk(ctx, actor=staff(ctx, "临夏", "dispatcher", "GS-LX"))
    assert [item.case_number for item in linxia] == queued["linxia"]


def test_the_phone_is_shown_only_to_roles_that_may_see_identity(
        ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    (first, *_) = callback_desk(ctx, actor=staff(ctx, "huifang", "clerk"))
    assert (first.person, first.phone) == ("测试反映人", PHONE)
    for item in callback_desk(ctx, actor=staff(ctx, "兰州督办", "supervisor")):
        assert (item.person, item.phone) == ("", "")
        assert "测试反映人" not in item.title


def test_roles_that_record_no_callbacks_are_refused_and_a_bad_filter_is_named(
        ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    for actor in (staff(ctx, "领导", "leader"), unit_actor(ctx, "GS-LZ-CG-GOV")):
        with pytest.raises(PermissionDenied):
            callback_desk(ctx, actor=actor)
        assert my_open_callbacks(ctx, actor=actor) == 0
    with pytest.raises(InvalidActionInput) as bad:
        callback_desk(ctx, actor=staff(ctx, "huifang", "clerk"), show="everything")
    assert bad.value.field == "show"


def test_a_recorded_callback_leaves_the_desk(ctx: ServiceContext, queued: dict[str, list[str]]) -> None:
    officer = staff(ctx, "huifang", "clerk")
    a, b, _ = queued["lanzhou"]
    CaseService(ctx).act(a, "record_callback", actor=officer,
                         form={"method": "phone", "result": "satisfied", "note": "满意"})
    assert [item.case_number for item in callback_desk(ctx, actor=officer, show="mine")] == [b]
    assert my_open_callbacks(ctx, actor=officer) == 1


def test_the_desk_answers_at_most_its_limit_in_queue_order(ctx: ServiceContext,
                                                           queued: dict[str, list[str]]) -> None:
    officer = staff(ctx, "省办", "clerk", "GS")
    every = [item.id for item in callback_desk(ctx, actor=officer)]
    assert len(every) == 4 and every == sorted(every)
    assert [item.id for item in callback_desk(ctx, actor=officer, limit=3)] == every[:3]
