"""The service layer's write transaction: the ORM only where a step asks for it, and its unit of work.

An action loads its case, runs a handful of prepared statements (services/driver.py) and writes
its case row at the end (services/persist.py): none of it needs a Session, whose begin, prepare,
commit and close cost about as much as the action's statements together. `write_tx` opens the
transaction with the one helper every writer uses (`duban.db.write_transaction`: the writer's
turn, BEGIN, COMMIT or ROLLBACK) and hands its steps a `WriteTx` in a Session's place: the
connection, the transaction's unit of work (services/unitofwork.py) and, the first time a step
asks (an extension decided, a user added), a real Session on the same connection, flushed at
the end, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from duban.db import GENERIC_PLANS, write_transaction
from duban.services.driver import PLANS_OPTION
from duban.services.persist import save_tracked
from duban.services.unitofwork import UnitOfWork

if TYPE_CHECKING:
    from duban.services.auditkeys import KeyRing


def write_tx(engine: Engine, *, keys: KeyRing | None = None,
             keyed: bool = False) -> AbstractContextManager[Session]:
    """One write transaction: what its steps collected is written when the block ends (tracked
    cases, their audit events, the ORM's rows), then it commits; it rolls back if the block raises.

    It yields a `WriteTx`, which stands in for a Session (the steps' signatures say Session).
    `keys`: the key ring the audit events are sealed under (the service context's); None: the default.
    `keyed`: every statement of the transaction finds its rows by a key (one case's action), so
    PostgreSQL may reuse a kept statement's plan (db.GENERIC_PLANS); never for a transaction
    that filters or sorts many rows (a sweep's chunk, a list).
    """
    return cast(AbstractContextManager[Session], _write_tx(engine, keys, keyed))


@contextmanager
def _write_tx(engine: Engine, keys: KeyRing | None, keyed: bool) -> Iterator[WriteTx]:
    with write_transaction(engine) as conn:
        if keyed and conn.dialect.name == "postgresql":  # a connection of its own (not SQLite's kept one)
            conn.execution_options(**{PLANS_OPTION: GENERIC_PLANS})
        tx = WriteTx(engine, conn, UnitOfWork(keys=keys))
        try:
            yield tx
            tx.flush()
        finally:
            tx.close()


class WriteTx:
    """One write transaction, in a Session's place for the steps of the service layer."""

    def __init__(self, engine: Engine, conn: Connection, work: UnitOfWork) -> None:
        self._engine = engine
        self._conn = conn
        self._orm: Session | None = None
        self.work = work

    def get_bind(self) -> Engine:
        return self._engine

    def connection(self) -> Connection:
        """The transaction's connection, begun (BEGIN waits for the first step that asks)."""
        conn = self._conn
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

    def flush(self) -> None:
        """Write what the steps collected: tracked cases and their events, then the ORM's rows."""
        save_tracked(self)  # type: ignore[arg-type]
        if self._orm is not None:
            self._orm.flush()

    def close(self) -> None:
        if self._orm is not None:
            self._orm.close()
            self._orm = None
