"""The report's opening paragraph, in the register of seed 000, filled from the figures.

Templates live in config/labels.toml: `[text] status_paragraph` ("截至3月24日18时，省市县三级共
受理…", used for the top office "as of" a moment, exactly as the 通报 words it) and
`[report] period_paragraph` for a day, week, month, quarter, half-year or year. Code only chooses
the template and computes the numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from duban.clock import shanghai
from duban.config.policy import Labels
from duban.reports.period import Period
from duban.reports.rates import percent

if TYPE_CHECKING:
    from duban.reports.model import Change, Report

_DISPOSITIONS = ("transfer", "supervise", "key_supervise", "escalate", "refer")


def period_label(period: Period, labels: Labels) -> str:
    """"2023年3月", "2023年第一季度", "截至2023年3月24日18时"…"""
    r = labels.report
    first, last = period.first, period.last
    if period.kind == "asof":
        moment = shanghai(period.moment())
        return r["period_asof"].format(year=moment.year, month=moment.month, day=moment.day,
                                       hour=moment.hour)
    if period.kind == "week":
        return r["period_week"].format(year=first.isocalendar()[0], week=first.isocalendar()[1],
                                       first=short_date(first, labels), last=short_date(last, labels))
    if period.kind == "quarter":
        return r["period_quarter"].format(year=first.year,
                                          quarter=labels.text["numerals"][(first.month - 1) // 3 + 1])
    if period.kind == "half":
        return r[f"period_half_{(first.month - 1) // 6 + 1}"].format(year=first.year)
    if period.kind == "range":
        return r["period_range"].format(first=long_date(first, labels), last=long_date(last, labels))
    return r[f"period_{period.kind}"].format(year=first.year, month=first.month, day=first.day)


def short_date(day: object, labels: Labels) -> str:
    return labels.report["date"].format(month=day.month, day=day.day)  # type: ignore[attr-defined]


def long_date(day: object, labels: Labels) -> str:
    return labels.report["period_day"].format(year=day.year, month=day.month,  # type: ignore[attr-defined]
                                              day=day.day)  # type: ignore[attr-defined]


def share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "0%"


def _ways(labels: Labels, names: list[str]) -> str:
    """"转办、督办、重点督办和移交纪检监察机关四种" from the dispositions used."""
    text = labels.text
    if len(names) <= 1:
        return "".join(names)
    return text["ways"].format(head=text["list_sep"].join(names[:-1]), last=names[-1],
                               count=text["numerals"][len(names)])


def breakdown(report: Report, level: str) -> tuple[list[str], str]:
    """The dispositions used at `level` ("all" for every level) and "转办693件、督办46件…"."""
    labels = report.labels
    counts = report.dispositions[level]
    used = [d for d in _DISPOSITIONS if counts[d].value]
    parts = []
    for d in used:
        name = labels.of("dispositions", d)
        if d == "refer" and report.commission_name:
            name = labels.text["refer_to"].format(commission=report.commission_name)
        parts.append(labels.text["count_item"].format(name=name, n=counts[d].value))
    return used, labels.text["list_sep"].join(parts)


def change_text(change: Change | None, labels: Labels) -> str:
    """"（环比增长12.5%，同比下降3.0%）", or "" when there is nothing to compare with."""
    if change is None:
        return ""
    r = labels.report
    parts = []
    for what, value in ((r["mom"], change.mom), (r["yoy"], change.yoy)):
        if value is None:
            continue
        shown = (r["points"].format(value=f"{abs(value) * 100:.1f}") if change.is_rate
                 else f"{abs(value) * 100:.1f}%")
        key = "change_flat" if round(value * 1000) == 0 else ("change_up" if value > 0 else "change_down")
        parts.append(r[key].format(what=what, value=shown))
    return r["change_sentence"].format(parts=labels.text["list_sep"].join(parts)) if parts else ""


def narrative(report: Report) -> str:
    labels = report.labels
    f = report.figures
    own = report.by_level[report.office_level]
    if report.period.cumulative and report.office_level == "province":
        used, province_breakdown = breakdown(report, "province")
        moment = shanghai(report.period.moment())
        return labels.text["status_paragraph"].format(
            as_of=labels.text["as_of"].format(month=moment.month, day=moment.day, hour=moment.hour),
            total=f["received"].value, province=own["received"].value,
            province_share=share(own["received"].value, f["received"].value),
            ways=_ways(labels, [labels.of("dispositions", d) for d in used]),
            disposed=f["disposed"].value, province_disposed=own["disposed"].value,
            province_breakdown=province_breakdown, closed=f["closed"].value,
            province_closed=own["closed"].value, key_total=f["key"].value,
            key_progress=f["key_progress"].value,
        )
    r = labels.report
    none = r["none"]
    _, all_breakdown = breakdown(report, "all")
    received_change = next((c for c in report.comparison if c.key == "received"), None)
    return r["period_paragraph"].format(
        period=period_label(report.period, labels), scope=r[f"scope_{report.office_level}"],
        received=f["received"].value, received_change=change_text(received_change, labels),
        own=r[f"own_{report.office_level}"], own_received=own["received"].value,
        own_share=share(own["received"].value, f["received"].value),
        disposed=f["disposed"].value, breakdown=all_breakdown or r["no_data"],
        closed=f["closed"].value,
        on_time=percent(report.rates["on_time"].value, none=none),
        response=percent(report.rates["response"].value, none=none),
        resolution=percent(report.rates["resolution"].value, none=none),
        satisfaction=percent(report.rates["satisfaction"].value, none=none),
        overdue=f["overdue"].value, returns=report.events["returns"].value,
        supervision=f["supervision"].value,
    )
