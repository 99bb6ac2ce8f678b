"""A scratch PostgreSQL database beside the one a URL names, for `duban bench` to fill and drop
(the benchmark scripts each start from an empty one)."""

from __future__ import annotations

from sqlalchemy import make_url, text

from duban.db import make_engine


class Scratch:
    """A database `<name>_bench` next to the one a PostgreSQL URL names, fresh for each script."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.name = f"{parsed.database or 'duban'}_bench"
        self.url = parsed.set(database=self.name).render_as_string(hide_password=False)
        self._admin_url = url

    def _execute(self, *statements: str) -> None:
        engine = make_engine(self._admin_url).execution_options(isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.engine.dispose()

    def fresh(self) -> str:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"')
        return self.url

    def drop(self) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
