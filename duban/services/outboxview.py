"""Reading the outbox for people: which messages went out, which wait, and which failed for good.

Only the office's staff read it (a mail to an office may name the complainant, and a unit has no
business reading another unit's mail): a unit or a leader is refused. An office sees the mail
of the cases in its region (received there or handled by a unit there), and mail not tied to a
case (the monthly reminders) addressed to an org in its region; the province sees all of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from duban.errors import PermissionDenied
from duban.models import Case, Notification, Org
from duban.services.context import Actor, ServiceContext
from duban.services.queries import scope_for

STATUSES = ("pending", "sending", "sent", "failed")
# Roles that work inside the supervising office read its outbox. Subjects name a case by number
# only; bodies, which may name the complainant to an office, are not listed.
OFFICE_ROLES = frozenset({"clerk", "dispatcher", "supervisor", "admin", "engine"})
READERS = sorted(OFFICE_ROLES - {"engine"})


@dataclass(frozen=True)
class MailRow:
    id: int
    case_number: str | None
    kind: str
    audience: str
    recipient: str  # the org's name, or "" when the row names none
    to_address: str
    subject: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _query(session: Session, viewer: Actor, masked: str = ""):  # type: ignore[no-untyped-def]
    if viewer.role not in OFFICE_ROLES:
        raise PermissionDenied(action="notifications", role=viewer.role, allowed_roles=READERS)
    office, unit, recipient = aliased(Org), aliased(Org), aliased(Org)
    query = (select(col(Notification.id), col(Case.number), col(Notification.kind),
                    col(Notification.audience),
                    func.coalesce(col(recipient.name), ""),
                    # A complainant's number or address is identity: the outbox never shows it.
                    case((col(Notification.audience) == "complainant", masked),
                         else_=col(Notification.to_address)),
                    col(Notification.subject), col(Notification.status), col(Notification.attempts),
                    # (a mail server's refusal may quote the address it refused)
                    case((col(Notification.audience) == "complainant",
                          func.replace(col(Notification.last_error), col(Notification.to_address), masked)),
                         else_=col(Notification.last_error)),
                    col(Notification.created_at), col(Notification.sent_at))
             .outerjoin(Case, col(Notification.case_id) == Case.id)
             .outerjoin(office, col(Case.office_id) == office.id)
             .outerjoin(unit, col(Case.unit_id) == unit.id)
             .outerjoin(recipient, col(Notification.org_id) == recipient.id))
    flt = scope_for(session, viewer)
    prefix = flt.office_prefix
    # A referral's mail (remind_notice) and any mail about a referred case: seen as the case is.
    about_referral = or_(func.coalesce(col(Case.disposition), "") == "refer",
                         col(Notification.kind) == "remind_notice")
    if flt.hide_referred:
        query = query.where(or_(col(Notification.case_id).is_(None), not_(about_referral)))
    elif flt.referrals_from is not None:
        query = query.where(or_(col(Notification.case_id).is_(None), not_(about_referral),
                                col(Case.referred_from_id).in_(flt.referrals_from)))
    if prefix:
        def within(org):  # type: ignore[no-untyped-def]
            return or_(org.code == prefix, col(org.code).startswith(prefix + "-"))

        query = query.where(or_(within(office), within(unit),
                                and_(col(Notification.case_id).is_(None), within(recipient))))
    return query


def list_mail(ctx: ServiceContext, viewer: Actor, *, status: str | None = None, limit: int = 50,
              offset: int = 0) -> list[MailRow]:
    """The viewer's outbox rows, newest first; `status="failed"`: what the server refused for good."""
    with Session(ctx.engine) as session:
        query = _query(session, viewer, ctx.labels.text["masked"])
        if status:
            query = query.where(col(Notification.status) == status)
        query = query.order_by(col(Notification.id).desc()).limit(limit).offset(offset)
        return [MailRow(*row) for row in session.execute(query).all()]


def count_mail(ctx: ServiceContext, viewer: Actor, *, status: str) -> int:
    with Session(ctx.engine) as session:
        query = _query(session, viewer).where(col(Notification.status) == status)
        return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


# The outbox as its operator sees it (`duban notify list`): every message, no scope (the CLI is
# the operator's), newest first; a complainant's number or address is never shown.
@dataclass(frozen=True)
class QueuedMail:
    id: int
    status: str
    attempts: int
    to: str  # the address, or the label for "masked" when it is a complainant's
    subject: str
    created_at: dt.datetime
    last_error: str


def queued_mail(ctx: ServiceContext, *, failed: bool = False, pending: bool = False,
                limit: int = 50) -> list[QueuedMail]:
    """The newest `limit` messages; only those that failed for good, or only those not sent yet."""
    query = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if failed:
        query = query.where(col(Notification.status) == "failed")
    elif pending:
        query = query.where(col(Notification.status).in_(("pending", "sending")))
    masked = ctx.labels.text["masked"]
    with Session(ctx.engine) as session:
        return [QueuedMail(id=n.id or 0, status=n.status, attempts=n.attempts,
                           to=masked if n.audience == "complainant" else n.to_address or "—",
                           subject=n.subject, created_at=n.created_at, last_error=n.last_error)
                for n in session.scalars(query)]
