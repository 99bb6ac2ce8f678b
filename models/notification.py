"""The outbox: every email Duban sends is a row here first, written in the action's transaction.

A delivery run claims rows (pending → sending, with a lease so a crashed sender's claims expire),
sends them, and marks them sent. Subject and body are rendered when the row is written, so what
was sent is what the action decided, confidentiality rules applied then and there.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    kind: str = Field(max_length=32)  # the template (config/notifications.toml)
    audience: str = Field(max_length=16)  # unit | unit_head | government | office | complainant
    # email: to_address is an e-mail address; sms: a mobile number, sent through the SMS gateway
    # (duban/notify/sms.py) with `params`, the template code and its parameters as JSON.
    channel: str = Field(default="email", sa_column=Column(String(8), nullable=False, default="email",
                                                           server_default="email"))
    params: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    org_id: int | None = Field(default=None, foreign_key="orgs.id")
    to_address: str = Field(default="", max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    # Unique per notification: a message re-sent after a crash between the server's acceptance
    # and our "sent" mark carries the same Message-ID, so the duplicate is detectable downstream.
    message_id: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    # Set for messages not tied to one action (the monthly reminder): one per key, ever.
    dedupe_key: str | None = Field(default=None, sa_column=Column(String(120), unique=True))
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime)
    claimed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claim_token: str | None = Field(default=None, max_length=32)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
