"""The monthly cycle: units' monthly task reports are due before the 25th (seed 000), and each
office is reminded a few working days ahead, once a month.

Once a month per office, however often the cycle runs: each reminder carries a dedupe key
(`monthly:<YYYY-MM>:<office>`, UNIQUE in the outbox), so a second run, or one racing the first,
adds nothing. The reminder goes out on any run between its day and the day before the due day;
a service down for that whole stretch skips that month's reminder (it would be late anyway).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from duban.models import Notification, Org
from duban.services.cases import CaseService
from duban.services.context import ServiceContext
from duban.services.outbox import enqueue


@dataclass
class MonthlyResult:
    today: dt.date
    due_on: dt.date
    remind_from: dt.date
    reminders: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"today": self.today.isoformat(), "due_on": self.due_on.isoformat(),
                "remind_from": self.remind_from.isoformat(), "reminders": self.reminders}


def reminder_window(ctx: ServiceContext, today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(first reminder day, last reminder day, due day) for today's month."""
    policy = ctx.policy.monthly
    due_on = today.replace(day=policy.due_day)
    last = due_on - dt.timedelta(days=1)  # "before the 25th"
    # The working day from which `remind_workdays_before` working days are left, itself counted.
    first = ctx.calendars.official.workday_before(last, policy.remind_workdays_before - 1)
    return first, last, due_on


def run_monthly_cycle(ctx: ServiceContext) -> MonthlyResult:
    """Remind every office of this month's task reports, once, when the day has come."""
    today, now = ctx.today(), ctx.now()
    first, last, due_on = reminder_window(ctx, today)
    result = MonthlyResult(today, due_on, first)
    if not first <= today <= last:
        return result
    month = today.strftime("%Y-%m")
    service = CaseService(ctx)
    for _attempt in range(2):  # a racing run may insert the same keys first: then nothing is left
        try:
            with service.transaction() as session:
                result.reminders = _remind(session, ctx, month=month, due_on=due_on, now=now,
                                              today=today)
            break
        except IntegrityError:
            continue
    return result


def _remind(session: Session, ctx: ServiceContext, *, month: str, due_on: dt.date,
            now: dt.datetime, today: dt.date) -> int:
    offices = list(session.scalars(select(Org).where(col(Org.kind) == "office").order_by(col(Org.id))))
    keys = {f"monthly:{month}:{o.code}": o for o in offices}
    sent = set(session.scalars(select(col(Notification.dedupe_key)).where(
        col(Notification.dedupe_key).in_(keys))))
    labels = ctx.labels.text
    month_label = labels["month_label"].format(
        year=month[:4], month=int(month[5:]))
    count = 0
    for key, office in keys.items():
        if key in sent:
            continue
        context = {"month": month_label, "due_on": due_on.isoformat(), "today": today.isoformat()}
        enqueue(session, ctx, kind="monthly_reminder", audience="office", to=office, context=context,
                now=now, dedupe_key=key)
        count += 1
    return count
