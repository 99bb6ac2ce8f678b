"""The case lifecycle as data, and the small machine that enforces it."""

from duban.states.definition import (
    DISPOSITION_STATES,
    FINAL_STATES,
    FINISHED_STATES,
    HANDLING_STATES,
    OPEN_STATES,
    TRANSITIONS,
    CaseState,
)
from duban.states.machine import CaseAdapter, allowed_actions, can_fire, fire, triggers

__all__ = [
    "DISPOSITION_STATES",
    "FINAL_STATES",
    "FINISHED_STATES",
    "HANDLING_STATES",
    "OPEN_STATES",
    "TRANSITIONS",
    "CaseAdapter",
    "CaseState",
    "allowed_actions",
    "can_fire",
    "fire",
    "triggers",
]
