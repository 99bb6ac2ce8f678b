"""Who handles a case: the avoidance rule (回避) and the offices above a unit."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from duban.errors import AvoidanceViolation
from duban.models import Case, Subject
from duban.services.directory import OrgDirectory, OrgInfo

LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def higher_office(orgs: OrgDirectory, org: OrgInfo) -> OrgInfo | None:
    """The nearest office above `org` at a strictly higher level (the level that takes over)."""
    current = orgs.parent(org)
    while current is not None:
        if current.kind == "office" and LEVEL_RANK[current.level] < LEVEL_RANK[org.level]:
            return current
        current = orgs.parent(current)
    return None


def commission_for(orgs: OrgDirectory, office: OrgInfo) -> OrgInfo | None:
    """The discipline commission of the office's region, or of the nearest region above."""
    current: OrgInfo | None = office
    while current is not None:
        for child in orgs.children(current):
            if child.kind == "commission":
                return child
        current = orgs.parent(current)
    return None


_SUBJECTS = Subject.__table__  # type: ignore[attr-defined]
_SUBJECT_ORG = select(_SUBJECTS.c.org_id).where(_SUBJECTS.c.id == bindparam("subject_id"))


def subject_org_id(session: Session, case: Case) -> int | None:
    if case.subject_id is None:
        return None
    return session.connection().execute(_SUBJECT_ORG, {"subject_id": case.subject_id}).scalar()


def avoid(
    session: Session, orgs: OrgDirectory, case: Case, requested: OrgInfo
) -> tuple[OrgInfo, dict | None]:
    """The unit that may take the case: `requested`, or the office above it when it is the subject.

    Returns the unit and, when it moved the case, what the audit event should say.
    """
    subject_id = subject_org_id(session, case)
    if subject_id is None or requested.id != subject_id:
        return requested, None
    target = higher_office(orgs, requested)
    if target is None:
        raise AvoidanceViolation(case_number=case.number, unit=requested.name)
    return target, {
        "requested_unit": requested.code,
        "assigned_unit": target.code,
        "rule": "avoidance",
    }
