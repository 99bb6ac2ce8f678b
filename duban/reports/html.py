"""HTML of reports and the warning board: a self-contained <section>, and a print-ready page.

The <section> carries its own scoped style and inline SVG charts, so the web pages (/reports,
/board) can drop it into their layout as is, and an e-mail can carry it whole. The page variant
wraps it with CSS @page rules (A4, margins, no breaks inside rows or charts) and the CJK font
stack, for printing or `chromium --print-to-pdf`.

Every figure is rendered with the trace that lists its cases: a link when the caller gives
`figure_link` (a function from Trace to URL), else a tooltip with the `duban report --cases`
command that lists them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from duban.clock import shanghai
from duban.config.policy import Labels
from duban.reports import charts
from duban.reports.model import Board, Change, Figure, Report, Trace
from duban.reports.narrative import period_label, short_date
from duban.reports.rates import definition, percent
from duban.reports.rates import name as rate_name
from duban.shown import finalize

FigureLink = Callable[[Trace], str | None]
CaseLink = Callable[[str], str | None]
LEVELS = ("province", "city", "county")
DISPOSITIONS = ("transfer", "supervise", "key_supervise", "escalate", "refer", "none")
WARNING_KEYS = ("red", "yellow", "blue", "none")


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("duban.reports", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    env.filters["pct"] = lambda v: percent(v)
    env.filters["local"] = lambda v: shanghai(v).strftime("%Y-%m-%d %H:%M") if v else ""
    env.filters["day"] = lambda v: v.isoformat() if isinstance(v, dt.date) else ""
    return env


def _figure_renderer(figure_link: FigureLink | None) -> Callable[[Figure], Markup]:
    def render(figure: Figure) -> Markup:
        href = figure_link(figure.trace) if figure_link else None
        data = escape(figure.trace.query_string())
        if href:
            return Markup('<a class="fig" href="{}" data-trace="{}">{}</a>').format(
                href, data, figure.value)
        return Markup('<span class="fig" title="{}" data-trace="{}">{}</span>').format(
            figure.trace.cli(), data, figure.value)

    return render


def _case_renderer(case_link: CaseLink | None) -> Callable[[str], Markup]:
    def render(number: str) -> Markup:
        href = case_link(number) if case_link else None
        if href:
            return Markup('<a href="{}">{}</a>').format(href, number)
        return Markup("{}").format(number)

    return render


def change_text(value: float | None, is_rate: bool, labels: Labels) -> str:
    """"+12.5%", "−3.0%", "+2.1个百分点", or "—" without a base to compare with."""
    if value is None:
        return labels.report["none"]
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    if is_rate:
        return sign + labels.report["points"].format(value=f"{abs(value) * 100:.1f}")
    return f"{sign}{abs(value) * 100:.1f}%"


def _compared_name(change: Change, labels: Labels) -> str:
    return rate_name(labels, change.key) if change.is_rate else labels.report[f"fig_{change.key}"]


def _compared_value(value: float | None, is_rate: bool, labels: Labels) -> str:
    if value is None:
        return labels.report["none"]
    return percent(value) if is_rate else str(int(value))


def _report_charts(report: Report) -> dict[str, Markup]:
    labels = report.labels
    r = labels.report
    trend = charts.trend_chart(
        [r["week_label"].format(month=p.week.first.month, day=p.week.first.day) for p in report.trend],
        [(r["fig_received"], [p.received for p in report.trend], charts.COLOURS["received"]),
         (r["fig_closed"], [p.closed for p in report.trend], charts.COLOURS["closed"])],
        title=r["chart_trend"])
    dispositions = charts.bar_chart(
        [(labels.of("dispositions", d) if d != "none" else r["fig_undisposed"],
          report.dispositions["all"][d].value) for d in DISPOSITIONS
         if report.dispositions["all"][d].value or d != "none"],
        title=r["chart_dispositions"])
    return {"trend": Markup(trend), "dispositions": Markup(dispositions),
            "warnings": Markup(_warning_chart(report.warnings, limit=15))}


def _warning_chart(board: Board, *, limit: int) -> str:
    labels = board.labels
    keys = [(labels.report[f"col_{'normal' if k == 'none' else k}"], charts.COLOURS[k])
            for k in WARNING_KEYS]
    rows = [(line.name, [getattr(line, k) for k in WARNING_KEYS]) for line in board.lines[:limit]]
    return charts.stacked_bar_chart(rows, keys, title=labels.report["chart_warnings"])


def _context(report: Report, figure_link: FigureLink | None, case_link: CaseLink | None) -> dict[str, Any]:
    labels = report.labels
    return {
        "report": report, "L": labels, "R": labels.report, "levels": LEVELS,
        "dispositions": DISPOSITIONS, "fig": _figure_renderer(figure_link),
        "case": _case_renderer(case_link), "charts": _report_charts(report),
        "title": report_title(report), "period": period_label(report.period, labels),
        "rate_name": lambda key: rate_name(labels, key),
        "rate_definition": lambda key: definition(labels, key),
        "change_text": lambda value, is_rate: change_text(value, is_rate, labels),
        "compared_name": lambda change: _compared_name(change, labels),
        "compared_value": lambda value, is_rate: _compared_value(value, is_rate, labels),
        "short_date": lambda day: short_date(day, labels),
        "ranking": _trimmed(report.ranking, report.top_units),
    }


def _trimmed(lines: list[Any], keep: int) -> list[Any]:
    """The best `keep` and the worst `keep` units, with None where the middle was left out.

    A leaders' page shows both ends of the ranking; the workbook carries every unit.
    """
    if len(lines) <= 2 * keep:
        return list(lines)
    return [*lines[:keep], None, *lines[-keep:]]


def report_title(report: Report) -> str:
    r = report.labels.report
    return r["title"].format(office=report.office_name, kind=r[f"kind_{report.period.kind}"])


def render_report_html(report: Report, *, figure_link: FigureLink | None = None,
                       case_link: CaseLink | None = None) -> str:
    """The report as one self-contained <section> (style, tables, inline SVG charts)."""
    return _env().get_template("report.html.j2").render(_context(report, figure_link, case_link))


def render_report_page(report: Report, *, figure_link: FigureLink | None = None,
                       case_link: CaseLink | None = None) -> str:
    """The report as a complete page for printing (A4, CJK fonts), e.g. `duban report --html`."""
    section = render_report_html(report, figure_link=figure_link, case_link=case_link)
    title = f"{report_title(report)}（{period_label(report.period, report.labels)}）"
    return _env().get_template("page.html.j2").render(title=title, body=Markup(section))


def render_board_html(board: Board, *, case_link: CaseLink | None = None) -> str:
    """The warning board as one self-contained <section>."""
    labels = board.labels
    return _env().get_template("board.html.j2").render(
        board=board, L=labels, R=labels.report, case=_case_renderer(case_link),
        title=labels.report["board_title"].format(office=board.office_name),
        chart=Markup(_warning_chart(board, limit=30)), totals=board.totals)


def render_board_page(board: Board, *, case_link: CaseLink | None = None) -> str:
    title = board.labels.report["board_title"].format(office=board.office_name)
    return _env().get_template("page.html.j2").render(
        title=title, body=Markup(render_board_html(board, case_link=case_link)))
