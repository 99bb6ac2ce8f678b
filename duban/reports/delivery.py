"""The monthly report to each office's leaders (每月向领导小组组长、副组长专报, seed 000), by e-mail.

The monthly-cycle flow runs daily; `queue_monthly_reports` acts on the first run on or after
policy [reports] monthly_day, for last month, and writes one outbox row per leader. Each row has
a dedupe key (`report:<YYYY-MM>:<office>:<address>`, UNIQUE in the outbox), so later runs, or a
run racing this one, add nothing. Delivery is the outbox's business (duban.notify).

The outbox carries plain text, so the mail is the narrative and the headline figures with their
definitions; the full report (charts, ranking, 台账) is on the /reports page and in
`duban report --xlsx`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from duban.models import Notification, Org
from duban.reports.build import build_report
from duban.reports.html import report_title
from duban.reports.model import Report
from duban.reports.narrative import period_label
from duban.reports.period import Period, month
from duban.reports.rates import definition, percent
from duban.reports.rates import name as rate_name
from duban.services import outbox
from duban.services.context import ServiceContext

KIND = "monthly_report"
AUDIENCE = "leader"


@dataclass
class QueuedReports:
    period: str | None
    offices: list[str] = field(default_factory=list)
    messages: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"period": self.period, "offices": len(self.offices), "messages": self.messages}


def recipients_for(ctx: ServiceContext, office: Org) -> list[str]:
    """The leaders configured for the office ([reports.recipients]), else the office's head."""
    configured = ctx.policy.reports.recipients.get(office.code)
    if configured is not None:
        return [a for a in configured if a]
    return [office.head_email] if office.head_email else []


def report_text(report: Report) -> tuple[str, str]:
    """(subject, plain-text body) of the report's e-mail."""
    labels, r = report.labels, report.labels.report
    f = report.figures
    period = period_label(report.period, labels)
    title = report_title(report)
    lines = [title, period, "", report.narrative, "", r["mail_figures"]]
    for key in ("received", "disposed", "closed", "on_time", "overdue", "supervision"):
        lines.append(f"  {r[f'fig_{key}']}：{f[key].value}")
    for key, rate in report.rates.items():
        lines.append(f"  {rate_name(labels, key)}：{percent(rate.value, none=r['none'])}"
                     f"（{rate.numerator.value}/{rate.denominator.value}）")
    lines.append("")
    for key in report.rates:
        lines.append(f"{rate_name(labels, key)}：{definition(labels, key)}")
    if report.key_cases:
        lines += ["", r["section_key"]]
        lines += [f"  {k.number} {k.title}（{k.unit}，{labels.of('states', k.state)}，"
                  f"{r['col_progress']}{k.progress_reports}）" for k in report.key_cases]
    if report.complained:
        lines += ["", r["section_complained"]]
        lines += [f"  {name} {figure.value}" for name, figure in report.complained[:5]]
    lines += ["", r["mail_footer"].format(period=report.period.key, office=report.office_code)]
    return r["mail_subject"].format(title=title, period=period), "\n".join(lines)


def due_period(ctx: ServiceContext) -> Period | None:
    """Last month, once today has reached the sending day; None before it."""
    today = ctx.today()
    if today.day < ctx.policy.reports.monthly_day:
        return None
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    return month(last_month.year, last_month.month)


def queue_monthly_reports(ctx: ServiceContext, *, offices: list[str] | None = None) -> QueuedReports:
    """Queue last month's report of every office (or of `offices`) to its leaders, once."""
    period = due_period(ctx)
    result = QueuedReports(period.key if period else None)
    if period is None:
        return result
    with Session(ctx.engine) as session:
        query = select(Org).where(Org.kind == "office").order_by(Org.id)  # type: ignore[arg-type]
        if offices is not None:
            query = query.where(Org.code.in_(offices))  # type: ignore[attr-defined]
        candidates = list(session.scalars(query))
        sent = set(session.scalars(select(col(Notification.dedupe_key)).where(
            col(Notification.dedupe_key).like(f"report:{period.key}:%"))))
    for office in candidates:
        keys = {address: f"report:{period.key}:{office.code}:{address}"[:120]
                for address in recipients_for(ctx, office)}
        missing = {a: k for a, k in keys.items() if k not in sent}
        if not missing:
            continue
        report = build_report(ctx, period, office.code)
        subject, body = report_text(report)
        now = ctx.now()
        try:
            outbox.queue(ctx.engine, [outbox.message_row(
                kind=KIND, audience=AUDIENCE, org_id=office.id, to_address=address, subject=subject,
                body=body, dedupe_key=key, now=now) for address, key in missing.items()])
        except IntegrityError:
            continue  # a racing run queued this office first
        result.offices.append(office.code)
        result.messages += len(missing)
    return result
