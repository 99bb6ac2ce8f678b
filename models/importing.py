"""Rows imported from offices' Excel/CSV ledgers, so that re-importing a file creates nothing twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from duban.models.base import UTCDateTime


class ImportedRow(SQLModel, table=True):
    """One ledger row already registered: written in the same transaction as its case.

    `key` is "ledger:<台账编号>" when the file names its rows, else "content:<sha256 of the row's
    values>"; its uniqueness is what makes an import idempotent, even when two imports race.
    """

    __tablename__ = "imports"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(80), unique=True, nullable=False))
    case_id: int = Field(foreign_key="cases.id", index=True)
    linked: bool = False  # the row repeated an open case and was linked to it
    source: str = Field(default="", max_length=200)  # file name, for the person asking "where from?"
    row: int = 0
    imported_by: str = Field(default="", max_length=80)
    imported_at: dt.datetime = Field(sa_type=UTCDateTime)
