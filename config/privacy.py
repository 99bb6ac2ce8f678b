"""The word lists the redactor finds people by (privacy.toml), read as policy.py reads its files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from duban.config.policy import _read, _validate

_CJK_LOW, _CJK_HIGH = "\u3400", "\u9fff"
_SURNAME_LINES = ("surnames", "prefixed_surnames")  # lines of one-character surnames


class PrivacyWords(BaseModel):
    """Surnames, honorifics and the words that look like a person but are not one."""

    source: str = ""
    surnames: list[str]
    compound_surnames: list[str] = Field(default_factory=list)
    names_without_surname: list[str] = Field(default_factory=list)
    honorifics: list[str]
    prefixes: list[str] = Field(default_factory=list)
    prefixed_surnames: list[str] = Field(default_factory=list)
    not_names: list[str] = Field(default_factory=list)
    placeholder_names: list[str] = Field(default_factory=list)
    registered_titles: list[str] = Field(default_factory=list)
    name_labels: list[str] = Field(default_factory=list)
    name_ends: list[str] = Field(default_factory=list)
    named_compounds: list[str] = Field(default_factory=list)
    self_labels: list[str] = Field(default_factory=list)
    named_self_labels: list[str] = Field(default_factory=list)
    role_endings: str = ""
    given_name_endings: str = ""
    self_ends: list[str] = Field(default_factory=list)
    ethnic_groups: list[str] = Field(default_factory=list)
    place_suffixes: str = ""
    account_words: list[str] = Field(default_factory=list)
    document_words: list[str] = Field(default_factory=list)
    card_words: list[str] = Field(default_factory=list)
    own_vehicle_words: list[str] = Field(default_factory=list)
    plate_words: list[str] = Field(default_factory=list)
    plate_regions: str = ""
    tail_words: list[str] = Field(default_factory=list)
    residence_words: list[str] = Field(default_factory=list)
    family_words: list[str] = Field(default_factory=list)
    family_owners: list[str] = Field(default_factory=list)
    person_labels: list[str] = Field(default_factory=list)
    caller_ends: list[str] = Field(default_factory=list)
    caller_not_names: list[str] = Field(default_factory=list)
    opening_verbs: list[str] = Field(default_factory=list)
    org_endings: str = ""
    phone_words: list[str] = Field(default_factory=list)
    official_titles: list[str] = Field(default_factory=list)
    birth_words: list[str] = Field(default_factory=list)
    shortest_name: int = Field(default=2, ge=1, le=10)
    shortest_phone: int = Field(default=5, ge=3, le=20)
    shortest_address: int = Field(default=4, ge=2, le=50)

    @field_validator(*_SURNAME_LINES)
    @classmethod
    def _han_characters(cls, lines: list[str]) -> list[str]:
        for line in lines:
            bad = [c for c in line if not _CJK_LOW <= c <= _CJK_HIGH]
            if bad:
                raise ValueError(f"only Chinese characters, one surname each (found {bad[0]!r})")
        return lines

    @field_validator("*")
    @classmethod
    def _not_blank(cls, value: Any, info: ValidationInfo) -> Any:
        """Every word list (the surnames' lines are checked above): a blank word matches everywhere."""
        if not isinstance(value, list) or info.field_name in _SURNAME_LINES:
            return value
        if any(not w.strip() for w in value):
            raise ValueError("an empty word would match everywhere")
        return [w.strip() for w in value]

    def single_surnames(self) -> str:
        return "".join(dict.fromkeys("".join(self.surnames)))

    def prefixed(self) -> str:
        return "".join(dict.fromkeys("".join(self.prefixed_surnames)))


def load_privacy(override_dir: Path | None = None) -> PrivacyWords:
    data, source = _read("privacy.toml", override_dir)
    words = _validate(PrivacyWords, data, source)
    assert isinstance(words, PrivacyWords)
    return words
