"""附件 on the pages: one attachment's download, for the signed-in reader who may see it.

The same door as the API's (services/attachments.py `download`, the reader as actor): out of the
case's scope or the complainant's paper without the right to see them is "not found"; the file
goes out with the type its content showed, a UTF-8 name, `nosniff`, and as a download unless an
image.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from duban.errors import ItemNotFound
from duban.services.attachments import download
from duban.web.pages import web_of

router = APIRouter(include_in_schema=False)


@router.get("/cases/{number}/attachments/{attachment_id}")
def attachment(request: Request, number: str, attachment_id: str) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    if not attachment_id.isascii() or not attachment_id.isdigit() or len(attachment_id) > 10:
        raise ItemNotFound("attachment", attachment_id[:20])
    got = download(web.ctx, number[:40], int(attachment_id), actor=viewer.actor)
    headers = got.headers()
    return Response(got.content, media_type=headers.pop("Content-Type"), headers=headers)
