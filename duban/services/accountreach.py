"""Whose accounts an administrator on the pages may change, and what no one may do to accounts.

Who sees complainants and acts on cases follows from a user's role and org, so handing out
accounts is bounded as reading cases is (services/scope.py): an administrator's reach is their
office's region. A city's administrator manages the accounts of the city's offices and units
and of its counties, never the province's nor another city's; the province's manages every one.
An account outside the reach is not there for them, as a case outside one's scope is not.

On the pages an administrator does not change their own role, org, password or state: another
administrator does (and their own password is changed on 修改密码, with the current one), so a
session left open cannot be used to lock its owner out, and no one demotes themselves by
mistake. And no change, from the pages or the CLI, leaves no active account of a role that
manages accounts (policy `[roles] manage_users`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from duban.errors import InvalidActionInput
from duban.models import User
from duban.services.context import ServiceContext
from duban.services.scope import in_region

ACTION = "manage_users"


@dataclass(frozen=True)
class Reach:
    """An administrator acting on the pages: who they are and which accounts they may change."""

    user_id: int
    region: str | None  # the org code the accounts' orgs lie under; None: every account
    region_name: str  # "兰州市办（GS-LZ）": what a refusal names


def reach_of(ctx: ServiceContext, user: User) -> Reach:
    """The reach of an administrator: the province's is every account, others their region's."""
    org = ctx.orgs.by_id(user.org_id)
    assert user.id is not None
    return Reach(user_id=user.id, region=None if org.level == "province" else org.code,
                 region_name=f"{org.name}（{org.code}）")


def reaches(reach: Reach | None, org_code: str | None) -> bool:
    """Whether an account of that org is within the reach (None: the CLI's operator, no bound)."""
    return reach is None or reach.region is None or in_region(org_code, reach.region)


def holds(ctx: ServiceContext, reach: Reach | None, user: User) -> bool:
    """Whether the account is within the reach (read only when there is a bound)."""
    return reach is None or reach.region is None or reaches(reach, ctx.orgs.by_id(user.org_id).code)


def _bad(field: str, message: str, kind: str, limits: dict[str, str] | None = None) -> InvalidActionInput:
    return InvalidActionInput(action="user", field=field, message=message, kind=kind, limits=limits)


def check_org(reach: Reach | None, org_code: str) -> None:
    """The org an account is given must lie in the administrator's region."""
    if not reaches(reach, org_code):
        assert reach is not None
        raise _bad("org_code", f"{org_code} is outside the region {reach.region} this administrator manages",
                   "org_out_of_reach", {"region": reach.region_name})


def check_not_self(reach: Reach | None, user: User, *, field: str, kind: str) -> None:
    """An administrator's own role, org, password or state is changed by someone else."""
    if reach is not None and user.id == reach.user_id:
        raise _bad(field, "not on one's own account: another administrator does this", kind)


def keep_an_administrator(ctx: ServiceContext, session: Session, *, role_before: str, field: str) -> None:
    """Refuse (in the changing transaction, after its account event took the record's lock) a
    change that took away the last active account of a role that manages accounts. Called for
    an account that was active; `role_before`: its role before the change (a database with no
    administrator yet may still be changed)."""
    roles = ctx.policy.roles.get(ACTION, [])
    if role_before not in roles:
        return
    left = session.exec(select(func.count()).select_from(User)
                        .where(col(User.active).is_(True), col(User.role).in_(roles))).one()
    if not left:
        raise _bad(field, "no active administrator would be left", "last_admin")
