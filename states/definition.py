"""States and transitions of a case, as data (read by the machine, the diagram and the tests).

received ──transfer/supervise/key_supervise/escalate/refer──▶ a disposition state
disposition state ──submit_report──▶ reported ──approve──▶ verified ──close/callback──▶ closed
disposition state ──delegate (二次交办)──▶ itself; the department's submit_report waits for the
    government: forward_report ──▶ reported, or return_delegate_report (the department reports again)
reported ──send_back──▶ returned ──submit_report──▶ reported  (and so on until it is solved)
received, a handling state or reported ──refer──▶ referred (the unit stops), or the state stays
    (the unit goes on, the referral runs beside it); the commission then acknowledges, records
    its outcome and gives the reporter the result (docs/states.md).
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    RECEIVED = "received"
    TRANSFERRED = "transferred"
    SUPERVISED = "supervised"
    KEY_SUPERVISED = "key_supervised"
    ESCALATED = "escalated"
    REFERRED = "referred"
    REPORTED = "reported"
    RETURNED = "returned"
    VERIFIED = "verified"
    CLOSED = "closed"


S = CaseState

# The five dispositions (处置方式) and the state each one puts the case in.
DISPOSITION_STATES: dict[str, CaseState] = {
    "transfer": S.TRANSFERRED,
    "supervise": S.SUPERVISED,
    "key_supervise": S.KEY_SUPERVISED,
    "escalate": S.ESCALATED,
    "refer": S.REFERRED,
}

# The order in which a stalled case's disposition is raised (提级).
DISPOSITION_LADDER = ["transfer", "supervise", "key_supervise", "escalate"]

# States in which a unit is working on the case and its handling deadline runs.
HANDLING_STATES = [S.TRANSFERRED, S.SUPERVISED, S.KEY_SUPERVISED, S.ESCALATED, S.RETURNED]
FINAL_STATES = [S.CLOSED]
OPEN_STATES = [s for s in S if s not in FINAL_STATES]
_ACTIVE_DISPOSITIONS = [S.TRANSFERRED, S.SUPERVISED, S.KEY_SUPERVISED]

# Where a referral (移交纪检监察机关) may start, and where its own steps run beside the case when
# the unit's handling continues: every state but received (a referral needs a case that was
# dispatched or referred) and referred (which has its own transitions, below).
REFERRAL_SOURCES = [S.RECEIVED, *HANDLING_STATES, S.REPORTED]
_BESIDE = [s for s in S if s not in (S.RECEIVED, S.REFERRED)]
# The commission's steps and the engine's reminder of a late notice to the reporter: only those
# who may see a referral see these (duban.services.scope.may_see_referral).
REFERRAL_ACTIONS = ("refer", "acknowledge_referral", "record_result", "notify_result", "remind_notice")

# Pressure on a unit that is late, in rising order (the escalation ladder, policy [ladder]): 催办,
# 抄告, 重要工作提示, 约谈, 通报. Each is recorded and audited; the state stays.
LADDER_ACTIONS = ["remind", "copy_notice", "work_reminder", "interview", "public_notice"]

# dest None = internal transition: the state stays, the action is still recorded and audited.
TRANSITIONS: list[dict] = [
    *(
        {"trigger": disposition, "source": S.RECEIVED, "dest": state}
        for disposition, state in DISPOSITION_STATES.items() if disposition != "refer"
    ),
    # 移交纪检监察机关: the form says whether the unit's handling continues; one referral at a time.
    {"trigger": "refer", "source": REFERRAL_SOURCES, "dest": S.REFERRED,
     "conditions": ["no_open_referral"], "unless": ["handling_continues"]},
    {"trigger": "refer", "source": [*HANDLING_STATES, S.REPORTED], "dest": None,
     "conditions": ["no_open_referral", "handling_continues"]},
    {"trigger": "acknowledge_referral", "source": [S.REFERRED, *_BESIDE], "dest": None,
     "conditions": ["referral_awaits_acknowledgement"]},
    # A referred case closes with the commission's outcome, or once a real-name reporter was told.
    {"trigger": "record_result", "source": S.REFERRED, "dest": S.CLOSED,
     "conditions": ["referral_awaits_outcome"], "unless": ["feedback_owed"]},
    {"trigger": "record_result", "source": S.REFERRED, "dest": None,
     "conditions": ["referral_awaits_outcome", "feedback_owed"]},
    {"trigger": "record_result", "source": _BESIDE, "dest": None, "conditions": ["referral_awaits_outcome"]},
    {"trigger": "notify_result", "source": S.REFERRED, "dest": S.CLOSED,
     "conditions": ["referral_awaits_feedback"]},
    {"trigger": "notify_result", "source": _BESIDE, "dest": None, "conditions": ["referral_awaits_feedback"]},
    {"trigger": "remind_notice", "source": [S.REFERRED, *_BESIDE], "dest": None,
     "conditions": ["referral_notice_pending"]},
    # 提级直办 also takes over a case already being handled below.
    {"trigger": "escalate", "source": [*_ACTIVE_DISPOSITIONS, S.RETURNED], "dest": S.ESCALATED},
    {"trigger": "step_up", "source": S.TRANSFERRED, "dest": S.SUPERVISED},
    {"trigger": "step_up", "source": S.SUPERVISED, "dest": S.KEY_SUPERVISED},
    {"trigger": "step_up", "source": S.KEY_SUPERVISED, "dest": S.ESCALATED},
    {
        "trigger": "object",
        "source": _ACTIVE_DISPOSITIONS,
        "dest": S.RECEIVED,
        "conditions": ["within_objection_window"],
    },
    {
        "trigger": "request_extension",
        "source": HANDLING_STATES,
        "dest": None,
        "conditions": ["can_request_extension"],
    },
    {
        "trigger": "approve_extension",
        "source": [*HANDLING_STATES, S.REPORTED],
        "dest": None,
        "conditions": ["has_pending_extension"],
    },
    {
        "trigger": "reject_extension",
        "source": [*HANDLING_STATES, S.REPORTED],
        "dest": None,
        "conditions": ["has_pending_extension"],
    },
    {"trigger": "reassign", "source": HANDLING_STATES, "dest": None},
    # 半月内专报 belongs to the disposition 重点督办: a returned key-supervised case still owes it.
    {"trigger": "report_progress", "source": S.KEY_SUPERVISED, "dest": None},
    {"trigger": "report_progress", "source": S.RETURNED, "dest": None,
     "conditions": ["key_supervised_disposition"]},
    *({"trigger": action, "source": HANDLING_STATES, "dest": None} for action in LADDER_ACTIONS),
    # 半月内专报: a key-supervised case whose progress report is due or late.
    {"trigger": "remind_progress", "source": S.KEY_SUPERVISED, "dest": None},
    {"trigger": "remind_progress", "source": S.RETURNED, "dest": None,
     "conditions": ["key_supervised_disposition"]},
    # 二次交办 (docs/states.md): a government passes the case on to one of its departments and
    # stays its unit. The department's report waits for the government, which forwards it to the
    # office (reported: the office reviews it as any other) or returns it to the department.
    {"trigger": "delegate", "source": HANDLING_STATES, "dest": None,
     "conditions": ["unit_may_delegate", "no_delegate_report_pending"]},
    {"trigger": "recall_delegation", "source": HANDLING_STATES, "dest": None,
     "conditions": ["delegated", "no_delegate_report_pending"]},
    {"trigger": "submit_report", "source": HANDLING_STATES, "dest": S.REPORTED, "unless": ["delegated"]},
    {"trigger": "submit_report", "source": HANDLING_STATES, "dest": None,
     "conditions": ["delegated", "no_delegate_report_pending"]},
    {"trigger": "forward_report", "source": HANDLING_STATES, "dest": S.REPORTED,
     "conditions": ["delegate_report_pending"]},
    {"trigger": "return_delegate_report", "source": HANDLING_STATES, "dest": None,
     "conditions": ["delegate_report_pending"]},
    {"trigger": "approve", "source": S.REPORTED, "dest": S.VERIFIED},
    {"trigger": "send_back", "source": S.REPORTED, "dest": S.RETURNED},
    {"trigger": "callback_satisfied", "source": S.VERIFIED, "dest": S.CLOSED},
    {"trigger": "callback_unsatisfied", "source": S.VERIFIED, "dest": S.RETURNED},
    {"trigger": "close", "source": S.VERIFIED, "dest": S.CLOSED},
    {"trigger": "reopen", "source": S.CLOSED, "dest": S.RETURNED, "conditions": ["handled_by_a_unit"]},
]
