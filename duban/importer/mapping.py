"""From a ledger row to a `CaseCreate`: which column is which, and what the cells mean.

Offices name their columns differently (反映人 / 反映人姓名 / 姓名) and write values in Chinese
(渠道 = 监督电话, 实名 = 是): headers and aliases come from config/labels.toml [ledger], values are
read as the English key or its Chinese label. Every problem is reported against its column, and
all problems of a row are reported together, so an office fixes a file in one pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from duban.clock import SHANGHAI, as_utc
from duban.config.policy import Labels
from duban.models import CaseCreate
from duban.workcal import COVERAGE, receivable

# CaseCreate fields read from a ledger, plus the office's own row id (台账编号).
FIELDS = ("ledger_id", "office_code", "received_at", "channel", "category", "priority", "title",
          "summary", "complainant_name", "complainant_phone", "complainant_email",
          "complainant_address", "complainant_real_name",
          "complainant_consent", "subject_name", "subject_kind", "subject_org_code")
REQUIRED = ("title",)
CHOICES = {"channel": "channels", "category": "categories", "priority": "priorities"}
BOOLEANS = ("complainant_real_name", "complainant_consent")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ParsedRow:
    row: int
    data: CaseCreate
    ledger_id: str

    def key(self) -> str:
        """What makes a row the same row on re-import: its ledger id, else its content."""
        if self.ledger_id:
            return f"ledger:{self.data.office_code}:{self.ledger_id}"[:80]
        body = json.dumps(self.data.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
        return "content:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def column_map(headers: list[str], labels: Labels) -> dict[str, str]:
    """Field -> header present in the file (first match of label, aliases, or English name)."""
    present = {h.strip(): h for h in headers if h}
    out: dict[str, str] = {}
    for name in FIELDS:
        names = [labels.ledger.get(name, name), *labels.ledger.get(f"{name}_aliases", "").split("|"),
                 name]
        for candidate in names:
            if candidate and candidate in present:
                out[name] = present[candidate]
                break
    return out


def header_of(field: str, columns: Mapping[str, str], labels: Labels) -> str:
    return columns.get(field) or labels.ledger.get(field, field)


class RowParser:
    """Parses rows of one file; built once per file (lookup tables, column map)."""

    def __init__(self, headers: list[str], labels: Labels, *, default_office: str | None = None) -> None:
        self.labels = labels
        self.columns = column_map(headers, labels)
        self.default_office = default_office
        self.choices = {field: _choices(getattr(labels, table)) for field, table in CHOICES.items()}
        kinds = dict(pair.split("=", 1) for pair in labels.ledger.get("subject_kinds", "").split("|")
                     if "=" in pair)
        self.kinds, self.kind_labels = _choices(kinds), labels.text["list_sep"].join(kinds.values())
        # The fields to read from each row: those the file has a column for, and required ones.
        self.read = [(f, self.columns.get(f)) for f in FIELDS if f in self.columns or f in REQUIRED]
        self.yes = set(labels.ledger.get("yes_values", "").split("|")) - {""}
        self.no = set(labels.ledger.get("no_values", "").split("|")) - {""}

    def missing_columns(self) -> list[str]:
        needed = list(REQUIRED) + ([] if self.default_office else ["office_code"])
        return [self.labels.ledger.get(f, f) for f in needed if f not in self.columns]

    def header(self, field: str) -> str:
        return header_of(field, self.columns, self.labels)

    def parse(self, row: int, values: Mapping[str, Any]) -> ParsedRow | list[RowError]:
        errors: list[RowError] = []
        fields: dict[str, Any] = {}
        g = self.labels.ledger

        def fail(field: str, reason: str) -> None:
            errors.append(RowError(row, self.header(field), reason))

        for field, column in self.read:
            raw = values.get(column) if column is not None else None
            text = _text(raw)
            if field in REQUIRED and not text:
                fail(field, g["err_required"])
                continue
            if not text and not isinstance(raw, dt.datetime | dt.date):
                continue
            if field in CHOICES:
                key = self.choices[field].get(text)
                if key is None:
                    fail(field, g["err_choice"].format(allowed=self.labels.text[
                        "list_sep"].join(getattr(self.labels, CHOICES[field]).values())))
                fields[field] = key
            elif field == "subject_kind":
                key = self.kinds.get(text)
                if key is None:
                    fail(field, g["err_choice"].format(allowed=self.kind_labels))
                fields[field] = key
            elif field in BOOLEANS:
                if text in self.yes:
                    fields[field] = True
                elif text in self.no:
                    fields[field] = False
                else:
                    fail(field, g["err_bool"])
            elif field == "received_at":
                when = parse_time(raw)
                if when is None:
                    fail(field, g["err_date"])
                elif not receivable(when):  # before 2004 the calendar cannot set its deadlines
                    fail(field, g["err_date_range"].format(coverage=COVERAGE))
                fields[field] = when
            else:
                fields[field] = text
        office: str = fields.pop("office_code", None) or self.default_office or ""
        if not office:
            fail("office_code", g["err_required"])
        ledger_id = fields.pop("ledger_id", "") or ""
        if errors:
            return errors
        try:
            data = CaseCreate(office_code=office, **{k: v for k, v in fields.items() if v is not None})
        except ValidationError as exc:  # a title too long for the column, and the like
            return [RowError(row, self.header(str(e["loc"][0]) if e["loc"] else ""), e["msg"])
                    for e in exc.errors()]
        return ParsedRow(row, data, ledger_id)


def _choices(table: Mapping[str, str]) -> dict[str, str]:
    """Accepted spellings -> key: the key itself and its Chinese label."""
    out = {key: key for key in table}
    out.update({label: key for key, label in table.items()})
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number or ledger id read from Excel as 1.39e10
    return str(value).strip()


_CHINESE_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?\s*(?:(\d{1,2})[时:：](\d{1,2})?分?)?")


def parse_time(value: Any) -> dt.datetime | None:
    """A cell as an aware UTC time; wall times without zone are Beijing time."""
    if isinstance(value, dt.datetime):
        return _utc(value if value.tzinfo else value.replace(tzinfo=SHANGHAI))
    if isinstance(value, dt.date):
        return _utc(dt.datetime(value.year, value.month, value.day, tzinfo=SHANGHAI))
    text = _text(value)
    match = _CHINESE_DATE.fullmatch(text)
    if match:
        y, m, d, hh, mm = match.groups()
        text = f"{y}-{int(m):02d}-{int(d):02d} {int(hh or 0):02d}:{int(mm or 0):02d}"
    text = text.replace("/", "-")
    text = re.sub(r"^(\d{4})-(\d{1,2})-(\d{1,2})", lambda m_: f"{m_[1]}-{int(m_[2]):02d}-{int(m_[3]):02d}",
                  text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return _utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI))


def _utc(when: dt.datetime) -> dt.datetime:
    """In UTC; a time at the edge of what datetime holds (year 1, 9999) stays as it is, for the
    range check to refuse rather than an OverflowError to stop the import."""
    try:
        return as_utc(when)
    except OverflowError:
        return when
