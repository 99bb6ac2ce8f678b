"""What verify says it found, in the words of config/audit_findings.toml: the checks name a text
and its values, never write a sentence of their own."""

from __future__ import annotations

from typing import Any

from duban.config.cli_output import get_audit_texts
from duban.config.policy import get_labels


def said(key: str, /, **values: Any) -> str:
    """The text `key` ("case.altered") with `values` in its {names}."""
    return get_audit_texts().text(key, **values)


def action_word(code: str) -> str:
    """An event's action as a person calls it (a case's or an account's), or its code."""
    labels = get_labels()
    return labels.actions.get(code) or labels.account_actions.get(code) or code


def table_word(name: str) -> str:
    """A covered table as a person calls it, or its name."""
    return get_audit_texts().of("tables", name)
