"""回访工作台: the callback officer's page. Its office's open callbacks and revisits, all, given to
the viewer (分派给我) or to nobody yet (未分派), each linking to its case and to the case page's
record-callback form. Read through duban.services.callbackdesk with the viewer: scope, and the
complainant's name and phone only for roles policy [privacy] lets see identity.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from duban.services.callbackdesk import SHOWS, callback_desk, my_open_callbacks
from duban.web.pages import web_of

router = APIRouter(include_in_schema=False)

TABS = (("all", "全部"), ("mine", "分派给我"), ("unassigned", "未分派"))


@router.get("/callbacks", response_class=HTMLResponse)
def callbacks_page(request: Request) -> Response:
    web = web_of(request)
    viewer = web.require(request)
    show = request.query_params.get("show") or "all"
    if show not in SHOWS:
        show = "all"
    items = callback_desk(web.ctx, actor=viewer.actor, show=show)  # PermissionDenied: other roles
    return web.render(request, "callbacks.html", viewer=viewer, items=items, show=show, tabs=TABS,
                      mine=my_open_callbacks(web.ctx, actor=viewer.actor))
