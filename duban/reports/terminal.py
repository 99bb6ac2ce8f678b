"""The report and the board as Rich renderables, for `duban report` and `duban board`.

Returns renderables rather than printing, so the CLI decides where they go (and tests can
render them to a string).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
    return Group(*(part for section in SECTIONS for part in section(report)))


def _heading(report: Report) -> Iterator[RenderableType]:
    labels = report.labels
    yield Rule(Text(report_title(report), style="bold red"))
    yield Text(f"{period_label(report.period, labels)} · {report.office_name}", justify="center")
    yield Text(labels.report["section_summary"], style="bold")
    yield Padding(Text(report.narrative), (0, 2, 1, 2))


def _received(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    channels = list(labels.channels)
    table = _table(words["col_level"], *(labels.channels[c] for c in channels), words["col_total"],
                   title=words["section_received"])
    for level in LEVELS:
        cells = [report.received_grid.get((level, c)) for c in channels]
        table.add_row(labels.of("levels", level), *(str(c.value if c else 0) for c in cells),
                      str(report.by_level[level]["received"].value))
    by_channel = report.by_channel
    table.add_row(words["col_total"], *(str(by_channel[c].value if c in by_channel else 0) for c in channels),
                  str(report.figures["received"].value), style="bold")
    yield table


def _dispositions(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    table = _table(labels.ledger["disposition"], *(labels.of("levels", level) for level in LEVELS),
                   words["col_total"], title=words["section_dispositions"])
    for disposition in DISPOSITIONS:
        if disposition == "none" and not report.dispositions["all"][disposition].value:
            continue
        name = labels.of("dispositions", disposition) if disposition != "none" else words["fig_undisposed"]
        table.add_row(name, *(str(report.dispositions[level][disposition].value) for level in LEVELS),
                      str(report.dispositions["all"][disposition].value))
    yield table


def _handling(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    table = _table(words["col_item"], *(labels.of("levels", level) for level in LEVELS), words["col_total"],
                   title=words["section_handling"])
    for key in ("closed", "on_time", "cohort_closed", "overdue"):
        table.add_row(words[f"fig_{key}"], *(str(report.by_level[level][key].value) for level in LEVELS),
                      str(report.figures[key].value))
    yield table


def _events(report: Report) -> Iterator[RenderableType]:
    words = report.labels.report
    table = _table(words["col_item"], words["col_count"])
    table.add_row(words["fig_rehandled_closed"],
                  f"{report.figures['rehandled_closed'].value} {words['unit_jian']}")
    for key in ("returns", "callback_returns", "reopened", "extension_requests",
                "extensions_approved", "extensions_rejected", "objections", "declined", "reinstated"):
        table.add_row(words[f"fig_{key}"], f"{report.events[key].value} {words['unit_jianci']}")
    yield table


def _callbacks(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    times = words["unit_jianci"]
    table = _table(words["col_item"], words["col_count"], title=words["section_callbacks"])
    for method, figure in report.callback_methods.items():
        name = labels.callback_methods.get(method) or words["method_unrecorded"]
        table.add_row(f"{words['col_method']}：{name}", f"{figure.value} {times}")
    for result, figure in report.callback_results.items():
        table.add_row(f"{words['col_result']}：{labels.of('callback_results', result)}",
                      f"{figure.value} {times}")
    table.add_row(words["fig_closed_unreachable"], f"{report.events['closed_unreachable'].value} {times}")
    table.add_row(words["fig_uncallable"], f"{report.figures['uncallable'].value} {words['unit_jian']}")
    yield table


def _rates(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    table = _table(words["col_rate"], words["col_current"], words["col_numerator"], words["col_denominator"],
                   title=words["section_rates"])
    for key, rate in report.rates.items():
        table.add_row(rate_name(labels, key), percent(rate.value, none=words["none"]),
                      str(rate.numerator.value), str(rate.denominator.value))
    yield table
    for key in report.rates:
        yield Padding(Text(f"{rate_name(labels, key)}：{definition(labels, key)}", style="dim"),
                      (0, 0, 0, 2))


def _supervision(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    table = _table(words["col_item"], words["col_count"], title=words["section_supervision"])
    for action, figure in report.supervision.items():
        table.add_row(labels.supervision.get(action) or labels.of("actions", action), str(figure.value))
    for key in ("escalations", "step_ups", "refers"):
        table.add_row(words[f"fig_{key}"], str(report.events[key].value))
    yield table


def _key_cases(report: Report) -> Iterator[RenderableType]:
    if not report.key_cases:
        return
    labels, words = report.labels, report.labels.report
    table = _table(words["col_number"], words["col_title"], labels.ledger["unit"], words["col_state"],
                   words["col_progress"], title=words["section_key"])
    table.columns[1].justify = table.columns[2].justify = table.columns[3].justify = "left"
    for case in report.key_cases:
        table.add_row(case.number, case.title[:30], case.unit, labels.of("states", case.state),
                      str(case.progress_reports))
    yield table


def _complained(report: Report) -> Iterator[RenderableType]:
    if not report.complained:
        return
    words = report.labels.report
    table = _table(words["col_rank"], words["col_unit"], words["col_count"],
                   title=words["section_complained"])
    table.columns[1].justify = "left"
    for rank, (name, figure) in enumerate(report.complained, start=1):
        table.add_row(str(rank), name, str(figure.value))
    yield table


RANKED_RATES = ("response", "resolution", "satisfaction", "on_time")


def _ranking(report: Report) -> Iterator[RenderableType]:
    if not report.ranking:
        return
    labels, words = report.labels, report.labels.report
    none = words["none"]
    table = _table(words["col_rank"], words["col_unit"], words["col_dispatched"],
                   *(rate_name(labels, key) for key in RANKED_RATES), words["col_overdue"],
                   words["col_score"], title=words["section_ranking"])
    table.columns[1].justify = "left"
    lines, keep = report.ranking, report.top_units
    # The top and the bottom of a long ranking, with an ellipsis row between them.
    shown = lines if len(lines) <= 2 * keep else [*lines[:keep], None, *lines[-keep:]]
    for unit in shown:
        if unit is None:
            table.add_row("…", *([""] * 8))
            continue
        table.add_row(str(unit.rank or none), unit.name, str(unit.figures["dispatched"].value),
                      *(percent(unit.rates[key].value, none=none) for key in RANKED_RATES),
                      str(unit.figures["overdue"].value),
                      f"{unit.score * 100:.1f}" if unit.score is not None else none)
    yield table


def _comparison(report: Report) -> Iterator[RenderableType]:
    labels, words = report.labels, report.labels.report
    none = words["none"]
    table = _table(words["col_item"], words["col_current"], words["col_previous"], words["col_mom"],
                   words["col_last_year"], words["col_yoy"], title=words["section_comparison"])
    for line in report.comparison:
        def shown(value: float | None, is_rate: bool = line.is_rate) -> str:
            return none if value is None else (percent(value) if is_rate else str(int(value)))

        table.add_row(rate_name(labels, line.key) if line.is_rate else words[f"fig_{line.key}"],
                      shown(line.current), shown(line.previous), change_text(line.mom, line.is_rate, labels),
                      shown(line.last_year), change_text(line.yoy, line.is_rate, labels))
    yield table


def _warnings(report: Report) -> Iterator[RenderableType]:
    yield render_board_table(report.warnings, limit=10, title=report.labels.report["section_warnings"])


# The report's sections in the order a reader meets them.
SECTIONS: tuple[Callable[[Report], Iterator[RenderableType]], ...] = (
    _heading, _received, _dispositions, _handling, _events, _callbacks, _rates, _supervision,
    _key_cases, _complained, _ranking, _comparison, _warnings)


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
