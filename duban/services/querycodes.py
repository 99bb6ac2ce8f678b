"""Query codes (查询码): what proves, with the case number, that a person filed the complaint.

A code is 16 characters of an alphabet without look-alikes (no 0/O, 1/I): 80 random bits, shown
once and kept only as a hash. Proving compares hashes in constant time, and a number that does
not exist costs the same comparison as a wrong code, so the answer and its timing say nothing
about which of the two was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from duban.models import Case, QueryCode

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 16
_NOT_CODE = re.compile(r"[^A-Z0-9]")
_DUMMY = hashlib.sha256(b"duban-query-code:no such case").hexdigest()

_CASES: Any = Case.__table__  # type: ignore[attr-defined]
_QUERY_CODES: Any = QueryCode.__table__  # type: ignore[attr-defined]
_CASE_ID = select(_CASES.c.id).where(_CASES.c.number == bindparam("number"))
_CODES = select(_QUERY_CODES.c.complainant_id, _QUERY_CODES.c.code_hash).where(
    _QUERY_CODES.c.case_id == bindparam("case_id"))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """The code as printed: four groups of four."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalized(text: str) -> str:
    """What a person typed, as the code: full-width forms folded, case and separators ignored."""
    return _NOT_CODE.sub("", unicodedata.normalize("NFKC", text).upper())[:64]


def code_hash(code: str) -> str:
    return hashlib.sha256(f"duban-query-code:{normalized(code)}".encode()).hexdigest()


@dataclass(frozen=True)
class Proof:
    case_id: int
    complainant_id: int


def prove(session: Session, number: str, code: str) -> Proof | None:
    """The case and complainant that `number` and `code` prove, or None (whichever was wrong)."""
    wanted = code_hash(code)
    number = unicodedata.normalize("NFKC", number).strip().upper()[:40]  # as typed on a phone
    case_id = session.connection().execute(_CASE_ID, {"number": number}).scalar()
    rows: list[tuple[int | None, str]] = [
        (r[0], r[1]) for r in session.connection().execute(_CODES, {"case_id": case_id})] if case_id else []
    found: Proof | None = None
    for complainant_id, stored in rows or [(None, _DUMMY)]:
        if hmac.compare_digest(stored, wanted) and complainant_id is not None and case_id is not None:
            found = Proof(case_id=int(case_id), complainant_id=int(complainant_id))
    return found
