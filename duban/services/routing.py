"""Who handles a case: the avoidance rule (回避) and the offices above a unit."""

from __future__ import annotations

from sqlmodel import Session, select

from duban.errors import AvoidanceViolation
from duban.models import Case, Org, Subject

LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def higher_office(session: Session, org: Org) -> Org | None:
    """The nearest office above `org` at a strictly higher level (the level that takes over)."""
    current = org
    while current.parent_id is not None:
        parent = session.get(Org, current.parent_id)
        assert parent is not None
        if parent.kind == "office" and LEVEL_RANK[parent.level] < LEVEL_RANK[org.level]:
            return parent
        current = parent
    return None


def commission_for(session: Session, office: Org) -> Org | None:
    """The discipline commission of the office's region, or of the nearest region above."""
    current: Org | None = office
    while current is not None:
        found = session.exec(
            select(Org).where(Org.parent_id == current.id, Org.kind == "commission")
        ).first()
        if found is not None:
            return found
        current = session.get(Org, current.parent_id) if current.parent_id else None
    return None


def subject_org_id(session: Session, case: Case) -> int | None:
    if case.subject_id is None:
        return None
    subject = session.get(Subject, case.subject_id)
    return subject.org_id if subject else None


def avoid(session: Session, case: Case, requested: Org) -> tuple[Org, dict | None]:
    """The unit that may take the case: `requested`, or the office above it when it is the subject.

    Returns the unit and, when it moved the case, what the audit event should say.
    """
    subject_id = subject_org_id(session, case)
    if subject_id is None or requested.id != subject_id:
        return requested, None
    target = higher_office(session, requested)
    if target is None:
        raise AvoidanceViolation(case_number=case.number, unit=requested.name)
    return target, {
        "requested_unit": requested.code,
        "assigned_unit": target.code,
        "rule": "avoidance",
    }
