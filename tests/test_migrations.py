"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import duban.models  # noqa: F401
from duban.db import make_engine
from duban.schema import current_revision, include_object, upgrade
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it (PostgreSQL: a database of its own, made for this test)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    url = make_url(os.environ["DUBAN_TEST_PG_URL"])
    name = f"{url.database}_migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = make_engine(url.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.engine.dispose()


def test_upgrading_an_empty_database_gives_the_models_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert current_revision(empty_engine) is not None
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object,
                                                         "compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], "the models changed: add a migration (duban.schema.revision)"


def test_migrated_audit_events_are_append_only(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    catalogue = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass "
                      "AND NOT tgisinternal",
    }[empty_engine.dialect.name]
    with empty_engine.connect() as conn:
        triggers = set(conn.execute(text(catalogue)).scalars())
    assert triggers == {"sqlite": {"audit_events_no_update", "audit_events_no_delete",
                                   "audit_events_no_replace"},
                        "postgresql": {"audit_events_append_only"}}[empty_engine.dialect.name]


def test_a_database_made_before_migrations_is_stamped_not_rebuilt(empty_engine: Engine) -> None:
    SQLModel.metadata.create_all(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) is not None
    assert "cases" in inspect(empty_engine).get_table_names()
