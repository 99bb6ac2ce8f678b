"""`duban db`: the schema through Alembic migrations."""

from __future__ import annotations

import time

import typer

from duban.cli.common import console, printed, reported_errors
from duban.config.settings import get_settings
from duban.db import get_engine
from duban.files import private_dir
from duban.schema import current_revision, reorder_search, upgrade

app = typer.Typer(no_args_is_help=True, help="Database schema (migrations).")


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    settings = get_settings()
    private_dir(settings.data_dir, tighten=True)  # the database it makes is the owner's only
    engine = get_engine(settings.resolved_database_url)
    before = current_revision(engine)
    upgrade(engine, revision)
    console.print(f"{engine.url.render_as_string(hide_password=True)}: {before or printed('db.empty')} → "
                  f"{current_revision(engine)}")


@app.command("current")
def current() -> None:
    """Print the database's migration revision."""
    console.print(current_revision(get_engine(get_settings().resolved_database_url)) or printed("db.none"))


@app.command("reorder")
def reorder() -> None:
    """Lay the search index's rows again in their cases' order (PostgreSQL; a quiet hour's task:
    the index, and every write of a case, waits until it is done)."""
    started = time.perf_counter()
    with reported_errors():
        order = reorder_search(get_engine(get_settings().resolved_database_url))
    if order is None:
        console.print(printed("db.in_order"))
        return
    console.print(printed("db.reordered", before=f"{order[0]:.2f}", after=f"{order[1]:.2f}",
                          seconds=round(time.perf_counter() - started)))
