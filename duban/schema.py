"""The schema at the migrations' head: how every database, SQLite or PostgreSQL, is set up."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

# Tables others own in our database (APScheduler's job store) are not part of our schema.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Alembic's filter: compare and migrate only Duban's own tables."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "duban:migrations")
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction per run."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if current_revision(engine) is None and "cases" in inspect(conn).get_table_names():
            # A database made by create_all before migrations existed: it is at head already.
            command.stamp(cfg, "head")
            return
        command.upgrade(cfg, revision)


def revision(message: str) -> None:  # pragma: no cover - a developer's tool
    """Autogenerate a migration from the difference between the models and a fresh database."""
    import tempfile

    from duban.db import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/rev.db")
        upgrade(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
