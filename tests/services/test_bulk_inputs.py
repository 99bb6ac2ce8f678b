"""Bulk actions against odd and hostile input: numbers as people type or paste them, cases out of
scope in any state, units a case may not go to, a request sent twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine

from duban.errors import CaseNotFound, DubanError
from duban.services import CaseService, ServiceContext, bulk
from tests.factories import DISPATCHER, org_id, registered, world
from tests.services.test_bulk import elsewhere, events, handled, lanzhou


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-01 10:00")


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_numbers_typed_in_lower_case_full_width_or_with_spaces_are_the_case_and_counted_once(
        ctx: ServiceContext) -> None:
    (number,) = handled(ctx, 1)
    typed = [number, f"  {number.lower()}\t", full_width(number), f"\u3000{full_width(number.lower())}\u3000",
             ""]
    result = bulk.run(ctx, "remind", typed, actor=lanzhou(ctx, "dispatcher"))
    assert [(o.number, o.status) for o in result.outcomes] == [(number, "ok")]
    assert events(ctx, "remind", number) == 1


def test_a_case_out_of_scope_reads_as_a_number_nobody_has_in_every_state(ctx: ServiceContext) -> None:
    closed = registered(ctx, office_code="GS-LX", title="临夏已办结", subject_name="", subject_org_code=None)
    CaseService(ctx).act(closed, "decline", actor=DISPATCHER, form={"decline_reason": "outside_remit"})
    waiting = registered(ctx, office_code="GS-LX", title="临夏待处置", subject_name="", subject_org_code=None)
    handling = elsewhere(ctx)
    missing = "GS-LX-2023-99999"
    for action, form in (("remind", {}), ("reassign", {"unit": "GS-LZ-CG-SWJ", "reason": "职责调整"})):
        result = bulk.run(ctx, action, [closed, waiting, handling, missing], actor=lanzhou(ctx, "dispatcher"),
                          form=form)
        seen = {(o.status, type(o.error), str(o.error).replace(o.number, "N"), o.state, o.skipped)
                for o in result.outcomes}
        assert seen == {("not_found", CaseNotFound, str(CaseNotFound("N")), None, "")}, action


def test_bulk_reassign_to_the_unit_complained_about_goes_up_a_level_once_and_out_of_reach_is_refused(
        ctx: ServiceContext) -> None:
    about_zjj = handled(ctx, 2)  # each complains about 城关区住建局 (GS-LZ-CG-ZJJ)
    actor = lanzhou(ctx, "dispatcher")
    form = {"unit": "GS-LZ-CG-ZJJ", "reason": "职责调整"}
    result = bulk.run(ctx, "reassign", about_zjj, actor=actor, form=form)
    assert [(o.status, o.note) for o in result.outcomes] == [("ok", "avoidance")] * 2  # not as asked
    service = CaseService(ctx)
    units = {service.get(n).unit_id for n in about_zjj}  # 回避: a level above takes it, as for one case
    assert len(units) == 1 and org_id(ctx, "GS-LZ-CG-ZJJ") not in units
    again = bulk.run(ctx, "reassign", about_zjj, actor=actor, form=form)  # a double click
    assert [(o.status, o.skipped) for o in again.outcomes] == [("skipped", "bulk_already_assigned")] * 2
    assert events(ctx, "reassign") == 2
    far = bulk.run(ctx, "reassign", about_zjj[:1], actor=actor,
                   form={"unit": "GS-LX-GOV", "reason": "职责调整"})
    assert far.outcomes[0].status == "refused" and isinstance(far.outcomes[0].error, DubanError)
    assert events(ctx, "reassign") == 2


def test_a_single_case_reminder_today_makes_a_bulk_reminder_skip_the_case(ctx: ServiceContext) -> None:
    a, b = handled(ctx, 2)
    CaseService(ctx).act(a, "remind", actor=lanzhou(ctx, "supervisor"), form={"note": "请抓紧"})
    result = bulk.run(ctx, "remind", [a, b], actor=lanzhou(ctx, "dispatcher"))
    assert [o.status for o in result.outcomes] == ["skipped", "ok"]
    assert events(ctx, "remind") == 2


def test_two_bulk_reminders_sent_at_once_urge_each_case_once(ctx: ServiceContext) -> None:
    numbers = handled(ctx, 4)
    start = threading.Barrier(2)
    results: list[bulk.BulkResult] = []

    def click() -> None:
        start.wait()
        actor = lanzhou(ctx, "dispatcher")
        results.append(bulk.run(ctx, "remind", numbers, actor=actor, form={"note": "请抓紧"}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.status for r in results for o in r.outcomes) == ["ok"] * 4 + ["skipped"] * 4
    assert [events(ctx, "remind", n) for n in numbers] == [1, 1, 1, 1]


def test_a_number_with_text_after_it_is_not_found_and_echoed_bounded(ctx: ServiceContext) -> None:
    (number,) = handled(ctx, 1)
    padded = number + " " * 30 + "备注：加急"  # cut at 40 characters it read as the number itself
    huge = "Ｇ" * 100_000
    far = number + " " * 500 + "X"
    result = bulk.run(ctx, "remind", [padded, huge, far], actor=lanzhou(ctx, "dispatcher"))
    assert [o.status for o in result.outcomes] == ["not_found"] * 2  # padded and far read the same
    assert all(len(o.number) <= 41 for o in result.outcomes)
    assert events(ctx, "remind", number) == 0
