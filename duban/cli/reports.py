"""`duban report` and `duban board`: what leaders read, in the terminal or as files."""

from __future__ import annotations

from pathlib import Path

import typer

from duban.cli.common import console, context, printed, reported_errors, said
from duban.cli.common import table as columns
from duban.errors import InvalidActionInput

PERIOD_HELP = ("2023-03 (month), 2023-W12, 2023-Q1, 2023-H1, 2023, 2023-03-24 (day), "
               "'2023-03-24 18:00' (as of: everything up to then), 2023-03-01..2023-03-15; "
               "default: this month")


def _where(pairs: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidActionInput(action="report", field="where", message="use KEY=VALUE")
        out[key.strip()] = value.strip() or None
    return out


def report(
    period: str | None = typer.Option(None, "--period", "-p", help=PERIOD_HELP),
    office: str | None = typer.Option(None, help="office code (default: the top office)"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="write the workbook (sheets + 台账) here"),
    html: Path | None = typer.Option(None, "--html", help="write the print-ready page here"),
    pdf: Path | None = typer.Option(None, "--pdf", help="print the page to PDF (needs Chromium)"),
    cases: str | None = typer.Option(None, "--cases", help="list the cases behind FIGURE instead"),
    where: list[str] = typer.Option([], "--where", help="with --cases: level=city, unit=GS-FGW, ..."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="write files only, print nothing"),
    force: bool = typer.Option(False, "--force", help="replace --xlsx/--html/--pdf files that exist"),
) -> None:
    """The periodic report (每月专报 and the rest): figures, rates, rankings, trend, warnings."""
    from duban.files import database_files, refuse_output, write_private_text
    from duban.reports import Trace, build_report, cases_behind, parse_period
    from duban.reports.build import root_office
    from duban.reports.html import render_report_page
    from duban.reports.period import current
    from duban.reports.terminal import render_report
    from duban.reports.xlsx import write_xlsx

    ctx = context()
    with reported_errors():
        chosen = parse_period(period) if period else current("month", ctx.today())
        office_code = office or root_office(ctx)
        if cases:
            trace = Trace(cases, chosen.key, office_code, tuple(_where(where).items()))
            rows = cases_behind(ctx, trace)
            table = columns("cases_behind")
            for number, n in rows:
                table.add_row(number, str(n))
            console.print(table)
            console.print(said("cases_behind", what=cases, n=sum(n for _, n in rows), cases=len(rows)))
            return
        protected = database_files(ctx.engine)
        for target in (xlsx, html, pdf):  # before the work: an existing file is refused at once
            if target is not None:
                refuse_output(target, force=force, protected=protected)
        result = build_report(ctx, chosen, office_code)
        if xlsx:
            written = write_xlsx(result, xlsx, force=force, protected=protected)
            if not quiet:
                console.print(printed("reports.xlsx", file=written))
        page = render_report_page(result) if (html or pdf) else ""
        if html:
            write_private_text(html, page, force=force, protected=protected)
            if not quiet:
                console.print(printed("reports.html", file=html))
        if pdf:
            from duban.reports.pdf import html_to_pdf

            written = html_to_pdf(page, pdf, force=force, protected=protected)
            if not quiet:
                console.print(printed("reports.pdf", file=written))
    if not quiet and not (xlsx or html or pdf):
        console.print(render_report(result))


def board(
    office: str | None = typer.Option(None, help="office code (default: the top office)"),
    html: Path | None = typer.Option(None, "--html", help="write the board page here"),
    at: str | None = typer.Option(None, "--at", help="as of this Beijing time (default: now)"),
    force: bool = typer.Option(False, "--force", help="replace the --html file if it exists"),
) -> None:
    """The warning board (预警看板): open cases by unit and colour, overdue cases first."""
    from duban.cli.common import received_time
    from duban.reports import build_board
    from duban.reports.build import root_office
    from duban.reports.html import render_board_page
    from duban.reports.terminal import render_board

    when = received_time(at, "--at") if at else None
    ctx = context()
    with reported_errors():
        result = build_board(ctx, office or root_office(ctx), at=when,
                             red_limit=20)
    if html:
        from duban.files import database_files, write_private_text

        with reported_errors():
            write_private_text(html, render_board_page(result), force=force,
                               protected=database_files(ctx.engine))
        console.print(printed("reports.html", file=html))
        return
    console.print(render_board(result))


def register(app: typer.Typer) -> None:
    """Add report, board, import and export to the `duban` command."""
    from duban.cli import ledgers

    app.command("report")(report)
    app.command("board")(board)
    app.command("import")(ledgers.import_)
    app.command("export")(ledgers.export)
