"""Bulk actions: 催办, 改派, 分派回访 and 导出 on the cases an office ticked in a list.

Each case is still its own action: its own transaction, its own checks (role, scope, state,
guards, through `CaseService`) and its own audit event, so one refusal stops nothing else and the
answer is a list, one outcome per case number: ok, skipped (done already: nothing written),
refused (with the named error) or not_found. A case outside the actor's scope is not_found
exactly like a number nobody has: a bulk request never tells which cases exist. What is wrong
with the request as a whole (an unknown action, a bad form, too many cases) refuses it before
any case is touched. API, pages and CLI all come here (policy [bulk]).

A retried request does nothing twice: a case urged (催办, by anyone, the engine too) within policy
[bulk] remind_once_per_days is skipped, as is a case already with the unit it is reassigned to
(a second 改派 would restart its handling limit) and a callback already given to that officer.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from duban.cells import xlsx_row
from duban.clock import SHANGHAI, local_date
from duban.errors import AvoidanceViolation, CaseNotFound, DubanError, InvalidActionInput, OrgNotFound
from duban.grams import typed_code
from duban.models import AuditEvent, Case, User
from duban.reports.export import ledger_workbook, rows_as
from duban.services.callbacks import assign_in
from duban.services.cases import CaseService
from duban.services.context import Actor, ServiceContext
from duban.services.driver import Prepared
from duban.services.forms import parse_form
from duban.services.queries import CaseRow, orgs_of, row_of
from duban.services.reading import load_case
from duban.services.routing import avoid
from duban.services.scope import may_see

# Machine actions through CaseService, then what is not one (the callback queue), then a read.
CASE_ACTIONS = ("remind", "reassign")
ACTIONS = (*CASE_ACTIONS, "assign_callback", "export")
STATUSES = ("ok", "skipped", "refused", "not_found")
NUMBER_LENGTH = 40  # the longest case number (cases.number)

_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_URGED_SINCE = Prepared(select(_EVENTS.c.id).where(
    _EVENTS.c.case_id == bindparam("case_id"), _EVENTS.c.action == "remind",
    _EVENTS.c.at >= bindparam("since")).limit(1))


@dataclass(frozen=True)
class Outcome:
    """What became of one case number of the request."""

    number: str
    status: str  # one of STATUSES
    error: DubanError | None = None  # refused, not_found: why (a named error, both languages)
    skipped: str = ""  # skipped: why nothing was done, a key of labels [errors]
    note: str = ""  # ok, but not as asked: a key of labels [text] (avoidance: 改派 went a level up)
    state: str | None = None  # where the case stands after it (ok, skipped)


@dataclass(frozen=True)
class BulkResult:
    action: str
    outcomes: list[Outcome]
    remind_days: int = 1  # policy [bulk] remind_once_per_days, for the message of a skipped 催办

    def counts(self) -> dict[str, int]:
        return {status: sum(o.status == status for o in self.outcomes) for status in STATUSES}


def check_request(ctx: ServiceContext, action: str, numbers: Iterable[str]) -> list[str]:
    """The case numbers of a request as `typed_number` reads them, blanks and repeats dropped (in
    the order given); refuses an action that is not done in bulk, an empty request and one over
    policy [bulk] max_cases."""
    if action not in ACTIONS:
        allowed = "、".join(ctx.labels.of("actions", a) for a in ACTIONS)
        raise InvalidActionInput(action="bulk", field="action", kind="unknown_bulk_action",
                                 message=f"is not done in bulk; bulk actions: {', '.join(ACTIONS)}",
                                 limits={"allowed": allowed})
    wanted = list(dict.fromkeys(number for number in map(typed_number, numbers) if number))
    if not wanted:
        raise InvalidActionInput(action=action, field="numbers", kind="no_cases",
                                 message="name at least one case")
    most = ctx.policy.bulk.max_cases
    if len(wanted) > most:
        raise InvalidActionInput(action=action, field="numbers", kind="too_many_cases",
                                 message=f"at most {most} cases in one request", limits={"le": most})
    return wanted


def typed_number(text: str | None) -> str:
    """A case number as typed or pasted: full-width forms folded (ＧＳ－ＬＺ－２０２３ is
    GS-LZ-2023), blanks around it dropped, in upper case as numbers are given. Longer than any
    number, it is cut and marked "…" (no number has one): not found, and said back in a line."""
    typed = (text or "").strip()
    folded = typed_code(typed[:NUMBER_LENGTH + 1])
    if len(typed) > NUMBER_LENGTH or len(folded) > NUMBER_LENGTH:
        return folded[:NUMBER_LENGTH] + "…"
    return folded


def run(ctx: ServiceContext, action: str, numbers: Iterable[str], *, actor: Actor,
        form: dict[str, Any] | None = None) -> BulkResult:
    """Perform `action` with the same `form` on each case, one transaction each (not export)."""
    wanted = check_request(ctx, action, numbers)
    if action == "export":
        raise InvalidActionInput(action=action, field="action", message="is a download: use export()")
    form = dict(form or {})
    service = CaseService(ctx)
    if action == "assign_callback":
        name, office = _officer(ctx, form)
        return BulkResult(action, [_one(ctx, service, n, actor, lambda s, c, now: _assign(
            s, ctx, c, actor=actor, name=name, office=office, now=now)) for n in wanted],
            ctx.policy.bulk.remind_once_per_days)
    parse_form(action, form)  # a bad form refuses the request, before any case
    target = _target_unit(ctx, action, form)
    return BulkResult(action, [_one(ctx, service, n, actor, lambda s, c, now: _act(
        s, service, c, action, actor=actor, form=form, target=target, now=now), target=target)
        for n in wanted], ctx.policy.bulk.remind_once_per_days)


def export(ctx: ServiceContext, numbers: Iterable[str], *, actor: Actor) -> tuple[BulkResult, bytes]:
    """The cases as an XLSX workbook, read as `actor` may take them away (duban.reports.export:
    complainant columns only for identity roles), and a sheet of each number's outcome."""
    wanted = check_request(ctx, "export", numbers)
    outcomes: list[Outcome] = []
    found: list[CaseRow] = []
    today = ctx.today()
    with Session(ctx.engine) as session:
        for number in wanted:
            try:
                case, _ = load_case(session, ctx, number, actor=actor)  # its title as actor reads it
            except CaseNotFound as exc:
                outcomes.append(Outcome(number, "not_found", error=exc))
                continue
            office, unit = orgs_of(ctx, case)
            found.append(row_of(ctx, case, office.name, office.code, unit.name if unit else None,
                                unit.code if unit else None, today))
            outcomes.append(Outcome(number, "ok", state=case.state))
    headers, rows = rows_as(ctx, found, actor=actor)
    result = BulkResult("export", outcomes)
    wb = ledger_workbook(ctx, headers, rows)
    text, g = ctx.labels.text, ctx.labels.ledger
    sheet = wb.create_sheet(text.get("bulk_sheet", "bulk"))
    sheet.append(xlsx_row(sheet, [g.get("number", "number"), text.get("bulk_title", "outcome")]))
    for o in outcomes:  # a number nobody has is the caller's text: xlsx_row keeps it plain text
        sheet.append(xlsx_row(sheet, [o.number, text.get(f"bulk_{o.status}", o.status)]))
    out = io.BytesIO()
    wb.save(out)
    return result, out.getvalue()


def _one(ctx: ServiceContext, service: CaseService, number: str, actor: Actor, do: Any, *,
         target: int | None = None) -> Outcome:
    """One case in its own transaction: loaded for writing, scope first (out of scope is not
    found, like a number nobody has), then `do` (None: done already, nothing written). A case
    改派 to `target` that avoidance (回避) gave the office above says so."""
    try:
        with service.transaction() as session:
            case = service.load_in(session, number, for_write=True)
            if not may_see(session, actor, case):
                raise CaseNotFound(number)
            skipped = do(session, case, ctx.now())
            note = "avoidance" if target is not None and not skipped and case.unit_id != target else ""
            return Outcome(number, "skipped" if skipped else "ok", skipped=skipped or "", note=note,
                           state=case.state)
    except CaseNotFound as exc:
        return Outcome(number, "not_found", error=CaseNotFound(exc.ref))
    except DubanError as exc:
        return Outcome(number, "refused", error=exc)


def _act(session: Session, service: CaseService, case: Case, action: str, *, actor: Actor,
         form: dict[str, Any], target: int | None, now: dt.datetime) -> str | None:
    if action == "remind" and _urged_lately(session, service.ctx, case, now):
        return "bulk_already_reminded"
    if action == "reassign" and case.unit_id == _lands_at(session, service.ctx, case, target):
        return "bulk_already_assigned"
    service.act_in(session, case, action, actor=actor, form=form, now=now)
    return None


def _urged_lately(session: Session, ctx: ServiceContext, case: Case, now: dt.datetime) -> bool:
    """Whether the case was urged (催办) within policy [bulk] remind_once_per_days, today counted."""
    first = local_date(now) - dt.timedelta(days=ctx.policy.bulk.remind_once_per_days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)
    return _URGED_SINCE.scalar(session, {"case_id": case.id, "since": since}) is not None


def _lands_at(session: Session, ctx: ServiceContext, case: Case, target: int | None) -> int | None:
    """The unit 改派 to `target` gives the case: `target`, or the office above it that avoidance
    (回避) picks when the case complains about `target` (so a retry finds it there already)."""
    if target is None:
        return None
    try:
        return avoid(session, ctx.orgs, ctx.policy, case, ctx.orgs.by_id(target))[0].id
    except AvoidanceViolation:
        return None  # no office to take it: the action itself refuses it, with this error


def _target_unit(ctx: ServiceContext, action: str, form: dict[str, Any]) -> int | None:
    """改派's unit, checked once for the whole request (an unknown code refuses it)."""
    if action != "reassign":
        return None
    try:
        return ctx.orgs.by_code(typed_code(str(form["unit"]))).id
    except OrgNotFound as exc:
        raise InvalidActionInput(action=action, field="unit", kind="unknown_org",
                                 message="no office or unit has this code") from exc


def _officer(ctx: ServiceContext, form: dict[str, Any]) -> tuple[str, str]:
    """分派回访's officer: an active account of a role that records callbacks (its name, its org's
    code). Anything else refuses the request, naming the field only."""
    name = str(form.get("assignee") or "").strip()
    if set(form) - {"assignee"}:
        raise InvalidActionInput(action="assign_callback", field="form", kind="extra_forbidden",
                                 message="holds a field this form does not take; it takes: assignee")
    roles = ctx.policy.roles.get("record_callback", [])
    user = None
    if name:
        with Session(ctx.engine) as session:
            user = session.scalars(select(User).where(User.username == name)).first()  # type: ignore[arg-type]
    if user is None or not user.active or user.role not in roles:
        raise InvalidActionInput(action="assign_callback", field="assignee", kind="unknown_assignee",
                                 message="is no active account that records callbacks")
    return user.username, ctx.orgs.by_id(user.org_id).code


def _assign(session: Session, ctx: ServiceContext, case: Case, *, actor: Actor, name: str, office: str,
            now: dt.datetime) -> str | None:
    done = assign_in(session, ctx, case, actor=actor, assignee=name, assignee_office=office, now=now)
    return None if done else "bulk_already_callback"
