"""The case and the people around it. The complainant lives apart so it can be kept confidential."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import field_validator
from sqlalchemy import DDL, Boolean, Column, Index, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import Field, SQLModel

from duban import phones
from duban.models.base import UTCDateTime, redacted_column


class Complainant(SQLModel, table=True):
    """Who complained (反映人): never shown to a handling unit unless consent_disclose."""

    __tablename__ = "complainants"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=60)
    phone: str = Field(default="", max_length=32)
    # Where a real-name complainant's notices go besides the phone (duban/services/notices.py):
    # identity, read and masked like the phone.
    email: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=200)
    real_name: bool = False
    consent_disclose: bool = False


class Subject(SQLModel, table=True):
    """What is complained about (被反映对象): a known org, or a named person or enterprise."""

    __tablename__ = "subjects"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, index=True)  # the list filter "被反映单位" asks by name
    kind: str = Field(default="unit", max_length=16)  # unit | person | enterprise | other
    org_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)
    # How org_id was found (duban.services.subjects): code, name, or "" for a person or an
    # enterprise; ambiguous, unknown and conflict are flagged for the dispatcher.
    resolution: str = Field(default="", sa_column=Column(String(16), nullable=False, default="",
                                                         server_default=""))


class CaseBase(SQLModel):
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    category: str = Field(default="other", max_length=32)
    channel: str = Field(default="phone", max_length=16)
    priority: str = Field(default="normal", max_length=16)


class Case(CaseBase, table=True):
    """A case, with two offices: the one that received it and the office of record.

    `office_id` is the office that received the case (受理): its number, its level and the
    reports' counts by receiving office stay with it for good. `record_office_id` is the office of
    record when another office took the case over: 提级直办 (an office above took it to handle
    directly), or avoidance handing it to an office above. The office of record reviews, approves,
    calls back and presses; the receiving office keeps reading the case. None: the receiving office
    is the office of record. The office of record is always the receiving office or one above it
    (duban.services.routing.take_over), so whoever may see the receiving office's cases, and its
    complainants' identity, may see the office of record's too.
    """

    __tablename__ = "cases"
    __table_args__ = (
        # Work lists and sweeps: open cases by deadline, most urgent first.
        Index("ix_cases_state_deadline", "state", "deadline_on"),
        Index("ix_cases_unit_state", "unit_id", "state"),
        Index("ix_cases_office_received", "office_id", "received_at"),
        # Revisits (回头看) sample cases closed a while ago.
        Index("ix_cases_state_closed", "state", "closed_at"),
        # Reports (duban.reports): cases received in a period; closed in a period, and open ones
        # (closed_at IS NULL) past their deadline.
        Index("ix_cases_received_at", "received_at"),
        Index("ix_cases_closed_deadline", "closed_at", "deadline_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    office_id: int = Field(foreign_key="orgs.id")  # the office that received it
    record_office_id: int | None = Field(default=None, foreign_key="orgs.id")  # see the docstring
    level: str = Field(max_length=16, index=True)  # the receiving office's level
    # No index of its own: (state, deadline_on) and (state, closed_at) serve `state = …` as well.
    state: str = Field(sa_column=Column(String(32), nullable=False))
    disposition: str | None = Field(default=None, sa_column=Column(String(16), index=True))
    # 不予受理: the reason (policy [intake.decline_reasons]) while the case is not_accepted.
    decline_reason: str | None = Field(default=None, max_length=32)
    unit_id: int | None = Field(default=None, foreign_key="orgs.id")
    # indexed: the list filter "被反映单位" finds an org's few hundred cases among a million
    subject_id: int | None = Field(default=None, foreign_key="subjects.id", index=True)
    complainant_id: int | None = Field(default=None, foreign_key="complainants.id")
    priority_rank: int = 2
    matter_key: str = Field(default="", sa_column=Column(String(64), nullable=False, index=True))
    # title and summary with identity cut out, for readers without the right to see it.
    title_redacted: str = Field(default="", sa_column=redacted_column())
    summary_redacted: str = Field(default="", sa_column=redacted_column())

    received_at: dt.datetime = Field(sa_type=UTCDateTime)
    dispatched_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)

    # The running time limit: stored so sweeps find what is due with an index, and with what it
    # was computed from so a calendar change can recompute it.
    deadline_kind: str | None = Field(default=None, max_length=16)
    deadline_start: dt.date | None = None
    deadline_days: int | None = None
    deadline_unit: str | None = Field(default=None, max_length=16)
    extension_days: int = 0
    # The unit of extension_days (policy [extension] unit when granted); None: calendar days.
    extension_unit: str | None = Field(default=None, max_length=16)
    deadline_on: dt.date | None = None
    deadline_provisional: bool = False

    # Kept for the engine (duban.services.pressure), so that a sweep finds its work with an index.
    # deadline_seq numbers the limits a case has run (one escalation-ladder episode each); warning
    # is the stored colour dashboards count by; sweep_due_on is the next day a sweep must look at
    # the case: never later than its next colour change, ladder step or progress reminder (earlier
    # only costs a visit); progress_due_on is when a key-supervised case's next 专报 is due.
    deadline_seq: int = 0
    warning: str = Field(default="none", sa_column=Column(String(8), nullable=False, default="none",
                                                         server_default="none", index=True))
    sweep_due_on: dt.date | None = Field(default=None, index=True)
    progress_due_on: dt.date | None = None
    # The deadline a unit missed on this handling run when a raise (step_up, 提级直办) started a
    # new limit: the case still counts overdue from it (deadlines.counted_deadline) until the unit
    # reports. None when no raise has carried a missed deadline.
    missed_deadline_on: dt.date | None = Field(default=None, index=True)
    # 移交纪检监察机关 (models/referral.py): the commission and the referring office of the case's
    # referral, kept on the case so that every list and page scopes it with the case's own row,
    # and the day the next notice to the reporter is due (a sweep reminds the commission when late).
    # (No foreign keys here: see migration 0008; the referral row holds the checked references.)
    referred_to_id: int | None = Field(default=None, index=True)
    referred_from_id: int | None = None
    notice_due_on: dt.date | None = None
    # 签收: the unit handling the case acknowledged it (when, who). Every handover to a new unit
    # clears both and sets sign_due_on, the day the unit must have signed by (policy
    # [deadlines.sign_for]); signing clears it. A late unit is reminded once per handover.
    signed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_by: str | None = Field(default=None, max_length=80)
    sign_due_on: dt.date | None = None
    # 复查 / 复核 (models/review.py, duban.services.reviews): when the complainant was last given an
    # answer (the approved reply, or a review's opinion that upheld it), from which the window to
    # ask for the next review runs; the review level last asked for and the office reviewing it
    # (it sees and decides the case meanwhile); when the case was concluded (终结, after 复核).
    # (No foreign key on review_office_id, as for referred_to_id: the request row holds it.)
    replied_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_level: str | None = Field(default=None, max_length=16)
    review_office_id: int | None = Field(default=None, index=True)
    concluded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)

    # 二次交办 (duban.services.delegation): the department the handling unit (a government) passed
    # the case on to, and whether that department's report waits for the government's review.
    # unit_id stays the government: it answers for the case. (No foreign key: see migration 0008.)
    delegate_id: int | None = Field(default=None, index=True)
    delegate_report_pending: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, default=False, server_default=false()))

    return_count: int = 0
    repeat_count: int = 0
    version: int = 1
    audit_seq: int = 0
    audit_hash: str = Field(default="", max_length=64)

    def __setattr__(self, name: str, value: Any) -> None:
        # Columns go straight to SQLAlchemy's instrumentation. SQLModel would also run pydantic's
        # __setattr__ (no validation on assignment here), dozens of times an action: a large share
        # of an action's time (docs/bench.md).
        if name in _CASE_COLUMNS and "_sa_instance_state" in self.__dict__:
            set_attribute(self, name, value)
        else:
            super().__setattr__(name, value)


_CASE_COLUMNS = frozenset(Case.__table__.columns.keys())  # type: ignore[attr-defined]


class CaseCreate(CaseBase):
    office_code: str
    complainant_name: str = ""
    complainant_phone: str = ""

    @field_validator("complainant_phone")
    @classmethod
    def _phone_as_stored(cls, value: str) -> str:
        """A Chinese phone as its digits however typed (139-1234-5678): found by any search of it."""
        return phones.stored(value)

    complainant_email: str = ""
    complainant_address: str = ""
    complainant_real_name: bool = False
    complainant_consent: bool = False
    subject_name: str = ""
    subject_kind: str = "unit"
    subject_org_code: str | None = None
    repeat_of: str | None = None
    received_at: dt.datetime | None = None


class CaseNumberSeq(SQLModel, table=True):
    """Readable case numbers per receiving office and year (GS-LZ-2023-00012)."""

    __tablename__ = "case_number_seqs"
    __table_args__ = (UniqueConstraint("office_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    office_id: int = Field(foreign_key="orgs.id")
    year: int
    last: int = 0


class RepeatContact(SQLModel, table=True):
    """A repeat complaint linked to the open case it repeats, not opened twice."""

    __tablename__ = "repeat_contacts"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    complainant_id: int | None = Field(default=None, foreign_key="complainants.id")
    # Whom this complaint is about, when it says: avoidance keeps the case from it as well.
    subject_id: int | None = Field(default=None, foreign_key="subjects.id")
    channel: str = Field(default="phone", max_length=16)
    title: str = Field(max_length=200)
    title_redacted: str = Field(default="", sa_column=redacted_column())
    received_at: dt.datetime = Field(sa_type=UTCDateTime)


# Work order (duban.services.search.order_by): open cases first, then priority, then deadline, the
# cases without one last. An index on expressions, so it is made here rather than declared in
# `__table_args__` (SQLite's reflection skips such an index with a warning, and the comparison of
# models with migrations would miss it); duban.schema.include_object leaves it out of that
# comparison, and migrations 0027 (SQLite) and 0028 (PostgreSQL) make it on databases made before.
# It lets a list sorted in work order, and a search for a common word, read the first cases in
# order instead of sorting them all. After the order (id is unique: nothing after it sorts), the
# columns the lists filter by (migration 0031): a list walking the order rejects a case its
# filters leave out (a date range, a category, a region, a colour's deadlines) in the index,
# without reading its row.
WORK_ORDER_INDEX = "ix_cases_work_order"
WORK_ORDER_KEYS = "(state = 'closed'), priority_rank, (deadline_on IS NULL), deadline_on, id"
WORK_ORDER_FILTERS = ("state, disposition, received_at, category, channel, office_id, unit_id, subject_id, "
                      "deadline_start, missed_deadline_on")


def work_order_ddl(*, filters: bool = True) -> str:
    """The work-order index (without `filters`: as migrations 0027 and 0028 made it)."""
    more = f", {WORK_ORDER_FILTERS}" if filters else ""
    return f"CREATE INDEX IF NOT EXISTS {WORK_ORDER_INDEX} ON cases ({WORK_ORDER_KEYS}{more})"


WORK_ORDER_DDL = work_order_ddl()
event.listen(Case.__table__, "after_create", DDL(WORK_ORDER_DDL))  # type: ignore[attr-defined]


# PostgreSQL: the columns naming an org keep statistics of every org's share of the cases (an org
# is one of a few hundred values; the default target of 100 keeps the commonest only and guesses
# the rest from an average). A county's list was planned as though its offices held 45,000 cases
# (they hold 6,600) and walked the date index of the whole province (migration 0031).
ORG_COLUMNS = ("office_id", "unit_id", "record_office_id", "review_office_id", "delegate_id",
               "referred_to_id")
ORG_STATISTICS = 1000


def org_statistics_ddl(target: int = ORG_STATISTICS) -> str:
    """PostgreSQL: the statistics target of the org columns (-1: the server's default)."""
    return "ALTER TABLE cases " + ", ".join(f"ALTER COLUMN {c} SET STATISTICS {target}" for c in ORG_COLUMNS)


event.listen(Case.__table__, "after_create",  # type: ignore[attr-defined]
             DDL(org_statistics_ddl()).execute_if(dialect="postgresql"))


# PostgreSQL: each case's id beside the columns a reader's scope asks of it
# (duban.services.queries.scope_clauses) and those the lists filter by
# (duban.services.search.filter_clauses). A search's count asks the list of every case the text
# index finds, one by one by its id (duban.services.search.matched_driven): with this index it
# reads the index alone, not the case's row (about half the cost of a common word's count at a
# million cases; migration 0033). And the deadlines a colour's list compares (0043), and the rest
# of the work order and of a colour (0046): a match brings its place in the order
# (duban.services.search.work_order_key) from the same index row, and a colour is worked out from
# it. SQLite reaches a row by its rowid directly and has no such index.
SCOPE_INDEX = "ix_cases_scope"
SCOPE_COLUMNS = ("state", "disposition", "office_id", "unit_id", "delegate_id", "referred_to_id",
                 "referred_from_id", "record_office_id", "review_office_id", "delegate_report_pending",
                 "category", "channel", "received_at", "subject_id")
DEADLINE_COLUMNS = ("deadline_on", "missed_deadline_on")
PLACE_COLUMNS = ("priority_rank", "deadline_start")


def scope_ddl(*, dated: bool = True, placed: bool = True) -> str:
    """PostgreSQL: the scope index's CREATE (without `dated`, as before migration 0043; without
    `placed`, as before 0046)."""
    columns = (*SCOPE_COLUMNS, *(DEADLINE_COLUMNS if dated else ()), *(PLACE_COLUMNS if placed else ()))
    return f"CREATE INDEX IF NOT EXISTS {SCOPE_INDEX} ON cases (id) INCLUDE ({', '.join(columns)})"


event.listen(Case.__table__, "after_create",  # type: ignore[attr-defined]
             DDL(scope_ddl()).execute_if(dialect="postgresql"))


# A unit's cases by their time of receipt, the twin of ix_cases_office_received, so that a
# region's list of a date range is read from its offices' and its units' cases received then (a
# county's since June, 3,577 of a million: 44 ms on PostgreSQL). Without it PostgreSQL walked
# every case received since that day (200,000: 90–130 ms), the units' side costing a read of all
# their cases (migration 0044); SQLite, whose planner guesses a range of days to hold one case in
# 64, read the whole range by the receipts' index for a region of ten offices and ten units (a
# small city's half year, 3,447 cases of 166,000 read: 68 ms; by the two: 14; migration 0048).
UNIT_RECEIVED_INDEX = "ix_cases_unit_received"
UNIT_RECEIVED_DDL = f"CREATE INDEX IF NOT EXISTS {UNIT_RECEIVED_INDEX} ON cases (unit_id, received_at)"

event.listen(Case.__table__, "after_create", DDL(UNIT_RECEIVED_DDL))  # type: ignore[attr-defined]
