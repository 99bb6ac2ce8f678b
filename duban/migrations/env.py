"""Alembic environment: the models' metadata, on the connection the caller hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import duban.models  # noqa: F401  (every table)
from duban.db import get_engine
from duban.schema import include_object


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with get_engine().connect() as conn:
            _run(conn)
            conn.commit()
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
