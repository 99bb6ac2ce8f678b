"""The online channel's texts and limits (config/public.toml), validated at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from duban.config.policy import _read, _validate


class PublicLimits(BaseModel):
    file_per_window: int = Field(default=5, ge=1)
    file_window_minutes: int = Field(default=60, ge=1)
    follow_failures: int = Field(default=10, ge=1)
    follow_window_minutes: int = Field(default=15, ge=1)
    posts_per_window: int = Field(default=60, ge=1)
    posts_window_minutes: int = Field(default=10, ge=1)
    max_body_bytes: int = Field(default=65536, ge=1024, le=512 * 1024)
    challenge_minutes: int = Field(default=10, ge=1, le=120)
    client_header: str = ""
    trusted_proxies: list[str] = Field(default_factory=list)
    source: str = ""


class PublicLengths(BaseModel):
    title: int = Field(default=100, ge=10, le=200)
    summary: int = Field(default=5000, ge=100, le=20000)
    subject: int = Field(default=120, ge=10, le=120)
    name: int = Field(default=60, ge=2, le=60)
    phone: int = Field(default=32, ge=8, le=32)
    comment: int = Field(default=500, ge=10, le=5000)
    reason: int = Field(default=1000, ge=10, le=5000)


class PublicConfig(BaseModel):
    limits: PublicLimits = Field(default_factory=PublicLimits)
    lengths: PublicLengths = Field(default_factory=PublicLengths)
    states: dict[str, str]
    ratings: dict[str, str]
    text: dict[str, str | list[str]]

    def state(self, state: str) -> str:
        """The state in plain words; a state the file does not name reads as its default."""
        return self.states.get(state) or self.states["default"]

    def t(self, key: str) -> str:
        value = self.text[key]
        return value if isinstance(value, str) else "".join(value)


def load_public(override_dir: Path | None = None) -> PublicConfig:
    data, source = _read("public.toml", override_dir)
    config = _validate(PublicConfig, data, source)
    assert isinstance(config, PublicConfig)
    return config


@lru_cache(maxsize=1)
def get_public() -> PublicConfig:
    from duban.config.settings import get_settings

    return load_public(get_settings().override_dir)
