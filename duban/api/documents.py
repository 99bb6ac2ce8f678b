"""A case's official documents (交办单, 督办函, 重要工作提示, 通报): list, issue, read, PDF.

The same rules as the web's document pages, since both call duban.services.documents with the
caller as actor: who may issue each kind is config/documents.toml's, a document names the
complainant only as its recipient may read them (with consent; a 通报 never), and a case outside
the caller's scope is not found, its documents too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import _In
from duban.reports.documents import document_pdf
from duban.services.documents import Issued, Paper, compose, documents_of, issue_document

router = APIRouter(prefix="/cases", tags=["cases"], route_class=PooledRoute)

Number = Annotated[str, Path(max_length=40, description="case number, e.g. GS-2023-00012")]
DocumentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the document's id")]


class DocumentIn(_In):
    kind: str = Field(max_length=32, description=(
        "transfer_form 交办单, supervision_letter 督办函, work_reminder 重要工作提示 "
        "or public_notice 通报 (config/documents.toml)"))
    to: str | None = Field(default=None, max_length=40,
                           description="the unit's org code; when given, the unit handling the case")


class DocumentOut(BaseModel):
    id: int
    case_number: str
    kind: str
    kind_label: str
    number: str = Field(description="发文字号, e.g. 甘督办〔2026〕12号")
    to: str = Field(description="the unit it was sent to")
    issued_at: str
    issued_by: str


class PaperOut(BaseModel):
    """The document as its recipient reads it."""

    id: int
    case_number: str
    kind: str
    issuer: str = Field(description="发文机关")
    number: str = Field(description="发文字号")
    title: str
    to: str = Field(description="主送机关")
    body: list[str] = Field(description="正文, a paragraph each")
    facts: list[list[str]] = Field(description="the 交办单's table: (label, value) pairs")
    date: str = Field(description="成文日期")
    copy_to: str = Field(description="抄送")


def issued_out(issued: Issued) -> dict[str, Any]:
    return {"id": issued.id, "case_number": issued.case_number, "kind": issued.kind,
            "kind_label": issued.label, "number": issued.number, "to": issued.to,
            "issued_at": issued.issued_at.isoformat(),
            "issued_by": issued.issued_by}


def paper_out(document_id: int, paper: Paper) -> dict[str, Any]:
    return {"id": document_id, "case_number": paper.case_number, "kind": paper.kind,
            "issuer": paper.issuer, "number": paper.number, "title": paper.title, "to": paper.to,
            "body": list(paper.body),
            "facts": [list(pair) for pair in paper.facts], "date": paper.date, "copy_to": paper.copy_to}


@router.get("/{number}/documents", response_model=list[DocumentOut], responses=errors(404))
def list_documents(number: Number, actor: CurrentActor, ctx: Ctx) -> list[dict[str, Any]]:
    """The documents issued on the case, oldest first."""
    return [issued_out(d) for d in documents_of(ctx, number, actor=actor)]


@router.post("/{number}/documents", status_code=201, response_model=DocumentOut,
             responses=errors(403, 404, 409))
def issue(number: Number, body: DocumentIn, actor: CurrentActor, ctx: Ctx) -> dict[str, Any]:
    """Issue a document of `kind` to the unit handling the case, numbered (发文字号) once: issuing
    the same kind to the same unit again answers the document already issued."""
    return issued_out(issue_document(ctx, number, body.kind, actor=actor, to=body.to))


@router.get("/{number}/documents/{document_id}.pdf", response_class=Response, responses={
    200: {"content": {"application/pdf": {}}, "description": "the document as printed"}, **errors(404)})
def document_as_pdf(number: Number, document_id: DocumentId, actor: CurrentActor, ctx: Ctx) -> Response:
    """The document as a PDF, as it is printed and sent."""
    paper = compose(ctx, number, document_id, actor=actor)
    return Response(document_pdf(paper), media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"document-{document_id}.pdf\"",
        "Cache-Control": "no-store"})


@router.get("/{number}/documents/{document_id}", response_model=PaperOut, responses=errors(404))
def read_document(number: Number, document_id: DocumentId, actor: CurrentActor, ctx: Ctx) -> dict[str, Any]:
    """The document's composed text, as the unit it was sent to reads it."""
    return paper_out(document_id, compose(ctx, number, document_id, actor=actor))
