"""Writing notifications to the outbox, in the caller's transaction, with confidentiality applied.

The outbox is the service layer's: an action's mail is written in its transaction, a report's
in one of its own (`queue`), failed mail is put back by `queue_again`; duban.notify renders
templates and delivers, and writes nothing else.

A notification is rendered when it is written: the action that decides to send it also decides
what it says, composed from what its recipient may read (duban.services.reading, with the
recipient as the actor: the redacted texts unless the rule of duban.services.privacy says yes).
A unit's mail never names the complainant (nor carries their phone) unless the complainant
agreed; a government leader's never does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from duban.clock import local_date
from duban.models import Case, Notification, Org
from duban.services.context import Actor, ServiceContext
from duban.services.persist import insert_row
from duban.services.reading import preload_consent, texts_in_hand
from duban.services.routing import supervising_office
from duban.services.unitofwork import memo_of, work_of
from duban.services.writetx import write_tx

# Whose eyes each audience is, for the confidentiality rule: a unit's head is the unit; a
# government leader is outside the office; the office's own staff may see the complainant.
AUDIENCE_ROLE = {"unit": "unit", "unit_head": "unit", "government": "leader", "office": "dispatcher"}


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@duban.local>"


def address_of(org: Org | None, audience: str) -> str:
    """Where an audience is reached: a head's own address when the org has one, else its mailbox."""
    if org is None:
        return ""
    if audience in ("unit_head", "government"):
        return org.head_email or org.email
    return org.email


def region_office(session: Session, org: Org) -> Org | None:
    """The office of the region an org belongs to (the org itself when it is an office)."""
    current: Org | None = org
    while current is not None and current.kind != "office":
        current = session.get(Org, current.parent_id) if current.parent_id else None
    return current


def government_of(session: Session, org: Org) -> Org | None:
    """The same-level government (人民政府) of an org's region, for 抄告."""
    office = region_office(session, org)
    if office is None:
        return None
    cache = memo_of(session).governments
    assert office.id is not None
    if office.id not in cache:
        cache[office.id] = session.exec(
            select(Org).where(Org.parent_id == office.id, Org.kind == "government")).first()
    return cache[office.id]


def recipient(audience: str, to: Org | None) -> Actor:
    """Whose eyes a notification is for, as an actor of the read door: a unit's mail is composed
    from what that unit may see. Without an org it is nobody's (no identity): never "everyone"."""
    return Actor(name=to.name if to else "", role=AUDIENCE_ROLE[audience],
                 org_id=to.id if to is not None and to.id is not None else -1)


def preload_secrets(session: Session, case_ids: list[int]) -> None:
    """Ask the complainants' consent of many cases at once (sweeps act in chunks)."""
    preload_consent(session, case_ids)


def case_context(ctx: ServiceContext, case: Case, *, today: dt.date,
                 overdue_workdays: int = 0) -> dict[str, Any]:
    """What a case's notification templates may say (config/notifications.toml lists it). The
    orgs come from the directory held in memory: a notice or ladder mail reads no org row."""
    labels = ctx.labels
    unit = ctx.orgs.by_id(case.unit_id) if case.unit_id else None
    # The office a case's mail speaks for: the one that supervises its handler (the office of
    # record; the one above it when that office handles the case itself), not the receiving one.
    office = supervising_office(ctx.orgs, case)
    return {
        "case": {
            # title and summary: filled by `enqueue` with what the recipient may read.
            "number": case.number, "title": "", "summary": "",
            "priority": labels.of("priorities", case.priority),
            "disposition": labels.of("dispositions", case.disposition),
            "state": labels.of("states", case.state),
            "deadline_on": case.deadline_on.isoformat() if case.deadline_on else "",
            "deadline_kind": labels.of("deadline_kinds", case.deadline_kind),
            "received_on": local_date(case.received_at).isoformat(),
        },
        "unit": {"name": unit.name if unit else "", "code": unit.code if unit else ""},
        "office": {"name": office.name, "code": office.code},
        "today": today.isoformat(),
        "overdue_workdays": overdue_workdays,
        "progress_due_on": case.progress_due_on.isoformat() if case.progress_due_on else "",
        "sign_due_on": case.sign_due_on.isoformat() if case.sign_due_on else "",
        "note": "",
    }


def enqueue(
    session: Session,
    ctx: ServiceContext,
    *,
    kind: str,
    audience: str,
    to: Org | None,
    context: dict[str, Any],
    now: dt.datetime,
    case: Case | None = None,
    dedupe_key: str | None = None,
    address: str | None = None,
) -> None:
    """Render and write one notification in the caller's transaction.

    `address`: a person's address the caller looked up (a ladder contact), instead of the one
    `address_of` gives for the org and audience.

    A recipient without an address is written as `failed` with the reason, so that it shows in
    `duban notify list --failed` instead of vanishing.
    """
    context = dict(context, recipient={"name": to.name if to else ""})
    # Free texts of the action (a dispatcher's note) come with their redacted twins under
    # "redacted"; the recipient gets those unless it may see the case's complainants.
    twins = context.pop("redacted", {})
    if case is not None:
        seen = texts_in_hand(session, ctx, case, actor=recipient(audience, to))
        context["complainant"] = seen["complainant"]
        if isinstance(context.get("case"), dict):
            context["case"] = {**context["case"], "title": seen["title"], "summary": seen["summary"]}
        if not seen["seen"]:
            context.update(twins)
    else:
        context.update(twins)
    subject, body = ctx.templates.render(kind, context)
    address = address_of(to, audience) if address is None else address
    row = message_row(kind=kind, audience=audience, to_address=address, subject=subject, body=body,
                      now=now, case_id=case.id if case else None, org_id=to.id if to else None,
                      dedupe_key=dedupe_key)
    if not address:
        row["status"] = "failed"
        who = to.code if to else f"({audience} of the case's unit)"
        row["last_error"] = f"no email address on file for {who}"
    add_row(session, row)


def message_row(*, kind: str, audience: str, to_address: str, subject: str, body: str,
                now: dt.datetime, case_id: int | None = None, org_id: int | None = None,
                dedupe_key: str | None = None) -> dict[str, Any]:
    """A rendered e-mail as its outbox row: pending, due now, with a Message-ID of its own."""
    return dict(
        case_id=case_id, kind=kind, audience=audience, channel="email", params="",
        org_id=org_id, to_address=to_address, subject=subject, body=body,
        message_id=new_message_id(), dedupe_key=dedupe_key, status="pending", attempts=0,
        next_attempt_at=now, claimed_at=None, claim_token=None, sent_at=None, last_error="",
        created_at=now)


def queue(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Write notifications no action sends (the monthly report) in a transaction of their own:
    all of them, or none (IntegrityError when a dedupe key is taken: a racing run queued them)."""
    with write_tx(engine) as tx:
        for row in rows:
            add_row(tx, row)


def queue_again(engine: Engine, ids: list[int], *, now: dt.datetime) -> int:
    """Put failed notifications back in the queue (after an address was fixed, say): how many."""
    with write_tx(engine) as tx:
        done = tx.connection().execute(update(Notification).where(
            col(Notification.id).in_(ids), col(Notification.status) == "failed").values(
            status="pending", attempts=0, next_attempt_at=now, last_error=""))
        return int(done.rowcount)


def add_row(session: Session, row: dict[str, Any]) -> None:
    """Write one rendered notification: into the sweep's batch when one is collecting (`collect`),
    else at once by a prepared insert (an action's notice needs no ORM Session and its flush)."""
    batch = work_of(session).outbox
    if batch is not None:
        batch.append(row)
    else:
        insert_row(session, Notification, **row)


def collect(session: Session) -> None:
    """Collect this transaction's notifications as rows for one Core insert (`write_batch`), for
    a sweep acting on thousands of cases; otherwise each is an ORM object."""
    work_of(session).outbox = []


def write_batch(session: Session) -> int:
    """Insert the notifications collected since `collect` (one statement) and stop collecting."""
    work = work_of(session)
    rows, work.outbox = work.outbox or [], None
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)
