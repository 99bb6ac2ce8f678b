"""What every command shares: the service context, the acting user, and how errors are shown."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from duban.cli.usage import refuse
from duban.clock import SHANGHAI, as_utc
from duban.config.cli_output import get_cli_output
from duban.config.policy import Labels, get_labels
from duban.errors import DubanError
from duban.present.problems import filled, problem_for
from duban.services.context import Actor, ServiceContext
from duban.shown import UNSHOWN, shown
from duban.workcal import COVERAGE, FIRST_DAY, LAST_DAY, receivable


class ShownConsole(Console):
    """Rich's console printing text as typed: never read as Rich's markup (a case titled
    "供水[/]问题" stopped `duban case show` with a MarkupError, one with "[red]" lost those words)
    and without the characters that act on a terminal (an ESC in a title wrote escape sequences
    to the operator's terminal: duban.shown). A style is given as a style or a Text, not inline."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(highlight=False, markup=False, **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        """Every piece of text a table, a Text or a string brings, as shown (Rich's own control
        segments, which move the cursor, are its own)."""
        for segment in super().render(renderable, options):
            if segment.control or not UNSHOWN.search(segment.text):
                yield segment
            else:
                yield Segment(shown(segment.text), segment.style)


console = ShownConsole()
err_console = ShownConsole(stderr=True)
log = logging.getLogger(__name__)

AS_HELP = "act as ROLE or ROLE:ORG_CODE (clerk, dispatcher, unit, supervisor, leader, admin)"


def said(key: str, **values: Any) -> str:
    """What a command did, as labels [cli] `key` says it."""
    return get_labels().cli.get(key, "").format(**values)


def printed(key: str, /, **values: Any) -> str:
    """What a command prints, as config/cli_output.toml `key` ("audit.intact") says it."""
    return get_cli_output().text(key, **values)


def printed_of(section: str, code: str) -> str:
    """The word config/cli_output.toml [`section`] gives `code` (an outbox status), or the code."""
    return get_cli_output().of(section, code)


def table(name: str, **options: Any) -> Table:
    """A table whose column headers are labels [columns] `name` (what a person reads, in config)."""
    return Table(*get_labels().columns.get(name, []), **options)


def context() -> ServiceContext:
    """The configured database's context; a database not yet migrated is a one-line error."""
    with reported_errors():
        return ServiceContext.from_settings()


def migrated_context() -> ServiceContext:
    """`context()` after bringing the schema to the migrations' head: the commands that set a
    database up (`serve`, `demo`) migrate on start, as `duban db upgrade` does."""
    from duban.config.settings import get_settings
    from duban.db import get_engine
    from duban.schema import upgrade

    settings = get_settings()
    upgrade(get_engine(settings.resolved_database_url))
    return context()


def actor_from(ctx: ServiceContext, spec: str, user: str | None = None) -> Actor:
    from duban.services.orgs import find_org

    role, _, code = spec.partition(":")
    org_id = find_org(ctx.engine, code).id if code else None
    return Actor(name=user or getpass.getuser(), role=role, org_id=org_id)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show a DubanError as one line in Chinese and exit 1, instead of a traceback; its English
    (an internal, like its code) goes to the log."""
    try:
        yield
    except DubanError as exc:
        log.info("%s: %s", exc.code, exc)
        labels = get_labels()
        err_console.print(Text.assemble((labels.cli.get("error", ""), "red"), error_text(exc, labels)))
        raise typer.Exit(1) from exc


def error_text(exc: DubanError, labels: Labels) -> str:
    """What the command line says of `exc`: labels [cli] error_<code> where the operator running it
    can do more than a page's reader (run `duban db upgrade`), else what the pages say."""
    template = labels.cli.get(f"error_{exc.code}")
    if template:
        return filled(template, **vars(exc))
    return problem_for(exc, labels).message_zh


def calendar_day(value: dt.date | dt.datetime | str, option: str) -> dt.date:
    """A date the working-day calendar covers, or a usage error naming `option` (not the value)."""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except ValueError:
        refuse("date_format", option)
    day = day.date() if isinstance(day, dt.datetime) else day
    if not FIRST_DAY <= day <= LAST_DAY:
        refuse("outside_calendar", option, first=FIRST_DAY.year, last=LAST_DAY.year)
    return day


def received_time(text: str, option: str = "--received") -> dt.datetime:
    """'2023-03-24' or '2023-03-24 18:00', Beijing time, within the years a case may be received
    in (the calendar's, less its last); else a usage error naming `option`."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        refuse("time_format", option)
    value = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if not receivable(value):
        refuse("not_receivable", option, coverage=COVERAGE)
    return as_utc(value)
