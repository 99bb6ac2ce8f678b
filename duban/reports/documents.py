"""An issued document (duban.services.documents.Paper) as a print-ready page in the form of
GB/T 9704-2012, and as a PDF printed from that page by headless Chromium (duban.reports.pdf)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from markupsafe import Markup

from duban.config.documents import get_documents
from duban.reports.html import _env
from duban.reports.pdf import html_to_pdf
from duban.services.documents import Paper


def _stack(names: Sequence[str]) -> Markup:
    """A CSS font-family list, safe inside <style> (where entities are not decoded, so it is
    not escaped): each name quoted, with anything that could end a string or a rule dropped."""
    generic = {"serif", "sans-serif", "monospace"}
    clean = ["".join(c for c in name if c not in "\"'\\;{}<>") for name in names]
    return Markup(", ".join(name if name in generic else f'"{name}"' for name in clean if name))


def render_document(paper: Paper, *, links: Sequence[tuple[str, str]] = ()) -> str:
    """The document's page; `links` (href, text) form a bar the printout leaves out."""
    fonts = get_documents().fonts
    stacks = {"title": _stack(fonts.title), "body": _stack(fonts.body), "heading": _stack(fonts.heading),
              "kai": _stack(fonts.kai)}
    # The 发文机关标志 fits on one line of the 156 mm 版心 (about 440 pt): a long name is set smaller.
    mark_pt = max(16, min(30, int(420 / max(len(paper.issuer), 1))))
    return _env().get_template("document.html.j2").render(p=paper, fonts=stacks, links=list(links),
                                                          mark_pt=mark_pt)


def html_pdf_bytes(html: str) -> bytes:
    """`html` printed to PDF by Chromium, as bytes (ConfigError when no Chromium is found)."""
    with tempfile.TemporaryDirectory(prefix="duban-doc-") as tmp:
        out = Path(tmp) / "out.pdf"
        html_to_pdf(html, out)
        return out.read_bytes()


def document_pdf(paper: Paper) -> bytes:
    return html_pdf_bytes(render_document(paper))


# The case list on paper: the columns a reader scans (the XLSX has them all).
PDF_COLUMNS = ("number", "received_at", "office", "priority", "title", "disposition", "unit", "state",
               "deadline_on", "warning", "closed_at")


def render_case_list(*, title: str, meta: str, columns: Sequence[str], headers: Sequence[str],
                     rows: Sequence[Sequence[object]], cut: bool) -> str:
    """The exported list (duban.reports.export.export_rows) as a printable landscape table."""
    keep = [i for i, name in enumerate(columns) if name in PDF_COLUMNS]
    shown = [[_cell(row[i]) for i in keep] for row in rows]
    return _env().get_template("caselist.html.j2").render(
        title=title, meta=meta, headers=[headers[i] for i in keep], rows=shown, cut=cut, total=len(rows))


def _cell(value: object) -> object:
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]
    return value
