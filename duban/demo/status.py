"""The status paragraph in the register of seed 000, every number counted from the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from duban.clock import parse_local, shanghai
from duban.models import Case, HandlingReport, Org
from duban.services.context import ServiceContext

DISPOSITIONS = ("transfer", "supervise", "key_supervise", "escalate", "refer")


@dataclass(frozen=True)
class Figures:
    total: int
    province: int
    disposed: int
    province_disposed: int
    province_dispositions: dict[str, int]
    closed: int
    province_closed: int
    key_total: int
    key_progress: int


def figures(ctx: ServiceContext, as_of: dt.datetime) -> Figures:
    """Counts of cases received by `as_of`, with their disposition and closure as stored."""
    received = col(Case.received_at) <= as_of
    province = Case.level == "province"
    disposed = col(Case.disposition).is_not(None)
    closed = col(Case.closed_at) <= as_of
    key = (Case.disposition == "key_supervise") & province
    with Session(ctx.engine) as session:
        def count(*where: Any) -> int:
            return session.exec(select(func.count()).select_from(Case).where(received, *where)).one()

        by_disposition = {d: n for d, n in session.exec(
            select(Case.disposition, func.count()).where(received, province, disposed)
            .group_by(Case.disposition)) if d}
        progressed = session.exec(
            select(func.count(func.distinct(HandlingReport.case_id)))
            .join(Case, col(Case.id) == HandlingReport.case_id)
            .where(received, key, HandlingReport.kind == "progress",
                   col(HandlingReport.submitted_at) <= as_of)).one()
        return Figures(
            total=count(), province=count(province), disposed=count(disposed),
            province_disposed=count(province, disposed), province_dispositions=by_disposition,
            closed=count(closed), province_closed=count(province, closed), key_total=count(key),
            key_progress=progressed,
        )


def _ways(labels_text: dict[str, str], names: list[str]) -> str:
    """'转办、督办、重点督办和移交纪检监察机关四种' from the dispositions used."""
    if len(names) <= 1:
        return "".join(names)
    sep = labels_text["list_sep"]
    return labels_text["ways"].format(head=sep.join(names[:-1]), last=names[-1],
                                      count=labels_text["numerals"][len(names)])


def status_paragraph(ctx: ServiceContext, as_of: dt.datetime | None = None) -> str:
    as_of = as_of or parse_local("2023-03-24 18:00")
    f = figures(ctx, as_of)
    text = ctx.labels.text
    with Session(ctx.engine) as session:
        commission = session.exec(select(Org.name).where(Org.kind == "commission",
                                                         Org.level == "province")).first()
    used = [d for d in DISPOSITIONS if f.province_dispositions.get(d)]
    parts = []
    for disposition in used:
        name = ctx.labels.of("dispositions", disposition)
        if disposition == "refer" and commission:
            name = text["refer_to"].format(commission=commission)
        parts.append(text["count_item"].format(name=name, n=f.province_dispositions[disposition]))
    local = shanghai(as_of)
    return text["status_paragraph"].format(
        as_of=text["as_of"].format(month=local.month, day=local.day, hour=local.hour),
        total=f.total, province=f.province,
        province_share=f"{f.province / f.total * 100:.1f}%" if f.total else "0%",
        ways=_ways(text, [ctx.labels.of("dispositions", d) for d in used]),
        disposed=f.disposed, province_disposed=f.province_disposed,
        province_breakdown=text["list_sep"].join(parts), closed=f.closed,
        province_closed=f.province_closed, key_total=f.key_total, key_progress=f.key_progress,
    )
