"""The report as an Excel workbook: one sheet per table, and the 台账 (one row per case).

Offices keep their ledgers in Excel and check figures there, so every table of the report is a
plain sheet (header row, frozen, filterable), and the 台账 sheet has a "计入：…" column per figure:
filtering it on 1 gives the cases behind that figure, and its sum is the figure. The workbook is
written in openpyxl's write-only mode, row by row, so a ledger of tens of thousands of cases
does not sit in memory twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from duban.cells import keep_text, xlsx_row
from duban.clock import shanghai
from duban.config.policy import Labels
from duban.files import write_private
from duban.reports.html import change_text, report_title
from duban.reports.ledger import CASE_FLAGS, event_columns
from duban.reports.model import Report
from duban.reports.narrative import period_label
from duban.reports.rates import definition, percent
from duban.reports.rates import name as rate_name

LEVELS = ("province", "city", "county")
DISPOSITIONS = ("transfer", "supervise", "key_supervise", "escalate", "refer", "none")
_HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
_HEADER_FONT = Font(bold=True)


def excel_time(value: dt.datetime | None) -> dt.datetime | None:
    """Excel has no time zones: Beijing wall time, as the office reads it."""
    return shanghai(value).replace(tzinfo=None) if value is not None else None


class _Sheet:
    def __init__(self, wb: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]) -> None:
        self.ws: WriteOnlyWorksheet = wb.create_sheet(title[:31])
        for i, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = "A2"
        self.columns = len(headers)
        self.rows = 0
        cells = []
        for text in headers:
            cell = keep_text(WriteOnlyCell(self.ws, value=text))
            cell.fill, cell.font = _HEADER_FILL, _HEADER_FONT
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            cells.append(cell)
        self.ws.append(cells)

    def add(self, values: Iterable[Any]) -> None:
        self.ws.append(xlsx_row(self.ws, values))
        self.rows += 1

    def filter(self) -> None:
        self.ws.auto_filter.ref = f"A1:{get_column_letter(self.columns)}{self.rows + 1}"


def _summary(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_summary"], [r["col_item"], r["col_count"], r["col_definition"]],
                   [28, 14, 90])
    sheet.add([report_title(report), period_label(report.period, labels), report.office_name])
    sheet.add([r["generated"].format(at=shanghai(report.generated_at).strftime("%Y-%m-%d %H:%M")),
               None, None])
    sheet.add([r["section_summary"], None, report.narrative])
    definitions = {"received": r["def_received"], "disposed": r["def_disposed"],
                   "closed": r["def_closed"], "overdue": r["def_overdue"],
                   "supervision": r["def_supervision"]}
    for key, figure in report.figures.items():
        sheet.add([r.get(f"fig_{key}", key), figure.value, definitions.get(key, "")])
    for key, rate in report.rates.items():
        sheet.add([rate_name(labels, key), percent(rate.value), definition(labels, key)])


def _received(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    channels = list(labels.channels)
    sheet = _Sheet(wb, r["sheet_received"],
                   [r["col_level"], *(labels.channels[c] for c in channels), r["col_total"]],
                   [14, *([12] * len(channels)), 12])
    for level in LEVELS:
        cells = [report.received_grid.get((level, c)) for c in channels]
        sheet.add([labels.of("levels", level), *(f.value if f else 0 for f in cells),
                   report.by_level[level]["received"].value])
    sheet.add([r["col_total"], *(report.by_channel[c].value if c in report.by_channel else 0
                                 for c in channels), report.figures["received"].value])


def _dispositions(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_dispositions"],
                   [labels.ledger["disposition"], *(labels.of("levels", lv) for lv in LEVELS),
                    r["col_total"]], [20, 12, 12, 12, 12])
    for d in DISPOSITIONS:
        name = labels.of("dispositions", d) if d != "none" else r["fig_undisposed"]
        sheet.add([name, *(report.dispositions[lv][d].value for lv in LEVELS),
                   report.dispositions["all"][d].value])


def _handling(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_handling"],
                   [r["col_item"], *(labels.of("levels", lv) for lv in LEVELS), r["col_total"],
                    r["col_item_unit"]], [22, 12, 12, 12, 12, 8])
    for key in ("received", "disposed", "dispatched", "responded", "resolved", "cohort_closed",
                "closed", "on_time", "overdue"):
        sheet.add([r[f"fig_{key}"], *(report.by_level[lv][key].value for lv in LEVELS),
                   report.figures[key].value, r["unit_jian"]])
    sheet.add([r["fig_rehandled_closed"], None, None, None, report.figures["rehandled_closed"].value,
               r["unit_jian"]])
    for key, figure in report.events.items():
        sheet.add([r[f"fig_{key}"], None, None, None, figure.value, r["unit_jianci"]])
    for reason, figure in report.declines.items():
        sheet.add([r["fig_declined_by"] + labels.of("decline_reasons", reason), None, None, None,
                   figure.value, r["unit_jianci"]])
    for method, figure in report.callback_methods.items():
        name = labels.callback_methods.get(method) or r["method_unrecorded"]
        sheet.add([f"{r['col_method']}：{name}", None, None, None, figure.value, r["unit_jianci"]])
    for result, figure in report.callback_results.items():
        sheet.add([f"{r['col_result']}：{labels.of('callback_results', result)}", None, None, None,
                   figure.value, r["unit_jianci"]])
    sheet.add([r["fig_uncallable"], None, None, None, report.figures["uncallable"].value, r["unit_jian"]])


def _rates(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_rates"], [r["col_rate"], r["col_current"], r["col_numerator"],
                                          r["col_denominator"], r["col_definition"]], [14, 10, 10, 10, 90])
    for key, rate in report.rates.items():
        sheet.add([rate_name(labels, key), rate.value, rate.numerator.value, rate.denominator.value,
                   definition(labels, key)])


def _supervision(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_supervision"], [r["col_item"], r["col_count"]], [22, 12])
    for action, figure in report.supervision.items():
        sheet.add([labels.supervision.get(action) or labels.of("actions", action), figure.value])
    for key in ("escalations", "step_ups", "refers"):
        sheet.add([r[f"fig_{key}"], report.events[key].value])
    sheet.add([r["fig_supervision"], report.figures["supervision"].value])


def _key_cases(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_key"], [r["col_number"], r["col_title"], labels.ledger["unit"],
                                        r["col_state"], r["col_progress"], r["col_last_progress"],
                                        labels.ledger["received_at"], labels.ledger["closed_at"]],
                   [18, 50, 22, 14, 10, 18, 18, 18])
    for k in report.key_cases:
        sheet.add([k.number, k.title, k.unit, labels.of("states", k.state), k.progress_reports,
                   excel_time(k.last_progress_at), excel_time(k.received_at), excel_time(k.closed_at)])


def _complained(wb: Workbook, report: Report) -> None:
    r = report.labels.report
    sheet = _Sheet(wb, r["sheet_complained"], [r["col_rank"], r["col_unit"], r["col_count"]], [8, 30, 10])
    for i, (name, figure) in enumerate(report.complained, start=1):
        sheet.add([i, name, figure.value])


def _ranking(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    figures = ("dispatched", "responded", "resolved", "closed", "on_time", "callbacks", "satisfied",
               "overdue", "returns")
    rates = ("response", "resolution", "satisfaction", "on_time")
    sheet = _Sheet(wb, r["sheet_ranking"],
                   [r["col_rank"], r["col_unit"], labels.ledger["unit_code"],
                    *(r[f"fig_{f}"] for f in figures), *(rate_name(labels, k) for k in rates),
                    r["col_score"]], [8, 28, 16, *([9] * len(figures)), *([10] * len(rates)), 10])
    for u in report.ranking:
        sheet.add([u.rank, u.name, u.code, *(u.figures[f].value for f in figures),
                   *(u.rates[k].value for k in rates), u.score])
    sheet.filter()


def _comparison(wb: Workbook, report: Report) -> None:
    labels, r = report.labels, report.labels.report
    sheet = _Sheet(wb, r["sheet_comparison"],
                   [r["col_item"], r["col_current"], f"{r['col_previous']} {report.previous_key or ''}",
                    r["col_mom"], f"{r['col_last_year']} {report.last_year_key or ''}", r["col_yoy"]],
                   [16, 12, 18, 16, 18, 16])
    for c in report.comparison:
        name = rate_name(labels, c.key) if c.is_rate else r[f"fig_{c.key}"]
        sheet.add([name, c.current, c.previous, change_text(c.mom, c.is_rate, labels), c.last_year,
                   change_text(c.yoy, c.is_rate, labels)])


def _trend(wb: Workbook, report: Report) -> None:
    r = report.labels.report
    sheet = _Sheet(wb, r["sheet_trend"], [r["col_week"], r["fig_received"], r["fig_closed"]], [22, 10, 10])
    for p in report.trend:
        sheet.add([f"{p.week.key} ({p.week.first}—{p.week.last})", p.received, p.closed])


def _warnings(wb: Workbook, report: Report) -> None:
    r = report.labels.report
    sheet = _Sheet(wb, r["sheet_warnings"], [r["col_unit"], r["col_red"], r["col_yellow"], r["col_blue"],
                                             r["col_normal"], r["col_open"]], [28, 8, 8, 8, 8, 8])
    for line in report.warnings.lines:
        sheet.add([line.name, line.red, line.yellow, line.blue, line.none, line.total])
    sheet.filter()


def ledger_headers(labels: Labels, supervision: Iterable[str]) -> tuple[list[str], list[str]]:
    """(case column headers, figure column keys) of the 台账 sheet."""
    g = labels.ledger
    case_columns = [g["number"], g["received_at"], g["level"], g["office"], g["channel"], g["category"],
                    g["priority"], g["title"], g["subject_name"], g["disposition"], g["unit"], g["state"],
                    g["closed_at"], g["deadline_kind"], g["deadline_on"], g["return_count"],
                    g["repeat_count"]]
    return case_columns, [*CASE_FLAGS, *event_columns(supervision)]


def _flag_header(labels: Labels, key: str) -> str:
    if key.startswith("supervision:"):
        action = key.split(":", 1)[1]
        name = labels.supervision.get(action) or labels.of("actions", action)
    else:
        name = labels.report.get(f"fig_{key}", key)
    return labels.ledger["flag"].format(name=name)


def _ledger(wb: Workbook, report: Report) -> int:
    labels = report.labels
    supervision = list(report.supervision)
    case_columns, flags = ledger_headers(labels, supervision)
    sheet = _Sheet(wb, labels.report["sheet_ledger"],
                   [*case_columns, *(_flag_header(labels, k) for k in flags)],
                   [18, 17, 8, 24, 9, 10, 10, 48, 22, 12, 22, 14, 17, 8, 11, 7, 7, *([7] * len(flags))])
    if report.ledger is None:
        return 0
    of = labels.of
    for row in report.ledger():
        sheet.add([row.number, excel_time(row.received_at), of("levels", row.level), row.office,
                   of("channels", row.channel), of("categories", row.category),
                   of("priorities", row.priority), row.title, row.subject,
                   of("dispositions", row.disposition), row.unit, of("states", row.state),
                   excel_time(row.closed_at), of("deadline_kinds", row.deadline_kind), row.deadline_on,
                   row.return_count, row.repeat_count, *(row.flags[k] for k in flags)])
    sheet.filter()
    return sheet.rows


def write_xlsx(report: Report, path: str | Path, *, force: bool = False,
               protected: Iterable[Path] = ()) -> Path:
    """Write the report's workbook to `path` (one sheet per table, then the 台账).

    Created 0600; FileExists if `path` exists and not `force`; never over `protected` (the
    database: duban.files).
    """
    def save(out: Path) -> None:
        wb = Workbook(write_only=True)
        for write in (_summary, _received, _dispositions, _handling, _rates, _supervision, _key_cases,
                      _complained, _ranking, _comparison, _trend, _warnings, _ledger):
            write(wb, report)
        wb.save(out)

    return write_private(path, save, force=force, protected=protected)
