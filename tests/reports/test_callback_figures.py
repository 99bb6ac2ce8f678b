"""The callback figures of November (tests/reports/scenario.py): by method and on the scale,
满意率 by policy, 联系不上 and the anonymous case counted apart, each figure traceable."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from duban.reports.build import build_report, cases_behind
from duban.services import CaseService
from tests.factories import REPORTED, SUPERVISOR, unit_actor
from tests.reports import scenario


@pytest.fixture
def november(engine: Engine) -> scenario.November:
    return scenario.build(engine)


def test_callbacks_are_counted_by_method_and_on_the_scale(november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    assert {m: f.value for m, f in report.callback_methods.items()} == {"phone": 2, "sms": 1, "visit": 1}
    assert {r: f.value for r, f in report.callback_results.items()} == {
        "satisfied": 1, "basically_satisfied": 1, "unsatisfied": 1, "unreachable": 1}
    figures = {k: report.figures[k].value for k in
               ("callback_attempts", "callbacks", "satisfied", "callback_unreachable", "uncallable")}
    assert figures == {"callback_attempts": 4, "callbacks": 3, "satisfied": 2, "callback_unreachable": 1,
                       "uncallable": 1}
    # 满意率 over the three that reached someone: 满意 (G) and 基本满意 (A), not E's 不满意.
    rate = report.rates["satisfaction"]
    assert (rate.numerator.value, rate.denominator.value) == (2, 3)


def test_the_figures_list_the_cases_behind_them(november: scenario.November) -> None:
    report = build_report(november.ctx, "2023-11", "GS")
    n = november.numbers
    behind = {name: cases_behind(november.ctx, report.figures[name].trace)
              for name in ("callback_unreachable", "uncallable", "satisfied")}
    assert behind == {"callback_unreachable": [(n["A"], 1)], "uncallable": [(n["B"], 1)],
                      "satisfied": sorted([(n["A"], 1), (n["G"], 1)])}
    assert cases_behind(november.ctx, report.callback_methods["visit"].trace) == [(n["A"], 1)]
    assert cases_behind(november.ctx, report.callback_results["unsatisfied"].trace) == [(n["E"], 1)]


def test_which_results_count_as_satisfied_is_policy_and_the_ranking_follows(
        november: scenario.November) -> None:
    ctx = november.ctx
    ctx.policy = ctx.policy.model_copy(update={"callbacks": ctx.policy.callbacks.model_copy(
        update={"satisfied_results": ["satisfied"]})})
    report = build_report(ctx, "2023-11", "GS")
    assert report.rates["satisfaction"].value == pytest.approx(1 / 3)  # only G's 满意
    county = next(u for u in report.ranking if u.code == "GS-LZ-CG-GOV")
    assert (county.figures["satisfied"].value, county.figures["callbacks"].value) == (1, 3)
    assert county.rates["satisfaction"].value == pytest.approx(1 / 3)
    assert cases_behind(ctx, report.figures["satisfied"].trace) == [(november.numbers["G"], 1)]


def test_a_case_closed_as_unreachable_is_counted_apart_and_never_as_satisfied(
        november: scenario.November) -> None:
    ctx, n = november.ctx, november.numbers
    service = CaseService(ctx)
    service.act(n["E"], "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                form={**REPORTED, "text": "已补发"})
    service.act(n["E"], "approve", actor=SUPERVISOR)
    for _ in range(ctx.policy.callbacks.unreachable_after_attempts):
        service.act(n["E"], "record_callback", actor=SUPERVISOR,
                    form={"method": "phone", "result": "unreachable"})
    service.act(n["E"], "close_unreachable", actor=SUPERVISOR)
    report = build_report(ctx, "2023-12", "GS")
    assert report.events["closed_unreachable"].value == 1
    assert report.figures["callback_unreachable"].value == ctx.policy.callbacks.unreachable_after_attempts
    assert (report.figures["callbacks"].value, report.figures["satisfied"].value) == (0, 0)
    assert report.rates["satisfaction"].value is None  # nobody reached: no rate, not 0 %
