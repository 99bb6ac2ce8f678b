"""`duban calendar`: working days on the official calendar, and deadline recompute."""

from __future__ import annotations

import datetime as dt

import typer

from duban.cli.common import calendar_day, console, context, err_console, printed, reported_errors, said
from duban.cli.common import table as columns
from duban.cli.usage import refuse
from duban.config.policy import get_labels
from duban.config.settings import get_settings
from duban.workcal import load_calendar_book

app = typer.Typer(no_args_is_help=True, help="Working days (工作日) and deadline recompute.")


def _calendar(org: str | None):  # type: ignore[no-untyped-def]
    return load_calendar_book(get_settings().override_dir).for_org(org)


def _warn_provisional(day: dt.date) -> None:
    err_console.print(said("provisional_year", year=day.year), style="yellow")


@app.command("add-workdays")
def add_workdays(
    start: dt.datetime = typer.Argument(..., formats=["%Y-%m-%d"]),
    n: int = typer.Argument(..., min=1),
    org: str | None = typer.Option(None, help="org code, for a jurisdiction's own holidays"),
) -> None:
    """Print the N-th working day after START (START itself not counted)."""
    day = calendar_day(start, "START")
    with reported_errors():
        try:
            answer = _calendar(org).add_workdays(day, n)
        except ValueError:  # past the calendar's last day
            refuse("past_calendar", "N")
    if answer.provisional:
        _warn_provisional(answer.date)
        console.print(f"{answer.date} {get_labels().text['provisional']}")
    else:
        console.print(str(answer.date))


@app.command("is-workday")
def is_workday(
    day: dt.datetime = typer.Argument(..., formats=["%Y-%m-%d"]),
    org: str | None = typer.Option(None, help="org code, for a jurisdiction's own holidays"),
) -> None:
    """Say whether DAY is a working day (exit 0) or a day off (exit 1)."""
    status = _calendar(org).is_workday(calendar_day(day, "DAY"))
    text = printed("calendar.workday" if status.workday else "calendar.day_off")
    if status.provisional:
        _warn_provisional(status.date)
        text += " " + get_labels().text["provisional"]
    console.print(f"{status.date} {text}")
    raise typer.Exit(0 if status.workday else 1)


@app.command("years")
def years() -> None:
    """List the years whose official schedule is known, with their source."""
    book = load_calendar_book(get_settings().override_dir)
    for year in book.known_years[-5:]:
        console.print(f"{year}: {book.schedules[year].source}")
    for local in book.locals:
        console.print(printed("calendar.local", name=local.name, regions="、".join(local.region_prefixes),
                              days=len(local.holidays)))


@app.command("recompute")
def recompute(apply: bool = typer.Option(False, "--apply", help="store the new deadlines")) -> None:
    """Show which open deadlines the current calendar moves, and by how much; --apply stores them."""
    from duban.services.recompute import apply_moved, find_moved

    ctx = context()
    moved = find_moved(ctx)
    table = columns("moved_deadlines")
    for m in moved[:200]:
        table.add_row(m.number, str(m.old), str(m.new), f"{m.delta_days:+d}",
                      printed("calendar.provisional" if m.provisional_after else "calendar.final"))
    if moved:
        console.print(table)
    console.print(said("deadlines_moved", n=len(moved)) + ("" if len(moved) <= 200 else said("first_200")))
    if apply and moved:
        apply_moved(ctx, moved)
        console.print(said("deadlines_stored", n=len(moved)))
