"""The report and the board as Rich renderables, for `duban report` and `duban board`.

Returns renderables rather than printing, so the CLI decides where they go (and tests can
render them to a string).
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from duban.clock import shanghai
from duban.reports.html import change_text, report_title
from duban.reports.model import Board, Report
from duban.reports.narrative import period_label
from duban.reports.rates import definition, percent
from duban.reports.rates import name as rate_name

LEVELS = ("province", "city", "county")
DISPOSITIONS = ("transfer", "supervise", "key_supervise", "escalate", "refer", "none")
STYLE = {"red": "bold red", "yellow": "yellow", "blue": "blue", "none": "dim"}


def _table(*headers: str, title: str | None = None) -> Table:
    table = Table(*headers, title=title, title_justify="left", title_style="bold", show_lines=False)
    for column in table.columns[1:]:
        column.justify = "right"
    return table


def render_report(report: Report) -> RenderableType:
    return Group(*_report_parts(report))


def _report_parts(report: Report) -> Iterator[RenderableType]:
    labels, r = report.labels, report.labels.report
    f = report.figures
    none = r["none"]
    yield Rule(Text(report_title(report), style="bold red"))
    yield Text(f"{period_label(report.period, labels)} · {report.office_name}", justify="center")
    yield Text(r["section_summary"], style="bold")
    yield Padding(Text(report.narrative), (0, 2, 1, 2))

    table = _table(r["col_level"], *(labels.channels[c] for c in labels.channels), r["col_total"],
                   title=r["section_received"])
    for level in LEVELS:
        cells = [report.received_grid.get((level, c)) for c in labels.channels]
        table.add_row(labels.of("levels", level), *(str(c.value if c else 0) for c in cells),
                      str(report.by_level[level]["received"].value))
    table.add_row(r["col_total"], *(str(report.by_channel[c].value if c in report.by_channel else 0)
                                    for c in labels.channels), str(f["received"].value), style="bold")
    yield table

    table = _table(labels.ledger["disposition"], *(labels.of("levels", lv) for lv in LEVELS),
                   r["col_total"], title=r["section_dispositions"])
    for d in DISPOSITIONS:
        if d == "none" and not report.dispositions["all"][d].value:
            continue
        table.add_row(labels.of("dispositions", d) if d != "none" else r["fig_undisposed"],
                      *(str(report.dispositions[lv][d].value) for lv in LEVELS),
                      str(report.dispositions["all"][d].value))
    yield table

    table = _table(r["col_item"], *(labels.of("levels", lv) for lv in LEVELS), r["col_total"],
                   title=r["section_handling"])
    for key in ("closed", "on_time", "cohort_closed", "overdue"):
        table.add_row(r[f"fig_{key}"], *(str(report.by_level[lv][key].value) for lv in LEVELS),
                      str(f[key].value))
    yield table
    table = _table(r["col_item"], r["col_count"])
    table.add_row(r["fig_rehandled_closed"], f"{f['rehandled_closed'].value} {r['unit_jian']}")
    for key in ("returns", "callback_returns", "reopened", "extension_requests",
                "extensions_approved", "extensions_rejected", "objections", "declined", "reinstated"):
        table.add_row(r[f"fig_{key}"], f"{report.events[key].value} {r['unit_jianci']}")
    yield table

    table = _table(r["col_item"], r["col_count"], title=r["section_callbacks"])
    for method, figure in report.callback_methods.items():
        table.add_row(f"{r['col_method']}：{labels.callback_methods.get(method) or r['method_unrecorded']}",
                      f"{figure.value} {r['unit_jianci']}")
    for result, figure in report.callback_results.items():
        table.add_row(f"{r['col_result']}：{labels.of('callback_results', result)}",
                      f"{figure.value} {r['unit_jianci']}")
    table.add_row(r["fig_closed_unreachable"],
                  f"{report.events['closed_unreachable'].value} {r['unit_jianci']}")
    table.add_row(r["fig_uncallable"], f"{f['uncallable'].value} {r['unit_jian']}")
    yield table

    table = _table(r["col_rate"], r["col_current"], r["col_numerator"], r["col_denominator"],
                   title=r["section_rates"])
    for key, rate in report.rates.items():
        table.add_row(rate_name(labels, key), percent(rate.value, none=none),
                      str(rate.numerator.value), str(rate.denominator.value))
    yield table
    for key in report.rates:
        yield Padding(Text(f"{rate_name(labels, key)}：{definition(labels, key)}", style="dim"),
                      (0, 0, 0, 2))

    table = _table(r["col_item"], r["col_count"], title=r["section_supervision"])
    for action, figure in report.supervision.items():
        table.add_row(labels.supervision.get(action) or labels.of("actions", action), str(figure.value))
    for key in ("escalations", "step_ups", "refers"):
        table.add_row(r[f"fig_{key}"], str(report.events[key].value))
    yield table

    if report.key_cases:
        table = _table(r["col_number"], r["col_title"], labels.ledger["unit"], r["col_state"],
                       r["col_progress"], title=r["section_key"])
        table.columns[1].justify = table.columns[2].justify = table.columns[3].justify = "left"
        for k in report.key_cases:
            table.add_row(k.number, k.title[:30], k.unit, labels.of("states", k.state),
                          str(k.progress_reports))
        yield table

    if report.complained:
        table = _table(r["col_rank"], r["col_unit"], r["col_count"], title=r["section_complained"])
        table.columns[1].justify = "left"
        for i, (name, figure) in enumerate(report.complained, start=1):
            table.add_row(str(i), name, str(figure.value))
        yield table

    if report.ranking:
        table = _table(r["col_rank"], r["col_unit"], r["col_dispatched"], rate_name(labels, "response"),
                       rate_name(labels, "resolution"), rate_name(labels, "satisfaction"),
                       rate_name(labels, "on_time"), r["col_overdue"], r["col_score"],
                       title=r["section_ranking"])
        table.columns[1].justify = "left"
        lines = report.ranking
        keep = report.top_units
        shown = lines if len(lines) <= 2 * keep else [*lines[:keep], None, *lines[-keep:]]
        for u in shown:
            if u is None:
                table.add_row("…", "", "", "", "", "", "", "", "")
                continue
            table.add_row(str(u.rank or none), u.name, str(u.figures["dispatched"].value),
                          *(percent(u.rates[k].value, none=none)
                            for k in ("response", "resolution", "satisfaction", "on_time")),
                          str(u.figures["overdue"].value),
                          f"{u.score * 100:.1f}" if u.score is not None else none)
        yield table

    table = _table(r["col_item"], r["col_current"], r["col_previous"], r["col_mom"], r["col_last_year"],
                   r["col_yoy"], title=r["section_comparison"])
    for c in report.comparison:
        def shown_value(v: float | None, is_rate: bool = c.is_rate) -> str:
            return none if v is None else (percent(v) if is_rate else str(int(v)))

        table.add_row(rate_name(labels, c.key) if c.is_rate else r[f"fig_{c.key}"],
                      shown_value(c.current), shown_value(c.previous),
                      change_text(c.mom, c.is_rate, labels), shown_value(c.last_year),
                      change_text(c.yoy, c.is_rate, labels))
    yield table
    yield render_board_table(report.warnings, limit=10, title=r["section_warnings"])


def render_board_table(board: Board, *, limit: int | None = None, title: str | None = None) -> Table:
    r = board.labels.report
    at = shanghai(board.at).strftime("%Y-%m-%d %H:%M")
    table = _table(r["col_unit"], r["col_red"], r["col_yellow"], r["col_blue"], r["col_normal"],
                   r["col_open"], title=f"{title or ''} {r['board_as_of'].format(at=at)}".strip())
    table.columns[0].justify = "left"
    for line in board.lines[:limit]:
        table.add_row(line.name, *(Text(str(getattr(line, k) or ""), style=STYLE[k])
                                   for k in ("red", "yellow", "blue", "none")), str(line.total))
    totals = board.totals
    table.add_row(r["col_total"], str(totals.red), str(totals.yellow), str(totals.blue), str(totals.none),
                  str(totals.total), style="bold")
    return table


def render_board(board: Board) -> RenderableType:
    r = board.labels.report
    parts: list[RenderableType] = [
        Rule(Text(r["board_title"].format(office=board.office_name), style="bold red")),
        render_board_table(board)]
    if board.red_cases:
        table = _table(r["col_number"], r["col_title"], r["col_unit"], board.labels.ledger["deadline_on"],
                       r["col_days_over"], title=r["board_red_cases"])
        table.columns[1].justify = table.columns[2].justify = "left"
        for c in board.red_cases:
            table.add_row(c["number"], c["title"][:30], c["unit"], str(c["deadline_on"]),
                          Text(str(c["days_over"]), style="bold red"))
        parts.append(table)
    parts.append(Text(r["board_note"], style="dim"))
    return Group(*parts)
