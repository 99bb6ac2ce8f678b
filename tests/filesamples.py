"""Files of each kind, made here (no fixtures on disk): what a clerk scans, a unit attaches, and
what must be refused whatever its name says."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


def png() -> bytes:
    """A 1×1 PNG, valid enough for a browser."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


_TYPES = ('<?xml version="1.0" encoding="UTF-8"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/word/document.xml" ContentType="{main}"/></Types>')
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def ooxml(main: str = DOCX_MAIN, *, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _TYPES.format(main=main))
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx() -> bytes:
    """A real workbook, as openpyxl writes it."""
    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = "台账"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not an office file")
    return out.getvalue()


def ole(stream: str) -> bytes:
    """A compound file whose directory names `stream` (a legacy .doc has WordDocument)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + stream.encode("utf-16-le") + b"\x00" * 64


def pdf(*objects: bytes) -> bytes:
    """A PDF of `objects` (numbered from 1, the first the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(data: bytes, entries: bytes = b"", *, deflate: bool = True) -> bytes:
    packed = zlib.compress(data) if deflate else data
    flate = b" /Filter /FlateDecode" if deflate else b""
    return b"<< /Length %d%s %s >>\nstream\n" % (len(packed), flate, entries) + packed + b"\nendstream"


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"


def letter_pdf() -> bytes:
    """A one-page PDF as a word processor writes it: a compressed page whose text mentions
    JavaScript (an uncompressed page that wrote `/JS` as text would be refused), in a Chinese font
    whose name is spelled in #xx bytes (宋体, as producers write it)."""
    return pdf(CATALOG, PAGES, PAGE, stream(b"BT /F1 12 Tf 72 712 Td (JavaScript /JS /Launch) Tj ET\n" * 20),
               b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+#E5#AE#8B#E4#BD#93 >>",
               b"<< /Type /Font /BaseFont /#E5#BE#AE#E8#BD#AF#E9#9B#85#E9#BB#91#2DBold#2CItalic >>")


def pdf_with(catalog_entries: bytes, *extra: bytes) -> bytes:
    """letter_pdf with more in its catalog, and more objects after the page's (numbered from 5)."""
    catalog = CATALOG.replace(b" >>", b" " + catalog_entries + b" >>")
    return pdf(catalog, PAGES, PAGE, stream(b"BT ET"), *extra)


def pdf_in_object_stream(body: bytes, *, type_entry: bytes = b"/Type /ObjStm") -> bytes:
    """letter_pdf whose object 6 is `body`, packed in a compressed object stream (PDF 1.5)."""
    header = b"6 0 "
    packed = stream(header + body, type_entry + b" /N 1 /First %d" % len(header))
    return pdf_with(b"/OpenAction 6 0 R", packed)


def png_with(tail: bytes) -> bytes:
    return png() + tail


def zipped(entries: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of `entries` in order, names as given (a name may come twice)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def manifest(*overrides: str) -> bytes:
    """A [Content_Types].xml declaring the parts' content types (the first a docx's main part)."""
    parts = "".join(f'<Override PartName="/word/part{i}.xml" ContentType="{t}"/>'
                    for i, t in enumerate((DOCX_MAIN, *overrides)))
    return _TYPES.replace('<Override PartName="/word/document.xml" ContentType="{main}"/>', parts).encode()


REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def rels(*relationships: tuple[str, str, str]) -> bytes:
    """A .rels part of (type's last word, target, target mode) relationships."""
    items = "".join(f'<Relationship Id="rId{i}" Type="{REL}/{kind}" Target="{target}" TargetMode="{mode}"/>'
                    for i, (kind, target, mode) in enumerate(relationships))
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/relationships">{items}</Relationships>').encode()


def document(body: str) -> bytes:
    return ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            f"<w:body><w:p>{body}</w:p></w:body></w:document>").encode()


def field(*pieces: str) -> str:
    """A complex field whose instruction is `pieces`, each in a run of its own, then its result."""
    runs = "".join(f"<w:r><w:instrText xml:space=\"preserve\">{p}</w:instrText></w:r>" for p in pieces)
    return (f'<w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def docx_with(*parts: tuple[str, bytes]) -> bytes:
    """A docx whose word/document.xml and other parts are `parts` (after its manifest)."""
    return zipped([("[Content_Types].xml", manifest()), *parts])


def xlsx_with(*parts: tuple[str, bytes], overrides: str = "") -> bytes:
    """The openpyxl workbook with more parts, and more Override elements in its manifest."""
    with zipfile.ZipFile(io.BytesIO(xlsx())) as book:
        entries = [(i.filename, book.read(i)) for i in book.infolist()]
    more = overrides.encode() + b"</Types>"
    entries = [(n, d.replace(b"</Types>", more) if n == "[Content_Types].xml" else d) for n, d in entries]
    return zipped([*entries, *parts])


EXTERNAL_LINK = "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"


def boundsheet(name: str, kind: int, *, hidden: int = 0) -> bytes:
    """A BIFF8 BOUNDSHEET record (a sheet's entry in a legacy workbook): kind 0 a worksheet, 1 an
    Excel 4.0 macro sheet; hidden 2 is "very hidden", which the sheet tabs never show."""
    body = struct.pack("<IBBBB", 0, hidden, kind, len(name), 0) + name.encode("latin-1")
    return struct.pack("<HH", 0x85, len(body)) + body
