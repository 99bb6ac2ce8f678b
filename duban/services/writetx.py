"""A write transaction without the ORM's bookkeeping, unless an action asks for the ORM.

An action loads its case, runs a handful of prepared statements (services/driver.py) and writes
its case row at commit (services/persist.py): none of it needs a Session, whose begin, prepare,
commit and close cost about as much as the action's statements together. `WriteTx` is what the
service layer hands its steps in a Session's place: a connection, the transaction's `info`, and
commit and rollback. The few steps that do use the ORM (an extension decided, a callback task
done, a notification added) get a real Session on the same connection the first time they ask;
it is flushed at commit, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from duban.services.auditrows import forget
from duban.services.driver import forget_connection
from duban.services.persist import forget_tracked, save_tracked


class WriteTx:
    """One write transaction (or several in a row, as a Session: `commit` ends one, the next
    statement begins another)."""

    def __init__(self, engine: Engine, kept: Connection | None = None) -> None:
        self._engine = engine
        self._kept = kept  # the writer's connection (db.writer_lock), not this transaction's to close
        self._conn: Connection | None = kept
        self._orm: Session | None = None
        self.info: dict[str, Any] = {}

    def get_bind(self) -> Engine:
        return self._engine

    def connection(self) -> Connection:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._engine.connect()
        if not conn.in_transaction():
            conn.begin()
        return conn

    @property
    def orm(self) -> Session:
        """A Session in this transaction, made the first time a step needs the ORM."""
        if self._orm is None:
            self._orm = Session(bind=self.connection(), autoflush=False, expire_on_commit=False,
                                join_transaction_mode="rollback_only")
        return self._orm

    def __contains__(self, instance: object) -> bool:
        return self._orm is not None and instance in self._orm

    def __getattr__(self, name: str) -> Any:
        # Anything else a Session offers (get, exec, execute, add, scalars…) is the ORM's.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.orm, name)

    def commit(self) -> None:
        save_tracked(self)  # type: ignore[arg-type]
        if self._orm is not None:
            self._orm.flush()
            self._orm.close()
            self._orm = None
        forget_connection(self)  # type: ignore[arg-type]
        if self._conn is not None and self._conn.in_transaction():
            self._conn.commit()

    def rollback(self) -> None:
        forget_tracked(self)  # type: ignore[arg-type]
        forget(self)  # type: ignore[arg-type]
        forget_connection(self)  # type: ignore[arg-type]
        if self._orm is not None:
            self._orm.close()
            self._orm = None
        if self._conn is not None and self._conn.in_transaction():
            self._conn.rollback()

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()
            self._orm = None
        if self._conn is not None and self._conn is self._kept:
            if self._conn.in_transaction():
                self._conn.rollback()
        elif self._conn is not None:
            self._conn.close()
        self._conn = None
