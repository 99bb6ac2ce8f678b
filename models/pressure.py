"""What the engine's pressure leaves behind: ladder steps fired, interviews to hold, callbacks to make.

`PressureStep` is the engine's memory of what it has done to a case in one episode (one running
limit, one progress period, one verification, one closing). Its UNIQUE constraint is what makes a
second sweep racing the first fail inside its own transaction rather than fire a step twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime, redacted_column


class PressureStep(SQLModel, table=True):
    """One step the engine took on a case in one episode (a ladder step, a reminder, a sampling)."""

    __tablename__ = "pressure_steps"
    __table_args__ = (UniqueConstraint("case_id", "episode", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    # h<deadline_seq> (a handling limit), p<date> (a progress period), v<deadline_seq> (a
    # verification awaiting callback), c<date> (a closing, for 回头看).
    episode: str = Field(max_length=24)
    step: str = Field(max_length=32)  # the action, or the reminder/sampling it stands for
    outcome: str = Field(default="done", max_length=16)  # done | queued | skipped | proposed | uncallable
    at: dt.datetime = Field(sa_type=UTCDateTime)


class PressureProposal(SQLModel, table=True):
    """A ladder step in "propose" mode that fell due: the engine proposes, a person decides.

    One per (case, episode, step), beside the step's `PressureStep` row (outcome "proposed"). A
    supervisor or leader confirms it (the action fires then, as them), changes it to another
    ladder action, or dismisses it, with a reason; `taken_action` is what finally fired.
    """

    __tablename__ = "pressure_proposals"
    __table_args__ = (
        UniqueConstraint("case_id", "episode", "step"),
        Index("ix_pressure_proposals_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    episode: str = Field(max_length=24)
    step: str = Field(max_length=32)
    action: str = Field(max_length=32)  # the ladder action proposed
    proposed_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=16)  # open | confirmed | changed | dismissed
    decided_by: str = Field(default="", max_length=80)
    decided_role: str = Field(default="", max_length=16)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reason_redacted: str = Field(default="", sa_column=redacted_column())
    taken_action: str = Field(default="", max_length=32)  # "" until confirmed or changed


class Interview(SQLModel, table=True):
    """约谈: the ladder records that the office must interview a late unit's responsible people."""

    __tablename__ = "interviews"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="orgs.id")
    office_id: int = Field(foreign_key="orgs.id")
    status: str = Field(default="to_hold", max_length=16)  # to_hold | held
    requested_at: dt.datetime = Field(sa_type=UTCDateTime)
    # Held: the start of the day it was held (Asia/Shanghai), and its minutes (纪要) in `note`.
    held_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    note_redacted: str = Field(default="", sa_column=redacted_column())


class CallbackTask(SQLModel, table=True):
    """The callback queue: 抽查回访 of a verified case, or 回头看 of one closed a while ago."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "episode"),
        Index("ix_callback_tasks_status_kind", "status", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # callback | revisit
    episode: str = Field(max_length=24)
    reason: str = Field(default="sampled", max_length=16)  # sampled | real_name
    status: str = Field(default="open", max_length=16)  # open | done
    queued_at: dt.datetime = Field(sa_type=UTCDateTime)
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: str = Field(default="", max_length=32)  # the action that closed it
    # 分派回访 (migration 0023): the callback officer (a user name) it was given to, and when.
    assignee: str = Field(default="", max_length=60, sa_column_kwargs={"server_default": ""})
    assigned_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
