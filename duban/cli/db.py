"""`duban db`: the schema through Alembic migrations."""

from __future__ import annotations

import typer

from duban.cli.common import console, printed
from duban.config.settings import get_settings
from duban.db import get_engine
from duban.files import private_dir
from duban.schema import current_revision, upgrade

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
