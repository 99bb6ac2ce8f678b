"""The report for the demo, as of 2023-03-24 18:00, says exactly what seed 000 says."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

from duban.reports import build_report, cases_behind
from duban.services import ServiceContext

# 甘肃省三抓三促行动通报 第3期 (2023-03-29), "（三）抓监督", spaces of the PDF text removed.
SEED_000 = (
    "截至3月24日18时，省市县三级共受理社会监督意见1481件，其中省本级受理774件，占52.3%。",
    "省、市、县三级共处置监督意见1481件，其中省本级处置774件（转办693件、督办46件、重点督办5件、移交省纪委监委30件）",
    "省市县三级共办结678件，其中省本级受理的社会监督意见办结205件，重点督办的5件取得阶段性进展3件",
)


@pytest.mark.slow
def test_the_report_as_of_march_24_reproduces_every_figure_of_seed_000(
        backend: str, built_demo: Callable[[str], tuple[Engine, str]]) -> None:
    ctx = ServiceContext(engine=built_demo(backend)[0])
    report = build_report(ctx, "2023-03-24 18:00", "GS")
    f, province = report.figures, report.by_level["province"]
    assert f["received"].value == 1481
    assert province["received"].value == 774
    assert f"{province['received'].value / f['received'].value:.1%}" == "52.3%"
    assert f["disposed"].value == 1481 and province["disposed"].value == 774
    assert {d: report.dispositions["province"][d].value
            for d in ("transfer", "supervise", "key_supervise", "refer")} == {
        "transfer": 693, "supervise": 46, "key_supervise": 5, "refer": 30}
    assert f["closed"].value == 678 and province["closed"].value == 205
    assert (f["key"].value, f["key_progress"].value) == (5, 3)
    assert report.commission_name == "省纪委监委"
    for sentence in SEED_000:
        assert sentence in report.narrative
    for figure in (f["received"], province["received"], f["closed"], province["closed"],
                   report.dispositions["province"]["refer"], f["key_progress"]):
        assert sum(n for _, n in cases_behind(ctx, figure.trace)) == figure.value
