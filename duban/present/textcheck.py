"""Checks on what a client sends before anything else reads it: broken text, nesting, field names.

Each check walks a value iteratively (a stack, not recursion): a JSON value nested a thousand
levels deep is refused with a clear 422 instead of a RecursionError. And each names where the
problem is only by names the API itself declares: a key the client made up may hold a
complainant's name, and refusals never repeat input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

# NUL bytes and lone surrogates: no person types them, PostgreSQL refuses NUL in text (a 500 if it
# got that far) and a lone surrogate cannot be encoded as UTF-8 at all. Refused at the door.
BROKEN_TEXT = re.compile("[\x00\ud800-\udfff]")
BROKEN_TEXT_MESSAGE = "contains a NUL byte or broken unicode (a lone surrogate)"

# No form of ours nests at all; 32 levels leave room for any honest client and bound the work.
MAX_DEPTH = 32
TOO_DEEP_MESSAGE = f"is nested more than {MAX_DEPTH} levels deep"

# Integers as people and programs write them: ASCII digits only. Python's int() also reads "²"
# (a ValueError after isdigit() said yes), "١٢" and "１２"; none of them belong in a form.
ASCII_INT = re.compile(r"[+-]?[0-9]{1,18}")
ASCII_INT_MESSAGE = "must be a whole number written with the ASCII digits 0-9"


@dataclass(frozen=True)
class TextProblem:
    """Where (a dotted path of declared names, "" for the value itself) and what (`kind`)."""

    where: str
    kind: str  # broken_text or too_deep
    message: str


@cache
def declared_names() -> frozenset[str]:
    """Every field and parameter name the API and the pages declare."""
    from duban.present import inputs
    from duban.services.forms import FORMS
    from duban.services.search import CaseQuery

    # CaseQuery: the list's filters, query parameters of GET /api/cases (they were refused as
    # "query填写有误", the parameter unnamed).
    models: list[type[BaseModel]] = [inputs.CaseIn, inputs.LoginIn, inputs.ActionIn, CaseQuery,
                                     *FORMS.values()]
    names: set[str] = set()
    for model in models:
        names.update(model.model_fields)
        names.update(f.alias for f in model.model_fields.values() if f.alias)
    names.update(("q", "kind", "under", "status", "period", "csrf",
                  "version", "number", "code", "action", "next", "done",
                  "numbers", "assignee", "bulk_action"))  # bulk actions (duban.api.bulk)
    return frozenset(names)


def public_name(name: object, fallback: str) -> str:
    """`name` if the API declares it, else `fallback`: a made-up key is never repeated."""
    return name if isinstance(name, str) and name in declared_names() else fallback


def text_problem(value: Any, *, depth: int = 0) -> TextProblem | None:
    """The first string (or key) in `value` with broken text, or the first place nested deeper
    than MAX_DEPTH (`depth` is how deep `value` itself sits); None when all is well."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(value, depth, ())]
    while stack:
        item, level, path = stack.pop()
        if isinstance(item, str):
            if BROKEN_TEXT.search(item):
                return TextProblem(".".join(path), "broken_text", BROKEN_TEXT_MESSAGE)
            continue
        if not isinstance(item, dict | list):
            continue
        if level >= MAX_DEPTH:
            return TextProblem(".".join(path), "too_deep", TOO_DEEP_MESSAGE)
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        children = []
        for key, child in pairs:
            if isinstance(key, str) and BROKEN_TEXT.search(key):
                return TextProblem(".".join(path), "broken_text", BROKEN_TEXT_MESSAGE)
            part = () if isinstance(key, int) else (public_name(key, ""),)
            children.append((child, level + 1, path + tuple(p for p in part if p)))
        stack.extend(reversed(children))
    return None


def is_ascii_int(text: str) -> bool:
    return ASCII_INT.fullmatch(text.strip()) is not None
