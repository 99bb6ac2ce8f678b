"""The online channel (网上): a complainant's query code, their rating of the reply, and the
abuse counters of the public pages (duban.services.online)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class QueryCode(SQLModel, table=True):
    """The query code (查询码) a complainant who filed online follows their case with.

    Only a hash is kept: the code itself is shown once, when the complaint is filed. One per
    complainant; a repeat complaint linked into an open case gets its own code for that case.
    An access credential, not case content: no audit event covers it.
    """

    __tablename__ = "query_codes"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    complainant_id: int = Field(foreign_key="complainants.id", unique=True)
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class ReplyRating(SQLModel, table=True):
    """A complainant's rating of the reply (满意 / 基本满意 / 不满意): once per reply and person."""

    __tablename__ = "reply_ratings"
    __table_args__ = (UniqueConstraint("report_id", "complainant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    report_id: int = Field(foreign_key="handling_reports.id")
    complainant_id: int = Field(foreign_key="complainants.id")
    rating: str = Field(max_length=24)  # satisfied | basically_satisfied | unsatisfied
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    comment_redacted: str = Field(default="", sa_column=redacted_column())
    rated_at: dt.datetime = Field(sa_type=UTCDateTime)


class PublicHit(SQLModel, table=True):
    """One counted request of the public pages: a sliding window per client address and kind,
    shared by every worker process because it lives in the database. `key` is a hash (of the
    address, or of a challenge's nonce), never the address itself."""

    __tablename__ = "public_hits"
    __table_args__ = (Index("ix_public_hits_bucket_key_at", "bucket", "key", "at"),
                      Index("ix_public_hits_at", "at"))

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=16)
    key: str = Field(max_length=64)
    at: dt.datetime = Field(sa_type=UTCDateTime)
