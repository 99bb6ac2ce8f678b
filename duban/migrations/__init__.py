"""Alembic migrations: the schema's history. `duban db upgrade` applies them.

What names the head lives here, beside the scripts, so that making a schema from the models
(duban.db.create_all) can record it without importing the upgrade machinery.
"""

from __future__ import annotations

from functools import cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "duban:migrations")
    return cfg


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def stamp_head(engine: Engine) -> None:
    """Record a schema made from the models (create_all) as at the head: the two are equal
    (tests/test_migrations.py compares them)."""
    with engine.begin() as conn:
        MigrationContext.configure(conn).stamp(_scripts(), "head")
