"""/docs (Swagger UI) and /redoc served from this server, with nothing fetched from elsewhere.

FastAPI's pages load their scripts from a CDN: offices run on intranets that cannot reach it, and
the answer's own CSP (script-src 'none', duban/web/render.py) refuses them anyway, so both pages
came up blank. The scripts ship in the `fastapi-offline` distribution; each page gets a CSP that
allows its own scripts and, by hash, the one inline script that starts it.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/apidocs"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def csp_for(html: str) -> str:
    """The page's policy: its own scripts and styles, its inline scripts by their SHA-256."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _page(response: HTMLResponse) -> HTMLResponse:
    html = bytes(response.body).decode()
    response.headers["Content-Security-Policy"] = csp_for(html)
    return response


def install(app: FastAPI, *, title: str) -> None:
    """Mount the assets (before /static, which would take their paths) and the two pages."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="apidocs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} – API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png"))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(get_redoc_html(
            openapi_url=openapi_url, title=f"{title} – API", redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False))
