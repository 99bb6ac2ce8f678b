"""What leaders read: periodic reports, rates and rankings, the warning board, ledgers, charts.

    build_report(ctx, period, office_code) -> Report     figures with traces (build.py)
    build_board(ctx, office_code) -> Board               the morning warning board (board.py)
    render_report_html(report) / render_board_html(board) -> str   <section> fragments (html.py)
    render_report_page(report) / render_board_page(board) -> str   full pages, print-ready
    write_xlsx(report, path)                             workbook with a 台账 sheet (xlsx.py)
    parse_period("2023-03" | "2023-W12" | "2023-Q1" | "2023-H1" | "2023" | "2023-03-24 18:00")
    cases_behind(ctx, trace)                             the cases behind any figure (build.py)
"""

from __future__ import annotations

from duban.reports.board import build_board
from duban.reports.build import build_report, cases_behind
from duban.reports.model import Board, Figure, Rate, Report, Trace
from duban.reports.period import Period, parse_period

__all__ = [
    "Board",
    "Figure",
    "Period",
    "Rate",
    "Report",
    "Trace",
    "build_board",
    "build_report",
    "cases_behind",
    "parse_period",
]
