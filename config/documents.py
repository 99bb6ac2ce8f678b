"""The official documents' kinds, wording, numbering marks and fonts (config/documents.toml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from duban.config.policy import _read, _validate


class DocumentKind(BaseModel):
    label: str
    mark: str = Field(min_length=1, max_length=4)
    issuers: list[str]
    dispositions: list[str]
    identity: Literal["recipient", "never"]
    title: str
    to: str
    body: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)


class Fonts(BaseModel):
    title: list[str]
    body: list[str]
    heading: list[str]
    kai: list[str]
    source: str = ""


class Downloads(BaseModel):
    xlsx_rows: int = Field(default=100000, ge=1, le=1000000)
    pdf_rows: int = Field(default=2000, ge=1, le=20000)
    source: str = ""


class FactNames(BaseModel):
    """The row names of a 交办单's table, in the order it prints them."""

    number: str
    received: str
    channel: str
    category: str
    complainant: str
    subject: str
    matter: str
    summary: str
    disposition: str
    deadline: str


class DocumentsConfig(BaseModel):
    source: str = Field(min_length=1)
    marks: dict[str, str]
    kinds: dict[str, DocumentKind]
    status: dict[str, str]
    facts: FactNames
    fonts: Fonts
    downloads: Downloads = Field(default_factory=Downloads)

    @field_validator("marks")
    @classmethod
    def _marks_are_short(cls, marks: dict[str, str]) -> dict[str, str]:
        for code, mark in marks.items():
            if code != "source" and not 1 <= len(mark) <= 4:
                raise ValueError(f"mark of {code} must be 1 to 4 characters")
        return marks

    def region_mark(self, code: str, office_name: str) -> str:
        """The office's region mark: listed, else the first character of its name."""
        return self.marks.get(code) or office_name[:1]


def load_documents(override_dir: Path | None = None) -> DocumentsConfig:
    data, source = _read("documents.toml", override_dir)
    config = _validate(DocumentsConfig, data, source)
    assert isinstance(config, DocumentsConfig)
    return config


@lru_cache(maxsize=1)
def get_documents() -> DocumentsConfig:
    from duban.config.settings import get_settings

    return load_documents(get_settings().override_dir)
