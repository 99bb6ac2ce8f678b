"""附件 over the API: actions with files (multipart), a case's attachments, one file's download.

The JSON action and registration routes stay as they are; an action that takes files (policy
[attachments.actions]) is also sent as multipart/form-data to `.../actions/{action}/with-files`,
a registration to `POST /api/cases/new/with-files`: the same JSON body in the form field `body`,
and the files in `files`. Each file is read up to the policy's limit and no further; what it is,
is decided by its content (services/attachments.py), never by the name or content type the client
sent. A download carries the type its content showed, a UTF-8 file name (RFC 5987), `nosniff`,
and is saved rather than shown unless it is an image.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from duban.api.cases import ActionName, Number, perform, register_case
from duban.api.deps import Ctx, CurrentActor
from duban.api.openapi import errors
from duban.api.routing import PooledRoute
from duban.api.schemas import ActedOut, ActionIn, CaseIn, OutOfSightOut, RegisterOut
from duban.present.uploads import sent_name
from duban.services import ServiceContext
from duban.services.attachments import Upload, download, list_attachments
from duban.services.filetypes import TYPES

router = APIRouter(prefix="/cases", tags=["attachments"], route_class=PooledRoute)

AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the attachment's id")]
Files = Annotated[list[UploadFile],
                  File(description="the files (PDF, JPEG, PNG, Office; policy [attachments])")]


class AttachmentOut(BaseModel):
    id: int
    kind: str = Field(description="registration, report, review or callback")
    kind_label: str
    owner_id: int = Field(description="the complainant row, report, review request or callback it belongs to")
    action: str
    name: str = Field(description="as attached; redacted for readers who may not see the complainant")
    media_type: str = Field(description="as its content showed it")
    size: int
    sha256: str
    uploaded_by: str
    uploaded_role: str
    uploaded_at: Any
    href: str


def _uploads(ctx: ServiceContext, files: list[UploadFile]) -> list[Upload]:
    """Each file read up to one byte past the limit: the service refuses it as too large."""
    limit = ctx.policy.attachments.max_bytes + 1
    return [Upload(name=sent_name(upload), content=upload.file.read(limit)) for upload in files]


def _parsed(model: type[BaseModel], raw: str) -> Any:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.post("/new/with-files", status_code=201, response_model=RegisterOut,
             responses=errors(403, 404, 409, 422))
def register_with_files(
    actor: CurrentActor, ctx: Ctx,
    body: Annotated[str, Form(max_length=100_000,
                              description="the complaint, as POST /api/cases takes it (JSON)")],
    files: Files,
) -> dict:
    """Register a complaint with its letter's scans or photos (multipart)."""
    return register_case(_parsed(CaseIn, body), actor=actor, ctx=ctx, files=_uploads(ctx, files))


@router.post("/{number}/actions/{action}/with-files", response_model=ActedOut | OutOfSightOut,
             responses=errors(403, 404, 409, 422))
def act_with_files(
    number: Number, action: ActionName,  # type: ignore[valid-type]
    actor: CurrentActor, ctx: Ctx,
    body: Annotated[str, Form(max_length=100_000,
                              description="the action's body, as the JSON route takes it")],
    files: Files,
) -> dict:
    """Perform an action with files attached (a report, 复查/复核, a callback): multipart."""
    return perform(number, action, _parsed(ActionIn, body), actor=actor, ctx=ctx,
                   files=_uploads(ctx, files))


@router.get("/{number}/attachments", response_model=list[AttachmentOut], responses=errors(404))
def attachments(number: Number, actor: CurrentActor, ctx: Ctx) -> list[dict]:
    """The case's attachments you may see (the complainant's own papers only if you may see them)."""
    return [{**row, "kind_label": ctx.labels.text.get(f"attachment_kind_{row['kind']}", row["kind"]),
             "href": f"/api/cases/{number}/attachments/{row['id']}"}
            for row in list_attachments(ctx, number, actor=actor)]


_FILE_TYPES = {t.media_type: {"schema": {"type": "string", "format": "binary"}} for t in TYPES.values()}


@router.get("/{number}/attachments/{attachment_id}", response_class=Response,
            responses={200: {"content": _FILE_TYPES, "description": "the file"}, **errors(404)})
def attachment(number: Number, attachment_id: AttachmentId, actor: CurrentActor, ctx: Ctx) -> Response:
    """Download one attachment, as the type its content showed, named in UTF-8 (RFC 5987)."""
    got = download(ctx, number, attachment_id, actor=actor)
    headers = got.headers()
    return Response(got.content, media_type=headers.pop("Content-Type"), headers=headers)
