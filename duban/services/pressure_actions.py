"""Handlers of the pressure actions: the escalation ladder and progress-report reminders.

Each is an internal transition (the state stays): it records why in the audit event and queues
the notices it implies in the same transaction (催办 to the unit, 抄告 to the same-level
government's leader, 重要工作提示 to the unit's top official, 约谈 recorded for the office to hold,
通报 to the unit and the government). "The office" is the one that supervises the handler
(`routing.supervising_office`): the office of record, or the office above it when that office
handles the case itself after 提级直办. 抄告 and 重要工作提示 reach people from the org directory;
with nobody distinct to write to, the step is taken but its event says why no mail went
(`data["not_sent"]`). Registered in `handlers.HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import select

from duban.models import CallbackTask, Interview, Org
from duban.services.auditrows import cover_instance
from duban.services.driver import Prepared
from duban.services.outbox import address_of, case_context, enqueue, government_of
from duban.services.pressure import ladder_episode
from duban.services.routing import supervising_office


def overdue_workdays(step: Any) -> int:
    case = step.case
    if case.deadline_on is None or step.today <= case.deadline_on:
        return 0
    return int(step.calendar.workdays_between(case.deadline_on, step.today))


def notify(step: Any, kind: str, *, to: Org | None, audience: str, address: str | None = None) -> None:
    """Queue one email about the step's case, in the step's transaction (see services/outbox.py)."""
    context = case_context(step.ctx, step.case, today=step.today,
                           overdue_workdays=overdue_workdays(step))
    context["note"] = getattr(step.form, "note", "") or ""
    context["redacted"] = {"note": step.redact(context["note"])}
    enqueue(step.session, step.ctx, kind=kind, audience=audience, to=to, context=context,
            now=step.now, case=step.case, address=address)
    step.data.setdefault("notified", []).append(f"{audience}:{to.code if to else '-'}")


def _unit(step: Any) -> Org | None:
    return step.session.get(Org, step.case.unit_id) if step.case.unit_id else None


def notify_unit(step: Any, kind: str) -> None:
    notify(step, kind, to=_unit(step), audience="unit")


def _record(step: Any) -> None:
    step.reason = getattr(step.form, "note", "") or ""
    step.data["episode"] = ladder_episode(step.case.deadline_seq)
    step.data["overdue_workdays"] = overdue_workdays(step)


def _ladder(step: Any, notices: list[tuple[str, str, Org | None]]) -> None:
    _record(step)
    sent: set[str] = set()
    for kind, audience, org in notices:
        address = address_of(org, audience)
        if address and address in sent:  # e.g. a government unit's 通报 to itself as government
            _not_sent(step, org, f"audience_{audience}", "not_sent_same_address")
            continue
        sent.add(address)
        notify(step, kind, to=org, audience=audience)


def _not_sent(step: Any, org: Org | None, who: str, reason: str) -> None:
    """Record in the step's audit event why a notice it implies went to nobody (labels only: no
    address, no free text)."""
    text = step.ctx.labels.text
    line = text[reason].format(unit=org.name if org else "-", who=text.get(who, who))
    previous = step.data.get("not_sent")
    step.data["not_sent"] = f"{previous}；{line}" if previous else line


def _person(step: Any, kind: str, audience: str, *, to: Org | None, unit: Org | None,
            address: str, who: str, not_to: tuple[str, ...]) -> None:
    """One notice to a person named in the directory (抄告, 重要工作提示) for the unit's case:
    written only when the directory has their address and it is not one the unit's own mail
    goes to, so a step never lands twice in the same inbox."""
    _record(step)
    if unit is None or not address:
        _not_sent(step, unit, who, "not_sent_no_contact")
    elif address in not_to:
        _not_sent(step, unit, who, "not_sent_same_address")
    else:
        notify(step, kind, to=to, audience=audience, address=address)


def remind(step: Any) -> None:
    _ladder(step, [("remind", "unit", _unit(step))])


def copy_notice(step: Any) -> None:
    """抄告 to the same-level government's leader in charge of the unit (orgs.leader_email)."""
    unit = _unit(step)
    government = (government_of(step.session, unit) if unit else None) or unit
    _person(step, "copy_notice", "government", to=government, unit=unit,
            address=unit.leader_email if unit else "", who="leader_contact",
            not_to=(unit.email, unit.head_email) if unit else ())


def work_reminder(step: Any) -> None:
    """重要工作提示, one to one, to the unit's top official (orgs.head_email)."""
    unit = _unit(step)
    _person(step, "work_reminder", "unit_head", to=unit, unit=unit,
            address=unit.head_email if unit else "", who="head_contact",
            not_to=(unit.email,) if unit else ())


def interview(step: Any) -> None:
    case = step.case
    # Held by the office that supervises the handler: the office of record, or the one above it
    # when that office handles the case itself (提级直办), never the office that received it.
    office = step.session.get(Org, supervising_office(step.ctx.orgs, case).id)
    step.insert(Interview, case_id=case.id, unit_id=case.unit_id, office_id=office.id,
                requested_at=step.now)
    _ladder(step, [("interview_office", "office", office), ("interview_unit", "unit_head", _unit(step))])


def public_notice(step: Any) -> None:
    unit = _unit(step)
    government = government_of(step.session, unit) if unit else None
    _ladder(step, [("public_notice", "unit", unit), ("public_notice", "government", government)])


def remind_progress(step: Any) -> None:
    step.reason = getattr(step.form, "note", "") or ""
    step.data["progress_due_on"] = str(step.case.progress_due_on)
    notify_unit(step, "remind_progress")


def finish_callback_task(step: Any, kind: str) -> None:
    """A callback (or revisit) made: its open queue item is done, by this action."""
    # Ids at driver level first: most cases closed have no open queue item.
    for found in _OPEN_TASKS.rows(step.session, {"case_id": step.case_id, "kind": kind}):
        task = step.session.get(CallbackTask, found["id"])
        assert task is not None
        task.status = "done"
        task.done_at = step.now
        task.result = step.action
        cover_instance(step.session, task)


_TASKS = CallbackTask.__table__  # type: ignore[attr-defined]
_OPEN_TASKS = Prepared(select(_TASKS.c.id).where(_TASKS.c.case_id == bindparam("case_id"),
                                                 _TASKS.c.kind == bindparam("kind"),
                                                 _TASKS.c.status == "open"))


PRESSURE_HANDLERS: dict[str, Callable[[Any], None]] = {
    "remind": remind,
    "copy_notice": copy_notice,
    "work_reminder": work_reminder,
    "interview": interview,
    "public_notice": public_notice,
    "remind_progress": remind_progress,
}
