"""What one write transaction collects until it commits, and what a session remembers meanwhile.

One typed object per transaction (`UnitOfWork`), reachable as `.work` on Duban's own sessions:
the write transaction (services/writetx.py) and `DubanSession`, the ORM session whose commit
writes what was collected (the listeners in services/persist.py are on this class only). A
plain SQLAlchemy session has none: writing through one is refused (`work_of`), reading through
one just remembers nothing (`memo_of`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from duban.models import Case, Org
    from duban.services.auditkeys import KeyRing
    from duban.services.auditrows import Covered


class NoUnitOfWork(TypeError):
    """A write step was handed a session that is not Duban's: what it collects would be lost."""

    def __init__(self, session: object) -> None:
        super().__init__(f"{type(session).__name__} has no unit of work: write in "
                         "services.writetx.write_tx (or a unitofwork.DubanSession)")


@dataclass(eq=False)
class UnitOfWork:
    # Written at commit (persist.save_tracked): the detached cases loaded for writing, by id()…
    cases: dict[int, Case] = field(default_factory=dict)
    # …and the audit events fixing their changes, in the order they were appended (audit.py).
    events: list[dict[str, Any]] = field(default_factory=list)
    # Rows written since the last event, for the next event to name (auditrows.cover).
    rows: list[tuple[Covered, Mapping[str, Any], int | None]] = field(default_factory=list)
    # Notifications collected for one Core insert (a sweep's chunk), when not None (outbox.py).
    outbox: list[dict[str, Any]] | None = None
    # The key ring the events are sealed under; None: the default one (audit.keys_of).
    keys: KeyRing | None = None
    # The transaction's connection, asked of the session once (driver.py).
    connection: Connection | None = None
    # Read while the session lasts (a sweep asks once per chunk): outbox.government_of…
    governments: dict[int, Org | None] = field(default_factory=dict)
    # …and reading.py's consent of complainants and the complainants themselves.
    consent: dict[int, bool] = field(default_factory=dict)
    people: dict[tuple[int, bool], Any] = field(default_factory=dict)

    def discard(self) -> None:
        """The transaction rolled back: nothing it collected is written."""
        self.cases.clear()
        self.events.clear()
        self.rows.clear()
        self.outbox = None
        self.connection = None


class DubanSession(Session):
    """Duban's ORM session: a `Session` carrying its unit of work, written when it commits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.work = UnitOfWork()


def work_of(session: Any) -> UnitOfWork:
    """The unit of work a write step adds to; NoUnitOfWork for a session that has none."""
    try:
        return session.work  # type: ignore[no-any-return]
    except AttributeError:
        raise NoUnitOfWork(session) from None


def memo_of(session: Any) -> UnitOfWork:
    """Where a read step remembers what it read: the session's unit of work, or (a plain session)
    a fresh one, forgotten at once."""
    work = getattr(session, "work", None)
    return work if work is not None else UnitOfWork()
