"""Which single case an actor may see, and on which one it may act.

`queries.scope_for` turns the same rule into a list filter; these answer it for one case, so that
a case page, an action and a list never disagree:

- a unit sees and acts on the cases assigned to it, nothing else; a department a government
  passed a case on to (二次交办, `Case.delegate_id`) sees it too and does on it what policy
  [delegation] department_actions lists (its reports, an extension request), which the
  government then does not;
- an office at city or county level sees the cases received in its region or handed to a unit in
  its region, and acts only on those whose office of record (`Case.record_office_id`, else the
  receiving office) lies in its region: a county office does not review a case the province
  received, nor one the city took over from it (提级直办), which it still reads;
- an office handling a case that another office holds acts on it as its handling unit does
  (reports), nothing more;
- the province, and actors without an org (the engine), see and act on everything;
- a referral to a discipline commission (移交纪检监察机关) narrows this: a referred case
  (disposition "refer") is seen only by the commission, by the referring office's (or a higher
  office's) roles in policy [referral] office_roles (supervisors and leaders), and by admins and
  the engine; the commission also sees a case whose unit goes on handling it, and only those
  same people see that case's referral (`may_see_referral`: its row, events and mail);
- a case under review (复查中, 复核中) is the reviewing office's: its unit does not see it until the
  review orders it handled again (duban.services.reviews);
- a citizen (the online channel) sees no case by these doors: it acts only on the case whose
  number and query code it proved, through `reviews.request_review`.

A citizen (role "citizen", the online channel) sees no case through these doors: what a
complainant reads of their own case is `reading.citizen_case`, after their query code proves it.

The office of record is the receiving office or an office above it, so it always sees the case by
the office rule: the list filter (`queries.scope_for`) and `may_see` need no clause of their own.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.config.policy import get_policy
from duban.errors import OrgNotFound
from duban.models import Case
from duban.services.context import Actor
from duban.services.directory import OrgDirectory, OrgInfo, directory_for


def in_region(code: str | None, region: str) -> bool:
    """Whether an org code lies in a region: the region itself or any code below it."""
    return code is not None and (code == region or code.startswith(region + "-"))


def region_orgs(orgs: OrgDirectory, region: str) -> list[OrgInfo]:
    """The orgs of a region (`in_region`), from the directory in memory."""
    return [o for o in orgs.all() if in_region(o.code, region)]


def _orgs(session: Session) -> OrgDirectory:
    bind = session.get_bind()
    return directory_for(bind if isinstance(bind, Engine) else bind.engine)


def region_of(session: Session, actor: Actor) -> str | None:
    """The org code prefix that bounds what an office actor sees; None for no bound."""
    if actor.org_id is None:
        return None
    try:
        org = _orgs(session).by_id(actor.org_id)
    except OrgNotFound:
        return None
    return None if org.level == "province" else org.code


def _code(session: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return _orgs(session).by_id(org_id).code


def may_take(actor: Actor, action: str, case: Case) -> bool:
    """A unit acts on the case it handles; a commission (role unit) only on its referrals' steps;
    on a delegated case the department takes the department's actions, the government the rest."""
    from duban.states.definition import REFERRAL_ACTIONS

    if actor.role != "unit":
        return True
    if action in REFERRAL_ACTIONS:
        return actor.org_id is not None and case.referred_to_id == actor.org_id
    if actor.org_id is None:
        return False
    if case.delegate_id is not None and action in get_policy().delegation.department_actions:
        return case.delegate_id == actor.org_id
    return case.unit_id == actor.org_id


def office_sees_referrals(session: Session, actor: Actor, referring_office_id: int | None) -> bool:
    """Whether an office's actor (not a unit) may see a referral made by that office."""
    if actor.role in ("admin", "engine"):
        return True
    if actor.role not in get_policy().referral.office_roles:
        return False
    region = region_of(session, actor)
    return region is None or in_region(_code(session, referring_office_id), region)


def may_see_referral(session: Session, actor: Actor, case: Case) -> bool:
    """Whether `actor` may see the case's referral (its row, its steps in the timeline)."""
    if case.referred_to_id is None:
        return False
    if actor.role == "unit":
        return actor.org_id is not None and case.referred_to_id == actor.org_id
    return office_sees_referrals(session, actor, case.referred_from_id) and may_see(session, actor, case)


UNDER_REVIEW = ("reexamination", "recheck")  # states.definition.REVIEW_STATES


def _unit_sees(actor: Actor, case: Case) -> bool:
    return actor.org_id is not None and (
        (actor.org_id in (case.unit_id, case.delegate_id) and case.state not in UNDER_REVIEW)
        or case.referred_to_id == actor.org_id)


CITIZEN = "citizen"


def registers_as(actor: Actor, office_id: int) -> Actor:
    """Whose scope a registration's repeat link is looked for in: a citizen's complaint is linked
    as one the receiving office registered (a citizen itself sees no case)."""
    if actor.role == CITIZEN:
        return Actor(name=actor.name, role="clerk", org_id=office_id)
    return actor


def may_see(session: Session, actor: Actor, case: Case) -> bool:
    if actor.role == CITIZEN:
        return False
    if actor.role == "unit":
        return _unit_sees(actor, case)
    if actor.role == "citizen":
        return False
    if case.disposition == "refer" and not office_sees_referrals(session, actor, case.referred_from_id):
        return False
    region = region_of(session, actor)
    if region is None:
        return True
    return in_region(_code(session, case.office_id), region) or in_region(
        _code(session, case.unit_id), region)


def acts_as(session: Session, actor: Actor, case: Case) -> str | None:
    """How `actor` may act on `case`: "office" (its office holds the case), "unit" (it handles the
    case: a unit, or an office handling a case another office holds), or None (at most it reads)."""
    if actor.role == "unit":
        return "unit" if may_see(session, actor, case) else None
    if actor.role == "citizen":
        return "citizen"  # on the case its caller proved it may ask about (reviews.request_review)
    if case.disposition == "refer" and not office_sees_referrals(session, actor, case.referred_from_id):
        return None
    region = region_of(session, actor)
    if region is None or in_region(_code(session, case.record_office_id or case.office_id), region):
        return "office"
    if case.unit_id is not None and case.unit_id == actor.org_id:
        return "unit"
    return None


def may_act(session: Session, actor: Actor, case: Case) -> bool:
    return acts_as(session, actor, case) is not None


def speaks_for(session: Session, actor: Actor, office_id: int) -> bool:
    """Whether an office actor speaks for `office_id`: it is that office or one above it."""
    if actor.role in ("unit", CITIZEN):
        return False
    region = region_of(session, actor)
    return region is None or in_region(_code(session, office_id), region)


def holds(session: Session, actor: Actor, case: Case) -> bool:
    """Whether the actor's office holds the case: it decides what presses its handler."""
    return acts_as(session, actor, case) == "office"
