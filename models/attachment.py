"""附件: a file attached to a registration, a handling report, a 复查/复核 or a callback.

The bytes live in the file store (duban/services/filestore.py), under their SHA-256; the row says
which case and which record they belong to (`kind` + `owner_id`: the complainant row of a
registration, the handling report, the review request, the callback), what the file is as its
content showed (`media_type`, never the client's say-so), its size and hash, and who attached it
when. The row is named in the audit event of the action that attached it (config/audit.toml), so
the chain covers the file's hash. `identity`: the complainant's own papers (a letter, a request
for review, a call's record), shown only to whom the complainant may be shown.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # registration | report | review | callback
    owner_id: int  # complainants.id, handling_reports.id, review_requests.id or callbacks.id
    action: str = Field(max_length=32)  # the action that attached it
    name: str = Field(max_length=255)  # as uploaded (it may name the complainant)
    name_redacted: str = Field(default="", sa_column=redacted_column())
    media_type: str = Field(max_length=100)  # as the content showed it (duban.services.filetypes)
    size: int
    sha256: str = Field(max_length=64, index=True)
    identity: bool = False
    uploaded_by: str = Field(max_length=80)
    uploaded_role: str = Field(max_length=16)
    uploaded_at: dt.datetime = Field(sa_type=UTCDateTime)
