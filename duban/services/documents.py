"""Official documents about a case (交办单, 督办函, 重要工作提示, 通报): issued, numbered, composed.

`issue_document` takes the document's 发文字号 once, in one transaction with its audit event
(`issue_document`); issuing the same kind to the same unit again gives the same document, so a
reprint shows the same number. Numbers run per issuing office, 机关代字 and year
(甘督办〔2026〕12号), config/documents.toml.

`compose` is the document's content as the unit it is sent to may read it (reading.py's door
with the recipient as actor): a unit's document names the complainant only with their consent,
and a 通报, which circulates, never does. Whoever prints it reads the case first with their own
actor, so a case outside their scope is not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from duban.clock import shanghai
from duban.config.documents import DocumentKind, DocumentsConfig, get_documents
from duban.db import row_locks
from duban.errors import ActionNotAllowed, CaseNotFound, InvalidActionInput, PermissionDenied
from duban.models import Case, Document, Org, Subject
from duban.services.audit import append_event
from duban.services.cases import CaseService
from duban.services.context import Actor, ServiceContext
from duban.services.persist import insert_row, track
from duban.services.queries import orgs_of, row_of
from duban.services.reading import Facts, case_texts, complainants_of, load_case
from duban.shown import shown

ACTION = "issue_document"
_DOCS: Any = Document.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Issued:
    """A document's number and who issued it when (a reprint shows these again)."""

    id: int
    case_number: str
    kind: str
    label: str
    number: str
    to: str
    issued_at: dt.datetime
    issued_by: str


@dataclass
class Paper:
    """Everything a printed document shows, in the words it shows them."""

    kind: str
    issuer: str  # 发文机关标志 and 署名
    number: str  # 发文字号
    title: str
    to: str  # 主送机关
    body: list[str]
    facts: list[tuple[str, str]] = field(default_factory=list)  # the 交办单's table
    date: str = ""  # 成文日期
    copy_to: str = ""  # 抄送
    case_number: str = ""


def cn_date(day: dt.date | dt.datetime | None) -> str:
    """A date as a document writes it (GB/T 9704-2012 7.3.5.3): 2026年12月4日, no leading zeros."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = shanghai(day).date()
    return f"{day.year}年{day.month}月{day.day}日"


def document_number(mark: str, year: int, seq: int) -> str:
    """发文字号: 机关代字〔年份〕序号号, the year in full and the number without leading zeros."""
    return f"{mark}〔{year}〕{seq}号"


def _spec(config: DocumentsConfig, kind: str) -> DocumentKind:
    spec = config.kinds.get(kind)
    if spec is None:
        raise InvalidActionInput(action=ACTION, field="kind", kind="literal_error",
                                 message=f"must be one of {', '.join(config.kinds)}")
    return spec


def _issuing_office(ctx: ServiceContext, actor: Actor, case: Case) -> Any:
    """The actor's office when they belong to one, else the office holding the case."""
    if actor.org_id is not None:
        org = ctx.orgs.by_id(actor.org_id)
        if org.kind == "office":
            return org
    return ctx.orgs.by_id(case.office_id)


def issue_document(ctx: ServiceContext, ref: int | str, kind: str, *, actor: Actor,
                   to: str | None = None) -> Issued:
    """Issue (or find already issued) the `kind` document of the case to its current unit; `to`,
    when given (API, CLI), is that unit's code, said back so a stale page issues nothing."""
    config = get_documents()
    spec = _spec(config, kind)
    service = CaseService(ctx)
    with service.transaction() as session:
        seen_case, _ = load_case(session, ctx, ref, actor=actor)  # CaseNotFound out of scope
        if actor.role not in spec.issuers:
            raise PermissionDenied(action=ACTION, role=actor.role, allowed_roles=spec.issuers)
        assert seen_case.id is not None
        case = service.load_in(session, seen_case.id, for_write=True)
        if case.unit_id is None or case.disposition not in spec.dispositions:
            # The reason is read by people (labels.errors action_not_allowed puts it in Chinese).
            ways = "、".join(ctx.labels.of("dispositions", d) for d in spec.dispositions)
            raise ActionNotAllowed(case_number=case.number, action=ACTION, state=case.state, allowed=[],
                                   reason=config.status["not_applicable"].format(label=spec.label,
                                                                                 dispositions=ways))
        if to is not None and to != ctx.orgs.by_id(case.unit_id).code:
            unit = ctx.orgs.by_id(case.unit_id)
            raise InvalidActionInput(action=ACTION, field="to", kind="not_the_unit",
                                     message=f"must be the code of the unit handling the case ({unit.code})",
                                     limits={"unit": unit.name, "code": unit.code})
        connection = session.connection()
        found: int | None = connection.execute(select(_DOCS.c.id).where(
            col(Document.case_id) == case.id, col(Document.kind) == kind,
            col(Document.to_org_id) == case.unit_id)).scalar()
        if found is not None:
            return _issued(session, ctx, found)
        office = _issuing_office(ctx, actor, case)
        now = ctx.now()
        year = shanghai(now).year
        mark = config.region_mark(office.code, office.name) + spec.mark
        if row_locks(session.get_bind()):  # one number at a time per office (SQLite: the writer lock)
            connection.execute(select(col(Org.id)).where(col(Org.id) == office.id).with_for_update())
        last = connection.execute(select(func.max(col(Document.seq))).where(
            col(Document.office_id) == office.id, col(Document.mark) == mark,
            col(Document.year) == year)).scalar()
        seq = (last or 0) + 1
        number = document_number(mark, year, seq)
        document_id = insert_row(session, Document, case_id=case.id, kind=kind, office_id=office.id,
                                 to_org_id=case.unit_id, mark=mark, year=year, seq=seq, number=number,
                                 issued_at=now, issued_by=actor.name)
        track(session, case)
        case.version += 1
        case.updated_at = now
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role, action=ACTION,
                     from_state=case.state, data={"kind": kind, "number": number,
                                                  "to": ctx.orgs.by_id(case.unit_id).code})
    with Session(ctx.engine) as session:
        return _issued(session, ctx, document_id)


def _issued(session: Session, ctx: ServiceContext, document_id: int) -> Issued:
    row = session.connection().execute(
        select(col(Document.id), col(Case.number), col(Document.kind), col(Document.number),
               col(Document.to_org_id), col(Document.issued_at), col(Document.issued_by))
        .join(Case, col(Case.id) == Document.case_id).where(col(Document.id) == document_id)).one()
    spec = get_documents().kinds.get(row.kind)
    return Issued(id=row.id, case_number=row[1], kind=row.kind, label=spec.label if spec else row.kind,
                  number=row[3], to=ctx.orgs.by_id(row.to_org_id).name, issued_at=row.issued_at,
                  issued_by=row.issued_by)


def documents_of(ctx: ServiceContext, ref: int | str, *, actor: Actor) -> list[Issued]:
    """The documents issued on a case `actor` may read, oldest first."""
    with Session(ctx.engine) as session:
        case, _ = load_case(session, ctx, ref, actor=actor, texts=False)
        ids = [i for i in session.connection().execute(select(_DOCS.c.id).where(
            col(Document.case_id) == case.id).order_by(col(Document.id))).scalars()]
        return [_issued(session, ctx, i) for i in ids]


def issuable(*, disposition: str | None, has_unit: bool, actor: Actor) -> list[tuple[str, str]]:
    """(kind, label) of the documents `actor` may issue on a case so disposed and handed over."""
    return [(kind, spec.label) for kind, spec in get_documents().kinds.items()
            if actor.role in spec.issuers and has_unit and disposition in spec.dispositions]


def compose(ctx: ServiceContext, ref: int | str, document_id: int, *, actor: Actor) -> Paper:
    """The issued document as it is printed: CaseNotFound unless `actor` may read the case and
    the document is one of it."""
    config = get_documents()
    with Session(ctx.engine) as session:
        case, _ = load_case(session, ctx, ref, actor=actor)
        doc = session.get(Document, document_id)
        if doc is None or doc.case_id != case.id:
            raise CaseNotFound(ref)
        spec = _spec(config, doc.kind)
        recipient = Actor(name="recipient", role="unit", org_id=doc.to_org_id)
        consent = spec.identity == "recipient"
        texts = {name: shown(text) for name, text in case_texts(
            session, ctx, [doc.case_id], actor=recipient, consent=consent)[doc.case_id].items()}
        people = complainants_of(session, ctx, [Facts.of(case)], actor=recipient, consent=consent)
        return _paper(ctx, config, spec, doc, case, texts=texts, person=people.get(doc.case_id),
                      subject_name=shown(_subject_name(session, case)))


def _subject_name(session: Session, case: Case) -> str:
    if case.subject_id is None:
        return ""
    return session.connection().execute(select(col(Subject.name)).where(
        col(Subject.id) == case.subject_id)).scalar() or ""


def _paper(ctx: ServiceContext, config: DocumentsConfig, spec: DocumentKind, doc: Document, case: Case,
           *, texts: dict[str, str], person: Any, subject_name: str) -> Paper:
    labels = ctx.labels
    office, unit = orgs_of(ctx, case)
    issuer = ctx.orgs.by_id(doc.office_id)
    to_org = ctx.orgs.by_id(doc.to_org_id)
    today = ctx.today()
    row = row_of(ctx, case, office.name, office.code, unit.name if unit else None,
                 unit.code if unit else None, today)
    words = {
        "case": case.number, "unit": to_org.name, "office": office.name,
        "subject": subject_name or config.status["no_subject"],
        "received": cn_date(case.received_at), "dispatched": cn_date(case.dispatched_at),
        "deadline": cn_date(row.deadline_on) or config.status["no_deadline"],
        "disposition": labels.of("dispositions", case.disposition), "today": cn_date(today),
    }
    late = _late(case, row)
    words["by"] = config.status["by_overdue"] if late else config.status["by"].format(**words)
    words["status"] = _status(config, case, row, words)
    body = [line.format(**words) for line in spec.body]
    facts: list[tuple[str, str]] = []
    if doc.kind == "transfer_form":
        masked = labels.text["masked"]
        who = shown(f"{person.name}（{person.phone}）") if person is not None else masked
        named = config.facts
        facts = [(named.number, case.number), (named.received, cn_date(case.received_at)),
                 (named.channel, labels.of("channels", case.channel)),
                 (named.category, labels.of("categories", case.category)),
                 (named.complainant, who), (named.subject, subject_name or "—"),
                 (named.matter, texts["title"]), (named.summary, texts["summary"]),
                 (named.disposition, labels.of("dispositions", case.disposition)),
                 (named.deadline, words["deadline"])]
    return Paper(kind=doc.kind, issuer=issuer.name, number=doc.number,
                 title=spec.title.format(**words), to=spec.to.format(**words), body=body, facts=facts,
                 date=cn_date(doc.issued_at), case_number=case.number,
                 copy_to=office.name if office.id != issuer.id else "")


def _status(config: DocumentsConfig, case: Case, row: Any, words: dict[str, str]) -> str:
    status = config.status
    if case.closed_at is not None:
        return status["finished"].format(closed=cn_date(case.closed_at), **words)
    left = row.workdays_left
    if _late(case, row):
        return status["overdue"].format(late=abs(left or 0), **words)
    if row.unsigned:
        return status["unsigned"].format(**words)
    return status["due"].format(left=left if left is not None else "—", **words)


def _late(case: Case, row: Any) -> bool:
    """Past its deadline and not closed."""
    return case.closed_at is None and row.workdays_left is not None and row.workdays_left < 0
