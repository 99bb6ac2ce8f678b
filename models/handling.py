"""What happens to a case while it is handled: reports, reviews, callbacks, extensions, return requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column

# What a request (延期申请, 退单申请) reads while it waits for the office's decision.
REQUESTED = "requested"


def _text() -> Column[str]:
    return Column(Text, nullable=False, default="", server_default="")


class HandlingReport(SQLModel, table=True):
    """办理报告: the final report, a half-monthly progress report, or the commission's result."""

    __tablename__ = "handling_reports"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="orgs.id")
    kind: str = Field(default="final", max_length=24)  # final | progress | commission_result
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_redacted: str = Field(default="", sa_column=redacted_column())
    # The structured part of a final report (policy [handling_report]): 是否属实 (true |
    # partly_true | untrue), what was done, 整改措施 and 问责情况; empty on progress reports and
    # on reports from before migration 0012.
    finding: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    actions_taken: str = Field(default="", sa_column=_text())
    actions_taken_redacted: str = Field(default="", sa_column=redacted_column())
    rectification: str = Field(default="", sa_column=_text())
    rectification_redacted: str = Field(default="", sa_column=redacted_column())
    accountability: str = Field(default="", sa_column=_text())
    accountability_redacted: str = Field(default="", sa_column=redacted_column())
    submitted_by: str = Field(max_length=80)
    submitted_at: dt.datetime = Field(sa_type=UTCDateTime)


class Review(SQLModel, table=True):
    """审核: the office's decision on a handling report, with reasons when it is returned."""

    __tablename__ = "reviews"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="handling_reports.id")
    decision: str = Field(max_length=16)  # approved | returned
    reasons: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reasons_redacted: str = Field(default="", sa_column=redacted_column())
    reviewer: str = Field(max_length=80)
    reviewed_at: dt.datetime = Field(sa_type=UTCDateTime)


class Callback(SQLModel, table=True):
    """回访: the complainant asked whether the problem is really solved, or an attempt that
    reached nobody (联系不上, result "unreachable").

    result is on the scale satisfied | basically_satisfied | unsatisfied (which of them count as
    satisfied is policy [callbacks] satisfied_results), or unreachable. Rows from before 0015
    have only `satisfied`; their result is read as satisfied / unsatisfied (`scale`, and
    duban.services.callbacks.RESULT in SQL): they are not rewritten, since the audit event that
    wrote each row holds its digest. The columns added in 0015 are digested only when set
    (config/audit.toml `added`), so those rows still verify.
    """

    __tablename__ = "callbacks"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    satisfied: bool | None = None  # rows before 0015 only
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note_redacted: str = Field(default="", sa_column=redacted_column())
    caller: str = Field(max_length=80)
    called_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)  # reports: callbacks in a period
    method: str | None = Field(default=None, max_length=8)  # phone | sms | visit
    result: str | None = Field(default=None, max_length=24)
    # Why the complainant is not satisfied (required for a result that sends the case back).
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    episode: str | None = Field(default=None, max_length=16)  # the verification it belongs to

    @property
    def scale(self) -> str:
        """The result, old rows' satisfied flag read on the scale."""
        if self.result:
            return self.result
        return "satisfied" if self.satisfied else "unsatisfied"


class Extension(SQLModel, table=True):
    """延期: one request per case at most (policy), decided by the office.

    `days` is the amount asked and `granted_days` the amount granted (at most `days`), both in
    `unit` (policy [extension] unit when asked; None on rows from before units: calendar days).
    """

    __tablename__ = "extensions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    days: int
    unit: str | None = Field(default=None, max_length=16)
    granted_days: int | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    status: str = Field(default=REQUESTED, max_length=16)  # requested | approved | rejected
    requested_by: str = Field(max_length=80)
    requested_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Why it was refused (required) or granted in part; the approver's note otherwise.
    decision_note: str = Field(default="", sa_column=Column(Text, nullable=False, default="",
                                                            server_default=""))
    decision_note_redacted: str = Field(default="", sa_column=redacted_column())


class Decline(SQLModel, table=True):
    """不予受理: the office declines a received case, for a reason of policy [intake.decline_reasons],
    and tells the complainant (告知). A reinstated case keeps its row; the reinstatement is its event."""

    __tablename__ = "declines"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    reason: str = Field(max_length=32, index=True)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note_redacted: str = Field(default="", sa_column=redacted_column())
    declined_by: str = Field(max_length=80)
    declined_at: dt.datetime = Field(sa_type=UTCDateTime, index=True)  # reports: declines in a period


class Objection(SQLModel, table=True):
    """退单申请: a unit says the case is not its business and asks to hand it back; the office's
    dispatcher accepts (the case goes back to triage) or rejects it (the unit keeps it).

    Rows from before migration 0012 took effect at once: they read as accepted, undecided by
    anyone. One request per case may be pending ("requested") at a time.
    """

    __tablename__ = "objections"
    __table_args__ = (Index("ix_objections_status", "status"),)  # the dispatchers' queue

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    unit_id: int = Field(foreign_key="orgs.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    objected_at: dt.datetime = Field(sa_type=UTCDateTime)  # when the unit asked
    # requested | accepted | rejected | lapsed (the unit changed, or it reported, before a decision)
    status: str = Field(default=REQUESTED, sa_column=Column(String(16), nullable=False,
                                                            default=REQUESTED, server_default="accepted"))
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str = Field(default="", sa_column=_text())
    decision_note_redacted: str = Field(default="", sa_column=redacted_column())
