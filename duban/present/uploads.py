"""A file's name as the client wrote it: both faces read uploads through `sent_name`.

Starlette decodes a multipart file name as UTF-8 and, when that fails, as Latin-1, which never
fails and never fits a Chinese name: older Windows programs (and browsers on pages not in UTF-8)
send GBK, and `张三的来信.pdf` arrived as `ÕÅÈýµÄÀ´ÐÅ.pdf`. So the name is read again from the
part's own header bytes: UTF-8, else GB18030 (which GBK and GB2312 are part of), else Latin-1.
"""

from __future__ import annotations

from python_multipart.multipart import parse_options_header
from starlette.datastructures import UploadFile

_CODECS = ("utf-8", "gb18030")


def decoded_name(raw: bytes) -> str:
    """`raw` in the first of UTF-8 and GB18030 that reads it, else Latin-1."""
    for codec in _CODECS:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def sent_name(upload: UploadFile) -> str:
    """The name an uploaded file was sent with, decoded as `decoded_name` does."""
    disposition = next((value for key, value in upload.headers.raw if key.lower() == b"content-disposition"),
                       None)
    raw = parse_options_header(disposition)[1].get(b"filename") if disposition is not None else None
    return decoded_name(raw) if raw is not None else upload.filename or ""
