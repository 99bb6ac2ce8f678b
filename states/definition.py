"""States and transitions of a case, as data (read by the machine, the diagram and the tests).

received ──transfer/supervise/key_supervise/escalate/refer──▶ a disposition state
received ──decline──▶ not_accepted (不予受理, a reason from policy [intake]) ──reinstate──▶ received
disposition state ──submit_report──▶ reported ──approve──▶ verified ──close/record_callback──▶ closed
verified ──record_callback (not satisfied, by policy)──▶ returned; 联系不上 attempts keep it verified,
    and after policy's number of them close_unreachable closes it as unreachable
disposition state ──delegate (二次交办)──▶ itself; the department's submit_report waits for the
    government: forward_report ──▶ reported, or return_delegate_report (the department reports again)
reported ──send_back──▶ returned ──submit_report──▶ reported  (and so on until it is solved)
disposition state ──sign_for──▶ (signed, the state stays); ──request_return──▶ (asked, it stays)
    ──accept_return──▶ received, or ──reject_return──▶ (the unit keeps it)
verified/closed ──request_reexamination──▶ reexamination ──decide_reexamination──▶ closed (维持) or
    returned (撤销重办); then ──request_recheck──▶ recheck ──decide_recheck──▶ likewise, and 终结
    (信访工作条例 art. 35, 36; duban.services.reviews).
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
    NOT_ACCEPTED = "not_accepted"
    REEXAMINATION = "reexamination"
    RECHECK = "recheck"


S = CaseState

# The five dispositions (处置方式) and the state each one puts the case in.
DISPOSITION_STATES: dict[str, CaseState] = {
    "transfer": S.TRANSFERRED,
    "supervise": S.SUPERVISED,
    "key_supervise": S.KEY_SUPERVISED,
    "escalate": S.ESCALATED,
    "refer": S.REFERRED,
}

# 复查 / 复核 (信访工作条例 art. 35, 36): a complainant dissatisfied with the reply asks the office
# above for 复查, then the office above that for 复核; each review level's state, and the actions
# that ask for it and decide it (duban.services.reviews).
REVIEW_STATES = {"reexamination": S.REEXAMINATION, "recheck": S.RECHECK}
REVIEW_REQUESTS = {"reexamination": "request_reexamination", "recheck": "request_recheck"}
REVIEW_DECISIONS = {"reexamination": "decide_reexamination", "recheck": "decide_recheck"}
# Where a review may be asked for: once the complainant has the reply (处理意见).
REPLIED_STATES = [S.VERIFIED, S.CLOSED]

# The order in which a stalled case's disposition is raised (提级).
DISPOSITION_LADDER = ["transfer", "supervise", "key_supervise", "escalate"]

# States in which a unit is working on the case and its handling deadline runs.
HANDLING_STATES = [S.TRANSFERRED, S.SUPERVISED, S.KEY_SUPERVISED, S.ESCALATED, S.RETURNED]
FINAL_STATES = [S.CLOSED]
# 不予受理 is not handled and not closed (it may be reinstated), but no work is owed on it: lists,
# repeat links and counts of open cases treat it as finished, like closed.
FINISHED_STATES = [S.CLOSED, S.NOT_ACCEPTED]
OPEN_STATES = [s for s in S if s not in FINISHED_STATES]
_ACTIVE_DISPOSITIONS = [S.TRANSFERRED, S.SUPERVISED, S.KEY_SUPERVISED]
# Where a unit may ask to hand a case back (退单) and the dispatcher decides it.
RETURN_STATES = _ACTIVE_DISPOSITIONS
RETURN_ACTIONS = ("request_return", "accept_return", "reject_return")

# Where a referral (移交纪检监察机关) may start, and where its own steps run beside the case when
# the unit's handling continues: every state but received (a referral needs a case that was
# dispatched or referred) and referred (which has its own transitions, below).
REFERRAL_SOURCES = [S.RECEIVED, *HANDLING_STATES, S.REPORTED]
_BESIDE = [s for s in S if s not in (S.RECEIVED, S.REFERRED, S.NOT_ACCEPTED)]
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
    # 不予受理: the office declines a received case with a reason of policy [intake.decline_reasons];
    # it may take the decision back (reinstate) to triage.
    {"trigger": "decline", "source": S.RECEIVED, "dest": S.NOT_ACCEPTED},
    {"trigger": "reinstate", "source": S.NOT_ACCEPTED, "dest": S.RECEIVED},
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
    # 签收 by the unit a case was handed to (and the engine's reminder when it is late).
    {"trigger": "sign_for", "source": HANDLING_STATES, "dest": None, "conditions": ["awaits_signing"]},
    {"trigger": "remind_sign_for", "source": HANDLING_STATES, "dest": None, "conditions": ["awaits_signing"]},
    # 退单: the unit asks, within the objection window, one request at a time; the case stays with
    # it and its clock runs until the dispatcher accepts (back to triage) or rejects it.
    {"trigger": "request_return", "source": RETURN_STATES, "dest": None,
     "conditions": ["within_objection_window", "no_pending_return"]},
    {"trigger": "accept_return", "source": RETURN_STATES, "dest": S.RECEIVED,
     "conditions": ["has_pending_return"]},
    {"trigger": "reject_return", "source": RETURN_STATES, "dest": None, "conditions": ["has_pending_return"]},
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
    # 回访: the form's result decides (policy [callbacks] satisfied_results): counted satisfied
    # closes the case, any other result on the scale sends it back to the unit, and an attempt
    # that reached nobody (联系不上) is recorded while the case waits for the next one.
    {"trigger": "record_callback", "source": S.VERIFIED, "dest": S.CLOSED,
     "conditions": ["result_counts_satisfied"]},
    {"trigger": "record_callback", "source": S.VERIFIED, "dest": S.RETURNED,
     "conditions": ["result_not_satisfied"]},
    {"trigger": "record_callback", "source": S.VERIFIED, "dest": None,
     "unless": ["result_counts_satisfied", "result_not_satisfied"]},
    {"trigger": "close_unreachable", "source": S.VERIFIED, "dest": S.CLOSED,
     "conditions": ["unreachable_attempts_reached"]},
    {"trigger": "close", "source": S.VERIFIED, "dest": S.CLOSED},
    {"trigger": "reopen", "source": S.CLOSED, "dest": S.RETURNED, "conditions": ["handled_by_a_unit"]},
    # 复查, then 复核: asked within the window after the reply, decided by the office above (维持:
    # closed again; 撤销重办: back to the unit with a new handling limit). After 复核: 终结.
    *(t for level, state in REVIEW_STATES.items() for t in (
        {"trigger": REVIEW_REQUESTS[level], "source": REPLIED_STATES, "dest": state,
         "conditions": [f"{level}_open"]},
        {"trigger": REVIEW_DECISIONS[level], "source": state, "dest": S.RETURNED,
         "conditions": ["rehandling_ordered"]},
        {"trigger": REVIEW_DECISIONS[level], "source": state, "dest": S.CLOSED,
         "unless": ["rehandling_ordered"]},
    )),
    # A late review opinion: the sweep reminds the reviewing office (policy [reviews]).
    {"trigger": "remind_review", "source": list(REVIEW_STATES.values()), "dest": None},
]
