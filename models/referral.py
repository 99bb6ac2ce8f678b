"""移交纪检监察机关: a referral to a discipline commission, kept apart from the handling track.

One row per referral. It runs beside the case: the case either leaves the handling track (state
`referred`, the commission in unit_id) or keeps its state and unit while the commission looks at
the matter too (`handling_continues`). Only the commission, the referring office's supervisors and
leaders and admins see it (duban.services.scope).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class Referral(SQLModel, table=True):
    __tablename__ = "referrals"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    commission_id: int = Field(foreign_key="orgs.id", index=True)
    office_id: int = Field(foreign_key="orgs.id")  # the referring office
    referred_at: dt.datetime = Field(sa_type=UTCDateTime)
    referred_by: str = Field(max_length=80)
    handling_continues: bool = False
    # The two notices to a real-name reporter (policy [referral]); None when none is owed.
    real_name: bool = False
    acknowledgement_due_on: dt.date | None = None
    acknowledged_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str = Field(default="", max_length=80)
    outcome: str | None = Field(default=None, max_length=32)  # policy [referral.outcomes]
    outcome_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    outcome_note_redacted: str = Field(default="", sa_column=redacted_column())
    concluded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    concluded_by: str = Field(default="", max_length=80)
    feedback_due_on: dt.date | None = None
    feedback_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
