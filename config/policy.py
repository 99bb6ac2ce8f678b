"""Policy and labels, read from TOML and validated at start.

Packaged defaults live beside this module; an office's override folder (DUBAN_CONFIG_DIR) may hold
`policy.toml` and `labels.toml` whose keys replace the defaults one by one.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from duban.errors import ConfigError

Unit = Literal["workdays", "days"]
PRIORITIES = ("livelihood", "enterprise", "normal")


class Limit(BaseModel):
    days: int = Field(ge=1, le=366)
    unit: Unit = "workdays"
    source: str = ""


class HandlingLimits(BaseModel):
    source: str = ""
    normal: Limit
    enterprise: Limit
    livelihood: Limit

    def for_priority(self, priority: str) -> Limit:
        return getattr(self, priority)  # type: ignore[no-any-return]


class Deadlines(BaseModel):
    triage: Limit
    review: Limit
    callback: Limit
    progress: Limit
    objection: Limit
    handling: dict[str, HandlingLimits]


class Extension(BaseModel):
    max_days: int = Field(ge=1, le=366)
    max_count: int = Field(ge=0)
    source: str = ""


class Priorities(BaseModel):
    order: list[str]

    def rank(self, priority: str) -> int:
        return self.order.index(priority)


class Warnings(BaseModel):
    blue_fraction_left: float = Field(gt=0, lt=1)
    yellow_workdays_left: int = Field(ge=0)
    source: str = ""


class RankingWeights(BaseModel):
    response: float = Field(default=0.3, ge=0)
    resolution: float = Field(default=0.4, ge=0)
    satisfaction: float = Field(default=0.3, ge=0)


class ReportPolicy(BaseModel):
    """What the leaders' reports count and whom they go to (duban.reports)."""

    supervision_actions: list[str] = Field(default_factory=lambda: [
        "remind", "copy_notice", "work_reminder", "interview", "public_notice"])
    ranking: RankingWeights = Field(default_factory=RankingWeights)
    ranking_min_cases: int = Field(default=1, ge=1)
    top_units: int = Field(default=10, ge=1)
    # Office code -> leaders' addresses; an office not listed gets its own head_email.
    recipients: dict[str, list[str]] = Field(default_factory=dict)
    source: str = ""


class Policy(BaseModel):
    deadlines: Deadlines
    extension: Extension
    priorities: Priorities
    warnings: Warnings
    roles: dict[str, list[str]]
    reports: ReportPolicy = Field(default_factory=ReportPolicy)

    def handling_limit(self, disposition: str, priority: str) -> Limit:
        return self.deadlines.handling[disposition].for_priority(priority)


class Labels(BaseModel):
    states: dict[str, str]
    dispositions: dict[str, str]
    actions: dict[str, str]
    guards: dict[str, str]
    priorities: dict[str, str]
    levels: dict[str, str]
    kinds: dict[str, str]
    channels: dict[str, str]
    categories: dict[str, str]
    warnings: dict[str, str]
    deadline_kinds: dict[str, str]
    roles: dict[str, str]
    text: dict[str, str]
    # Form field labels and Chinese validation and error messages (duban.api, duban.web).
    fields: dict[str, str] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)
    # Reports, rates and ledgers (duban.reports, duban.importer); empty when a file predates them.
    report: dict[str, str] = Field(default_factory=dict)
    rates: dict[str, str] = Field(default_factory=dict)
    supervision: dict[str, str] = Field(default_factory=dict)
    ledger: dict[str, str] = Field(default_factory=dict)

    def of(self, table: str, key: str | None) -> str:
        """The Chinese label of a key, or the key itself so a gap shows rather than crashes."""
        if key is None:
            return ""
        return getattr(self, table).get(key, key)  # type: ignore[no-any-return]


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(name: str, override_dir: Path | None) -> tuple[dict, str]:
    source = f"duban/config/{name}"
    data = tomllib.loads((resources.files("duban.config") / name).read_text(encoding="utf-8"))
    if override_dir is not None and (override_dir / name).is_file():
        path = override_dir / name
        try:
            data = _merge(data, tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source=str(path), key="(file)", message=str(exc)) from exc
        source = f"{source} + {path}"
    return data, source


def _validate(model: type[BaseModel], data: dict, source: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(source=source, key=key, message=first["msg"]) from exc


def load_policy(override_dir: Path | None = None) -> Policy:
    data, source = _read("policy.toml", override_dir)
    policy = _validate(Policy, data, source)
    assert isinstance(policy, Policy)
    if sorted(policy.priorities.order) != sorted(PRIORITIES):
        raise ConfigError(source=source, key="priorities.order", message=f"must list {PRIORITIES}")
    return policy


def load_labels(override_dir: Path | None = None) -> Labels:
    data, source = _read("labels.toml", override_dir)
    labels = _validate(Labels, data, source)
    assert isinstance(labels, Labels)
    return labels


@lru_cache(maxsize=1)
def get_policy() -> Policy:
    from duban.config.settings import get_settings

    return load_policy(get_settings().override_dir)


@lru_cache(maxsize=1)
def get_labels() -> Labels:
    from duban.config.settings import get_settings

    return load_labels(get_settings().override_dir)
