"""What a client sends, checked before anything reads it: the models the JSON API and the pages
share (a registration is the same form on both). Each refuses broken text and deep nesting at the
door (`textcheck`), and a field a model does not declare."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from duban.present.textcheck import MAX_DEPTH, text_problem
from duban.workcal import COVERAGE, COVERAGE_MESSAGE, receivable

Priority = Literal["livelihood", "enterprise", "normal"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_broken_text(cls, value: Any) -> Any:
        problem = text_problem(value, depth=1)
        if problem is not None:
            where = f"{problem.where}: " if problem.where else ""
            raise PydanticCustomError(problem.kind, where + problem.message,
                                      {"max_depth": MAX_DEPTH} if problem.kind == "too_deep" else None)
        return value


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


class CaseIn(_In):
    """A complaint to register. Codes (category, channel, priority) are the keys in labels.toml."""

    office_code: str = Field(min_length=1, max_length=40, description="receiving office, e.g. GS-LZ")
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=20000)
    category: str = Field(default="other", max_length=32)
    channel: str = Field(default="phone", max_length=16)
    priority: Priority = "normal"
    complainant_name: str = Field(default="", max_length=60)
    complainant_phone: str = Field(default="", max_length=32, pattern=r"^[0-9+\- ()]*$")
    complainant_email: str = Field(default="", max_length=120, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$",
                                   description="where notices go besides the phone (kept confidential)")
    complainant_real_name: bool = False
    complainant_consent: bool = Field(default=False, description="may the handling unit see who it is")
    subject_name: str = Field(default="", max_length=120)
    subject_kind: Literal["unit", "person", "enterprise", "other"] = "unit"
    subject_org_code: str | None = Field(default=None, max_length=40)
    repeat_of: str | None = Field(default=None, max_length=40)
    received_at: AwareDatetime | None = Field(default=None, description="with a timezone; default now")

    @field_validator("received_at")
    @classmethod
    def _plausible_date(cls, value: dt.datetime | None) -> dt.datetime | None:
        """Within the working-day calendar's years: its deadlines must be computable."""
        if value is None or receivable(value):
            return value
        raise PydanticCustomError("date_out_of_range", COVERAGE_MESSAGE, {"coverage": COVERAGE})


class ActionIn(_In):
    expected_version: int | None = Field(
        default=None, ge=1, description="the version you saw; 409 stale_case if it changed since")
    form: dict[str, Any] = Field(default_factory=dict, description="the action's form (GET /api/meta/forms)")

    @field_validator("*", mode="before")
    @classmethod
    def _no_broken_text(cls, value: Any) -> Any:
        return value  # the route checks the form, naming the form's own field (as the service does)
