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
