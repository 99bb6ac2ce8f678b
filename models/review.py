"""复查 / 复核: a complainant's request for review of the reply, and the reviewing office's opinion.

One row per request (信访工作条例 art. 35, 36): the level (reexamination 复查, recheck 复核), the
office above that reviews it, when it was asked and by whom (staff recording a call or letter, or
the citizen online), the day its opinion is due, and the opinion (policy [reviews.outcomes]).
Not to be confused with `reviews` (models/handling.py), the office's 审核 of a handling report.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class ReviewRequest(SQLModel, table=True):
    __tablename__ = "review_requests"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    level: str = Field(max_length=16)  # reexamination | recheck
    office_id: int = Field(foreign_key="orgs.id", index=True)  # the reviewing office
    requested_at: dt.datetime = Field(sa_type=UTCDateTime)
    requested_by: str = Field(max_length=80)
    requested_role: str = Field(max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    due_on: dt.date
    outcome: str | None = Field(default=None, max_length=32)  # policy [reviews.outcomes]
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note_redacted: str = Field(default="", sa_column=redacted_column())
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str = Field(default="", max_length=80)
