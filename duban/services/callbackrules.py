"""What callbacks (回访) rest on, shared by the actions, the sampling and the reports.

A leaf of the service layer (no CaseService here), so handlers and reports may import it.
- Who can be called back: a real-name complainant who left a phone. Anonymous cases cannot be
  called; they are never sampled and are counted apart (无法回访), so 满意率 is taken over the
  people who were reached, never inflated by cases nobody could ask.
- Attempts that reached nobody (联系不上) count per verification (the callback limit approval
  started, `callback_episode`): a case sent back and verified again starts from none.
- A callback's result on the scale: rows from before migration 0015 hold only `satisfied`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlmodel import Session

from duban.models import Callback, Complainant

CALLBACKS = Callback.__table__  # type: ignore[attr-defined]
COMPLAINANTS = Complainant.__table__  # type: ignore[attr-defined]
CB, CP = CALLBACKS.c, COMPLAINANTS.c

UNREACHABLE = "unreachable"

# The result of a callback row on the scale (or "unreachable"), old rows' flag included.
RESULT: ColumnElement[Any] = func.coalesce(
    CB.result, case((CB.satisfied == true(), "satisfied"), else_="unsatisfied"))


def callable_complainant() -> ColumnElement[bool]:
    """A complainant who can be called back: real name and a phone (joined on complainants)."""
    return and_(CP.real_name == true(), func.length(func.trim(CP.phone)) > 0)


def callback_episode(case: Any) -> str:
    return f"v{case.deadline_seq}"  # the callback limit that approval started


def unreachable_attempts(session: Session, case_id: int, episode: str) -> int:
    """Attempts that reached nobody in this verification of the case."""
    return int(session.execute(select(func.count()).select_from(CALLBACKS).where(
        CB.case_id == case_id, CB.episode == episode, CB.result == UNREACHABLE)).scalar() or 0)


def awaits_callback(session: Session, case: Any) -> bool:
    """A verified case whose complainant gave a real name: the office owes a callback (实名反馈)."""
    if case.complainant_id is None:
        return False
    return bool(session.execute(select(CP.real_name).where(CP.id == case.complainant_id)).scalar())
