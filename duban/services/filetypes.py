"""What a file is, by its content: magic bytes, and for Office files what their container declares.

A client's file name and content type are its own say-so: an executable renamed `.pdf` would pass
any check of them. Here a file is a PDF when it starts as one, a JPEG or PNG by its signature, an
OOXML document (docx, xlsx, pptx) when it is a zip whose `[Content_Types].xml` declares the main
part of that kind, a legacy Word or Excel file (doc, xls) when it is an OLE compound file with a
`WordDocument` or `Workbook` stream. Macro-enabled Office files (docm, xlsm, a `vbaProject.bin`,
legacy `Macros` / `_VBA_PROJECT` streams) are never recognised: they can run code when opened.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    key: str  # policy [attachments] types
    media_type: str  # what downloads are served as
    extension: str  # what a download's name ends with


TYPES: dict[str, FileType] = {t.key: t for t in (
    FileType("pdf", "application/pdf", ".pdf"),
    FileType("jpeg", "image/jpeg", ".jpg"),
    FileType("png", "image/png", ".png"),
    FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    FileType("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx"),
    FileType("doc", "application/msword", ".doc"),
    FileType("xls", "application/vnd.ms-excel", ".xls"),
)}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
# The main part each OOXML kind declares (ECMA-376 part 2); the macro-enabled ones are not here.
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
_CONTENT_TYPE = re.compile(rb'ContentType\s*=\s*"([^"]+)"')
_MACRO = re.compile(rb"macroEnabled|vbaProject", re.IGNORECASE)
_MAX_MANIFEST = 1 << 20  # a [Content_Types].xml is a few KB; more is not an Office file


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def _ooxml(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return None
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return None
            if info.file_size > _MAX_MANIFEST:
                return None
            manifest = archive.read(info)  # checks its CRC too
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None
    if _MACRO.search(manifest):
        return None
    kinds = {_OOXML_MAIN.get(m.decode("ascii", "replace")) for m in _CONTENT_TYPE.findall(manifest)}
    kinds.discard(None)
    return kinds.pop() if len(kinds) == 1 else None


def _ole(content: bytes) -> str | None:
    """A legacy Office file: its directory names the streams (UTF-16 names in the sectors)."""
    if _utf16("Macros") in content or _utf16("_VBA_PROJECT") in content:
        return None
    if _utf16("WordDocument") in content:
        return "doc"
    if _utf16("Workbook") in content or _utf16("Book\x00") in content:
        return "xls"
    return None


def sniff(content: bytes) -> FileType | None:
    """The type of `content` by what it holds; None for anything not recognised."""
    head = content[:16]
    if content[:1024].lstrip().startswith(b"%PDF-"):  # whitespace before the header is tolerated
        return TYPES["pdf"]
    if head.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if head.startswith(_ZIP):
        key = _ooxml(content)
        return TYPES[key] if key else None
    if head.startswith(_OLE):
        key = _ole(content)
        return TYPES[key] if key else None
    return None
