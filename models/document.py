"""Official documents an office issues about a case (公文: 交办单, 督办函, 重要工作提示, 通报).

A row keeps the document's number (发文字号) once issued, so a reprint shows the same number;
the text is composed again from the case at each print (duban.services.documents).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime


class Document(SQLModel, table=True):
    """One issued document: numbered per issuing office, 机关代字 and year (`seq`), one per case,
    kind and recipient unit (issuing it again gives the same row)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("office_id", "mark", "year", "seq"),
                      UniqueConstraint("case_id", "kind", "to_org_id"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    office_id: int = Field(foreign_key="orgs.id")
    to_org_id: int = Field(foreign_key="orgs.id")
    mark: str = Field(sa_column=Column(String(16), nullable=False))  # 机关代字, e.g. 甘督办
    year: int
    seq: int
    # Unique with the issuing office (GB/T 9704: a 发文字号 names a document of its 发文机关);
    # two offices whose marks agree may print the same characters.
    number: str = Field(sa_column=Column(String(40), nullable=False))
    issued_at: dt.datetime = Field(sa_type=UTCDateTime)
    issued_by: str = Field(sa_column=Column(String(64), nullable=False))
