"""The schema at the migrations' head: how every database, SQLite or PostgreSQL, is set up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from duban.errors import SchemaNotCurrent
from duban.migrations import alembic_config, head_revision
from duban.models import search
from duban.models.case import SCOPE_INDEX, UNIT_RECEIVED_INDEX, WORK_ORDER_INDEX

# Tables others own in our database (APScheduler's job store) are not part of our schema.
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Alembic's filter: compare and migrate only Duban's own tables."""
    # The search index (models/search.py) is made by hand: an FTS5 table and its shadow tables on
    # SQLite, a table with trigram indexes on PostgreSQL; it is not in the models' metadata.
    # The work-order index is on expressions, the scope's and the units' receipt index PostgreSQL's
    # alone, all made beside the models (models/case.py).
    if type_ == "index" and name in (WORK_ORDER_INDEX, SCOPE_INDEX, UNIT_RECEIVED_INDEX):
        return False
    return not (type_ == "table" and (name in FOREIGN_TABLES or name.startswith("case_search")))


def require_current(engine: Engine) -> None:
    """Refuse a database not at the migrations' head, rather than migrate it as a side effect.

    Migrating is an explicit step (`duban db upgrade`, `duban serve` and `duban demo` on start): a
    command that only reads or acts must not change a production schema under its operator.
    """
    current = current_revision(engine)
    if current != head_revision():
        raise SchemaNotCurrent(current=current, head=head_revision())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# Upgrading a database from before this revision recomputes every redacted twin: 0003 made the
# twins (a database from before has them empty), and 0045 marks the last change of the redaction
# rules (twins written before may show what the rules now mask). An empty database has no rows.
REDACT_BEFORE = "0045"


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """The migration's transaction, one process at a time: every process that starts (the web
    workers, the sweep, the CLI) upgrades first, and a crash harness starts them all at once.

    SQLite: the writers' turn (db.writer_lock), then BEGIN IMMEDIATE, so the revision is read under
    the write lock (a deferred transaction that read first cannot take it when another process
    writes: "database is locked"). PostgreSQL: a transaction-scoped advisory lock.
    """
    from duban.db import serial_writer, writer_lock

    if engine.dialect.name == "sqlite":
        with writer_lock(engine), serial_writer(engine).begin() as conn:
            yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        yield conn


_MIGRATION_LOCK = 0x6475_6261_6E00  # "duban": any constant the project's other locks do not use


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction per run.

    Upgrading to the head from before REDACT_BEFORE also recomputes the redacted twins (duban
    privacy redact, in chunks after the migration's transaction), so no twin is left empty where
    its raw text is not, nor showing what the current rules mask. A run stopped half-way is
    finished by `duban privacy redact`.
    """
    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and "cases" in inspect(conn).get_table_names():
            # A database made by create_all before migrations existed: it is at head already.
            command.stamp(cfg, "head")
            return
        command.upgrade(cfg, revision)
    # Revisions are numbered with four digits, so they order as strings.
    if before is not None and before < REDACT_BEFORE and current_revision(engine) == head_revision():
        from duban.services.reredact import redact_all

        redact_all(engine)


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


def reorder_search(engine: Engine) -> tuple[float, float] | None:
    """The search index's rows laid in their cases' order again (models/search.py `reorder`), and
    how closely they lay in it before and after (1: in order); None where they always do (SQLite).
    Refused, SchemaNotCurrent, on a database not at the newest migration."""
    require_current(engine)
    if engine.dialect.name == "sqlite":
        return None
    with engine.begin() as conn:
        before = search.key_order(conn)
        search.reorder(conn)
        return before, search.key_order(conn)
