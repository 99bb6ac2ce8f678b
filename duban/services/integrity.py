"""Checking the audit trail: every case's chain complete and unaltered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from duban.models import AuditEvent, Case
from duban.services.audit import first_broken
from duban.services.context import ServiceContext

CHUNK = 2000


@dataclass(frozen=True)
class Broken:
    case_number: str
    problem: str


def _cases(session: Session) -> Iterator[list[Case]]:
    last = 0
    while True:
        batch = list(session.exec(select(Case).where(col(Case.id) > last).order_by(col(Case.id))
                                  .limit(CHUNK)))
        if not batch:
            return
        yield batch
        last = batch[-1].id  # type: ignore[assignment]


def verify_audit(ctx: ServiceContext, *, stop_at_first: bool = True) -> tuple[int, int, list[Broken]]:
    """(cases checked, events checked, broken chains), case by case in id order."""
    broken: list[Broken] = []
    cases = events_seen = 0
    with Session(ctx.engine) as session:
        for batch in _cases(session):
            ids = [c.id for c in batch]
            events: dict[int, list[AuditEvent]] = {i: [] for i in ids}  # type: ignore[misc]
            for ev in session.exec(select(AuditEvent).where(col(AuditEvent.case_id).in_(ids))
                                   .order_by(col(AuditEvent.case_id), col(AuditEvent.seq))):
                events[ev.case_id].append(ev)
            for case in batch:
                cases += 1
                events_seen += len(events[case.id])  # type: ignore[index]
                problem = first_broken(case, events[case.id])  # type: ignore[index]
                if problem:
                    broken.append(Broken(case.number, problem))
                    if stop_at_first:
                        return cases, events_seen, broken
    return cases, events_seen, broken
