"""Who handles a case: the avoidance rule (回避), the offices above a unit, dispatch targets."""

from __future__ import annotations

from sqlalchemy import bindparam, select, union_all
from sqlmodel import Session

from duban.config.policy import Labels, Policy
from duban.errors import AvoidanceViolation, InvalidActionInput
from duban.models import Case, RepeatContact, Subject
from duban.services.context import Actor
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.driver import Prepared
from duban.services.scope import in_region
from duban.services.subjects import avoided_orgs

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
_REPEATS = RepeatContact.__table__  # type: ignore[attr-defined]
_SUBJECT_ORG = Prepared(select(_SUBJECTS.c.org_id).where(_SUBJECTS.c.id == bindparam("subject_id")))
# The subjects of a case and of every repeat complaint linked to it, in one query. UNION ALL, not
# `id = … OR id IN (…)`: PostgreSQL answers an OR with a subquery by scanning every subject.
_CASE_SUBJECTS = Prepared(union_all(
    select(_SUBJECTS.c.name, _SUBJECTS.c.org_id).where(_SUBJECTS.c.id == bindparam("subject_id")),
    select(_SUBJECTS.c.name, _SUBJECTS.c.org_id)
    .join(_REPEATS, _REPEATS.c.subject_id == _SUBJECTS.c.id)
    .where(_REPEATS.c.case_id == bindparam("case_id"))))


def subject_org_id(session: Session, case: Case) -> int | None:
    if case.subject_id is None:
        return None
    return _SUBJECT_ORG.scalar(session, {"subject_id": case.subject_id})  # type: ignore[no-any-return]


def avoided_for(session: Session, orgs: OrgDirectory, policy: Policy, case: Case) -> set[int]:
    """Every org the case must be kept from: whom it, or any complaint linked to it, is about, and
    when that is a government, its own departments (policy [delegation] avoided_with_government)."""
    rows = _CASE_SUBJECTS.rows(session, {"subject_id": case.subject_id, "case_id": case.id})
    return with_departments(orgs, policy, avoided_orgs(orgs, [(row["name"], row["org_id"]) for row in rows],
                                               near=orgs.by_id(case.office_id)))


def with_departments(orgs: OrgDirectory, policy: Policy, subjects: set[int]) -> set[int]:
    """`subjects` and, for each government among them, its own departments: they answer to the
    government complained about (policy [delegation] avoided_with_government)."""
    if not policy.delegation.avoided_with_government:
        return subjects
    return subjects.union(*({o.id for o in own_departments(orgs, policy, orgs.by_id(org_id))}
                            for org_id in subjects))


def own_departments(orgs: OrgDirectory, policy: Policy, org: OrgInfo) -> list[OrgInfo]:
    """A government's own departments (an org of a kind that may pass a case on, policy
    [delegation]): the orgs of a target kind under its own office (its region, at its level)."""
    if org.kind not in policy.delegation.allowed_from_kinds:
        return []
    office = orgs.parent(org)
    if office is None:
        return []
    kinds = policy.delegation.target_kinds
    return sorted((o for o in orgs.children(office) if o.kind in kinds and o.id != org.id),
                  key=lambda o: o.code)


def avoid(
    session: Session, orgs: OrgDirectory, policy: Policy, case: Case, requested: OrgInfo
) -> tuple[OrgInfo, dict | None]:
    """The unit that may take the case: `requested`, or the office above it when it is the subject.

    The subject is every org the case's complaints are about, by code or by name (see
    `avoided_for`); the move goes up until it reaches an office none of them names. Returns the
    unit and, when it moved the case, what the audit event should say.
    """
    avoided = avoided_for(session, orgs, policy, case)
    if requested.id not in avoided:
        return requested, None
    target = higher_office(orgs, requested)
    while target is not None and target.id in avoided:
        target = higher_office(orgs, target)
    if target is None:
        raise AvoidanceViolation(case_number=case.number, unit=requested.name)
    return target, {
        "requested_unit": requested.code,
        "assigned_unit": target.code,
        "rule": "avoidance",
    }


def dispatching_office(orgs: OrgDirectory, case: Case, actor: Actor) -> OrgInfo:
    """The office on whose behalf the actor dispatches: its own, else the office of record."""
    org = orgs.by_id(actor.org_id) if actor.org_id is not None else None
    while org is not None and org.kind != "office":
        org = orgs.parent(org)
    return org or office_of_record(orgs, case)


def office_of_record(orgs: OrgDirectory, case: Case) -> OrgInfo:
    """The office that holds the case (reviews, approves, calls back, presses): the receiving
    office, or the office above that took it over (models.case.Case)."""
    return orgs.by_id(case.record_office_id or case.office_id)


def take_over(orgs: OrgDirectory, case: Case, unit: OrgInfo) -> OrgInfo | None:
    """Make `unit` the case's office of record when it is an office above the present one.

    A case handed to an office above its office of record (提级直办, or avoidance moving it up)
    is that office's from then on: an office below cannot review the handling of an office above.
    Handed to a unit, or to an office that is not above (a province case escalated to the city
    above its county unit), the office of record stays. Returns the new office of record, if any.
    """
    record = office_of_record(orgs, case)
    if unit.kind != "office" or unit.id == record.id or not in_region(record.code, unit.code):
        return None
    case.record_office_id = None if unit.id == case.office_id else unit.id
    return unit


def supervising_office(orgs: OrgDirectory, case: Case) -> OrgInfo:
    """The office that presses the case's handler and signs what is sent about it: the office of
    record; when that office handles the case itself (直办), the office above it, since no office
    interviews or reminds itself (at the top, the province office itself)."""
    record = office_of_record(orgs, case)
    if case.unit_id != record.id:
        return record
    return higher_office(orgs, record) or record


def escalation_offices(orgs: OrgDirectory, case: Case) -> list[OrgInfo]:
    """The offices that may take a case over (提级直办): those above whoever holds it, nearest
    first; at the top, the office of record itself."""
    offices: list[OrgInfo] = []
    current = higher_office(orgs, orgs.by_id(case.unit_id or case.office_id))
    while current is not None:
        offices.append(current)
        current = higher_office(orgs, current)
    return offices or [office_of_record(orgs, case)]


def check_target(orgs: OrgDirectory, policy: Policy, labels: Labels, *, case: Case, actor: Actor,
                 action: str, unit: OrgInfo) -> None:
    """Refuse a handling unit the dispatcher may not choose (policy [dispatch]).

    transfer, supervise, key_supervise and reassign go to a unit (never an office) within the
    dispatching office's region (the province: anywhere, as policy says); refer to a discipline
    commission of the region or above it; escalate to an office above whoever holds the case.
    The refusal names the field and what is allowed, never the value given.
    """
    if action == "escalate":
        if unit not in escalation_offices(orgs, case):
            raise InvalidActionInput(
                action=action, field="unit", kind="escalate_target",
                message="must be an office above the one handling the case (提级直办), or left empty "
                        "for the rule to choose")
        return
    office = dispatching_office(orgs, case, actor)
    bounded = not (office.level == "province" and policy.dispatch.province_anywhere)
    region_zh = (office.region_name or office.name) if bounded else labels.text.get("everywhere", "全省")
    if action == "refer":
        kinds = policy.dispatch.refer_kinds
        # The region's commissions, and those of the regions above (a complaint about a commission
        # goes to the one above it: services/referrals.py).
        above = orgs.parent(unit)
        where_ok = (not bounded or in_region(unit.code, office.code)
                    or (above is not None and in_region(office.code, above.code)))
    else:
        kinds = policy.dispatch.unit_kinds
        where_ok = not bounded or in_region(unit.code, office.code)
    if unit.kind in kinds and where_ok:
        return
    names = "、".join(labels.of("kinds", k) for k in kinds)
    where = "within the dispatching office's region" if bounded else "anywhere"
    if action == "refer":
        kind, message = "refer_target", (f"must be an org of kind {', '.join(kinds)} {where} or above it")
    else:
        kind, message = "dispatch_target", (f"must be a handling unit of kind {', '.join(kinds)} {where}; "
                                            "offices and units of other regions are not dispatch targets")
    raise InvalidActionInput(
        action=action, field="unit", kind=kind, message=message,
        limits={"kinds": names, "region": region_zh})
