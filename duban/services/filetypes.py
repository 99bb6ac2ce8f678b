"""What a file is, by its content: magic bytes, and for Office files what their container declares.

A client's file name and content type are its own say-so: an executable renamed `.pdf` would pass
any check of them. Here a file is a PDF when it starts as one, a JPEG or PNG by its signature, an
OOXML document (docx, xlsx, pptx) when it is a zip whose `[Content_Types].xml` declares the main
part of that kind, a legacy Word or Excel file (doc, xls) when it is an OLE compound file with a
`WordDocument` or `Workbook` stream. Macro-enabled Office files (docm, xlsm, a `vbaProject.bin`,
Excel 4.0 macro sheets in either form, legacy `Macros` / `_VBA_PROJECT` streams) are never
recognised: they can run code when opened. Nor, for the same reason, an Office file with a
packaged program or an Equation Editor object (`_OLE_ACTIVE`), one that fetches a template or an
object or starts a program by DDE when opened, no macro needed (`_starts_programs`), nor a PDF
that runs a script or a program, or carries files or an XFA form (`_pdf_active`).

A file must also be whole, and one file: a PNG ends with its IEND chunk (a cut upload has none,
and a second file behind it would make a polyglot), a JPEG has its end marker (after which some
phones append more, a motion photo's video, so what follows it is not judged). A zip is an Office
file only as OPC packages are (ECMA-376 part 2): no part named twice, none outside the package
(`..`, `/`, `\\`), and none inflating more than a hundredfold (Apache POI's zip-bomb rule).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from xml.etree import ElementTree  # expat: no external entities, and a bound on entity expansion


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
_MACRO = re.compile(rb"macroEnabled|vbaProject|macrosheet", re.IGNORECASE)
_MAX_MANIFEST = 1 << 20  # a [Content_Types].xml is a few KB; more is not an Office file
# Apache POI's ZipSecureFile: a part over 100 KB that inflates more than a hundredfold is a bomb.
_BOMB_GRACE, _BOMB_RATIO = 100 * 1024, 100
# Relationships whose target Office fetches and opens by itself (ECMA-376 part 1, 15.2): a template,
# macros and all ("template injection"), an OLE object (CVE-2017-0199), a frame, a subdocument. A
# hyperlink waits for a click and is kept.
_FETCHED = frozenset({"attachedTemplate", "oleObject", "frame", "subDocument"})
# A Word field: a complex field's marks and instruction runs, or a simple field's instruction.
_FIELD = re.compile(rb"""fldCharType\s*=\s*["'](begin|separate|end)["']|<(?:\w+:)?instrText\b[^>]*>([^<]*)<"""
                    rb"""|<(?:\w+:)?fldSimple\b[^>]*?\binstr\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DDE = re.compile(r"\s*DDE(?:AUTO)?\b", re.IGNORECASE)
_MAX_PARTS = 10_000  # a document has tens, a workbook of many pictures some thousands
_MAX_READ = 64 << 20  # the parts of one Office file read to check them, in all; more is refused
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: no data, so always these bytes

# PDF (ISO 32000-1): the names of what acts when a file is opened or carries more files — a
# script (12.6.4.16), a program (12.6.4.5), embedded files (7.11.4), media (the RichMedia
# annotation), an XFA form (12.7.8, which scripts too). A name may spell a byte as #xx (7.3.5).
_PDF_ACTIVE = frozenset({b"JS", b"JavaScript", b"Launch", b"EmbeddedFile", b"EmbeddedFiles",
                         b"RichMedia", b"XFA"})
_PDF_DELIMITED = rb"(?![^\x00\t\n\x0c\r /()<>\[\]{}%])"  # a name ends at a blank or a delimiter
_PDF_ACTIVE_NAME = re.compile(rb"/(?:J(?:S|avaScript)|Launch|EmbeddedFiles?|RichMedia|XFA)" + _PDF_DELIMITED)
# A short name with a byte spelled #xx (a Chinese font's name is spelled so; a structural name only
# by malware), and how many a file may have: each is decoded one by one.
_PDF_SPELLED = re.compile(rb"/[^\x00\t\n\x0c\r /()<>\[\]{}%]{0,36}?#[0-9A-Fa-f]{2}"
                          rb"[^\x00\t\n\x0c\r /()<>\[\]{}%]{0,36}" + _PDF_DELIMITED)
_MAX_SPELLED = 100_000
_PDF_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STRUCTURE = _PDF_ACTIVE | {b"Type", b"ObjStm", b"Filter", b"FlateDecode"}
# A comment is a blank between tokens; possessive, so a long comment costs one pass.
_PDF_OBJECT_STREAM = re.compile(rb"/Type(?:\s|%[^\r\n]*+)*+/ObjStm" + _PDF_DELIMITED)
_PDF_STREAM = re.compile(rb"stream\r?\n")
_PDF_FILTERS = (b"/ASCIIHexDecode", b"/ASCII85Decode", b"/LZWDecode", b"/RunLengthDecode", b"/Crypt",
                b"/AHx", b"/A85", b"/LZW", b"/RL")
_MAX_OBJECT_STREAMS = 10_000  # a PDF holds a few hundred; more is no document
_PDF_INFLATED = 64 << 20  # what the object streams of one file may inflate to, in all


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


# Streams of a compound file (a legacy document, or an object embedded in any Office file) that run
# code: VBA macros; a packaged file (any program, run by a double click); an Equation Editor 3.0
# object (CVE-2017-11882: the editor is gone from Office, the exploits are not).
# BIFF8 BOUNDSHEET (MS-XLS 2.4.28), a sheet's entry in a workbook: length, position, visibility,
# type (1: an Excel 4.0 macro sheet, whose Auto_Open runs by itself), then the name's length and
# width; the record's length must be its name's, so chance bytes elsewhere hardly ever match.
_BOUNDSHEET = re.compile(rb"\x85\x00(..)....[\x00-\x02]\x01(.)([\x00\x01])", re.DOTALL)
_OLE_ACTIVE = tuple(_utf16(name) for name in ("Macros", "_VBA_PROJECT", "\x01Ole10Native", "Equation Native"))


def _named(text: bytes) -> bool:
    """Whether `text` names one of `_PDF_ACTIVE`, or spells a structural name with #xx (or spells
    more names than a document does)."""
    if _PDF_ACTIVE_NAME.search(text) is not None:
        return True
    for count, found in enumerate(_PDF_SPELLED.finditer(text)):
        if count >= _MAX_SPELLED or _PDF_HEX.sub(_byte, found[0][1:]) in _PDF_STRUCTURE:
            return True
    return False


def _byte(spelled: re.Match[bytes]) -> bytes:
    return bytes([int(spelled[1], 16)])


def _pdf_active(content: bytes) -> bool:
    """Whether a PDF names an action or a part that runs or carries something (`_PDF_ACTIVE`),
    in its plain text or in a compressed object stream (PDF 1.5), where objects can hide; an
    object stream that cannot be inflated (encrypted, another filter) is taken as active. Each
    step is one pass over the bytes: a file built to make the check slow cannot."""
    if _named(content):
        return True
    budget = _PDF_INFLATED
    for count, found in enumerate(_PDF_OBJECT_STREAM.finditer(content)):
        start = content.rfind(b"obj", max(0, found.start() - 1024), found.start())
        opened = _PDF_STREAM.search(content, found.end(), found.end() + 1024)
        if count >= _MAX_OBJECT_STREAMS or start < 0 or opened is None:
            return True
        entries = content[start:opened.start()]
        if b"/FlateDecode" not in entries or any(name in entries for name in _PDF_FILTERS):
            return True
        end = content.find(b"endstream", opened.end())
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(content[opened.end():end if end >= 0 else None], budget)
        except zlib.error:
            return True
        budget -= len(inflated)
        if inflater.unconsumed_tail or budget <= 0 or _named(inflated):
            return True
    return False


def _outside(name: str) -> bool:
    """A zip entry no OPC part may be: a path that climbs out, starts at the root, or uses `\\`."""
    return "\\" in name or name.startswith("/") or ".." in name.split("/")


def _bomb(info: zipfile.ZipInfo) -> bool:
    return info.file_size > _BOMB_GRACE and info.file_size > _BOMB_RATIO * info.compress_size


def _fetches(rels: bytes) -> bool:
    """Whether a .rels part has Office fetch and open something when the file opens (`_FETCHED`);
    parsed, so an attribute spelled with entities (`Exte&#114;nal`) reads as Office reads it."""
    try:
        root = ElementTree.fromstring(rels)
    except ElementTree.ParseError:
        return True
    return any(rel.tag.endswith("Relationship") and rel.get("TargetMode", "").strip() == "External"
               and rel.get("Type", "").rsplit("/", 1)[-1] in _FETCHED for rel in root.iter())


def _dde_field(xml: bytes) -> bool:
    """Whether a Word part holds a DDE field: a simple one, or a complex one whose instruction
    (its runs joined, entities decoded, nested fields apart) starts with DDE or DDEAUTO."""
    fields: list[list[str]] = []  # the open fields' instruction pieces, innermost last
    for found in _FIELD.finditer(xml):
        mark, piece, simple = found.group(1), found.group(2), found.group(3) or found.group(4)
        if mark == b"begin":
            fields.append([])
        elif piece is not None and fields:
            fields[-1].append(unescape(piece.decode("utf-8", "replace")))
        elif simple is not None and _DDE.match(unescape(simple.decode("utf-8", "replace"))):
            return True
        elif mark is not None and fields:
            if _DDE.match("".join(fields[-1])):
                return True
            fields[-1].clear()  # after `separate` come the field's result runs, not its instruction
            if mark == b"end":
                fields.pop()
    return any(_DDE.match("".join(pieces)) for pieces in fields)


def _links_a_program(xml: bytes) -> bool:
    return b"ddeLink" in xml or b"oleLink" in xml


def _starts_programs(archive: zipfile.ZipFile, kind: str, manifest: ElementTree.Element) -> bool:
    """Whether an Office file fetches or starts something when opened, no macro needed: a remote
    template or object (any .rels), a DDE field (a Word part), a DDE or OLE link (an Excel
    external link part), an embedded object that runs code (`_OLE_ACTIVE`)."""
    linked = {item.get("PartName", "").lstrip("/").lower() for item in manifest.iter()
              if item.get("ContentType", "").endswith("externalLink+xml")}
    if "" in linked:  # declared by extension for every part of a kind: not how Excel writes it
        return True
    read = 0
    for info in archive.infolist():
        name = info.filename.lower()
        check: Callable[[bytes], bool] | None = (
            _fetches if name.endswith(".rels") else _dde_field if kind == "docx" and name.endswith(".xml")
            else _links_a_program if name in linked else None)
        if check is None:  # an embedded object, whatever its name: a compound file
            with archive.open(info) as part:
                check = _ole_active if part.read(len(_OLE)) == _OLE else None
        if check is not None:
            read += info.file_size
            if read > _MAX_READ or check(archive.read(info)):
                return True
    return False


def _ooxml(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            names = {info.filename.lower() for info in entries}
            if len(entries) > _MAX_PARTS or len(names) < len(entries):
                return None
            if any(_outside(i.filename) or _bomb(i) for i in entries):
                return None
            if any(n.endswith("vbaproject.bin") for n in names):
                return None
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return None
            if info.file_size > _MAX_MANIFEST:
                return None
            manifest = archive.read(info)  # checks its CRC too
            if _MACRO.search(manifest):
                return None
            kinds = {_OOXML_MAIN.get(m.decode("ascii", "replace")) for m in _CONTENT_TYPE.findall(manifest)}
            kinds.discard(None)
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind is None or _starts_programs(archive, kind, ElementTree.fromstring(manifest)):
                return None
            return kind
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            ElementTree.ParseError):
        return None


def _ole_active(content: bytes) -> bool:
    """Whether a compound file has a stream that runs code (`_OLE_ACTIVE`), by its directory's names."""
    return any(name in content for name in _OLE_ACTIVE)


def _ole(content: bytes) -> str | None:
    """A legacy Office file: its directory names the streams (UTF-16 names in the sectors)."""
    if _ole_active(content):
        return None
    if _utf16("WordDocument") in content:
        return "doc"
    if _utf16("Workbook") in content or _utf16("Book\x00") in content:
        return None if _macro_sheet(content) else "xls"
    return None


def _macro_sheet(content: bytes) -> bool:
    """Whether a legacy workbook lists an Excel 4.0 macro sheet (a BOUNDSHEET record of dt 1)."""
    for found in _BOUNDSHEET.finditer(content):
        length, chars, wide = int.from_bytes(found[1], "little"), found[2][0], found[3][0]
        if chars and length == 8 + chars * (1 + wide):
            return True
    return False


def sniff(content: bytes) -> FileType | None:
    """The type of `content` by what it holds; None for anything not recognised."""
    head = content[:16]
    if content[:1024].lstrip().startswith(b"%PDF-"):  # whitespace before the header is tolerated
        return None if _pdf_active(content) else TYPES["pdf"]
    if head.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"] if content.find(b"\xff\xd9", 3) > 0 else None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"] if head[12:16] == b"IHDR" and content.endswith(_PNG_END) else None
    if head.startswith(_ZIP):
        key = _ooxml(content)
        return TYPES[key] if key else None
    if head.startswith(_OLE):
        key = _ole(content)
        return TYPES[key] if key else None
    return None
