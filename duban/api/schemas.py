"""What goes over the wire. Output models list their fields explicitly: nothing reaches a client
because a table grew a column (the complainant lives in its own table for the same reason)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from duban.present.inputs import ActionIn as ActionIn
from duban.present.inputs import CaseIn as CaseIn
from duban.present.inputs import LoginIn as LoginIn
from duban.present.inputs import Priority as Priority
from duban.present.inputs import _In
from duban.states.definition import CaseState

StateName = Literal[tuple(s.value for s in CaseState)]  # type: ignore[valid-type]
Disposition = Literal["transfer", "supervise", "key_supervise", "escalate", "refer"]
Level = Literal["province", "city", "county"]
Warning = Literal["none", "blue", "yellow", "red"]
Role = Literal["clerk", "dispatcher", "unit", "supervisor", "leader", "admin"]


class PasswordIn(_In):
    """Your own new password (policy: a minimum length, not a common password, not your user name)."""

    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class OrgRef(BaseModel):
    code: str
    name: str
    level: str


class OrgOut(OrgRef):
    kind: str
    region_name: str
    parent_code: str | None


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    role_label: str
    org: OrgRef


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime
    user: UserOut


class CaseFactsOut(BaseModel):
    """What every view of a case starts with: what it is and where it stands, labelled."""

    number: str
    title: str
    state: str
    state_label: str
    disposition: str | None
    disposition_label: str
    priority: str
    priority_label: str
    level: str


class CaseRowOut(CaseFactsOut):
    office: str
    unit: str | None
    deadline_kind: str | None
    deadline_on: dt.date | None
    provisional: bool
    warning: str
    warning_label: str
    workdays_left: int | None
    return_count: int
    repeat_count: int
    received_at: dt.datetime
    version: int
    decline_reason: str | None = Field(default=None, description="不予受理: the reason while not_accepted")
    decline_reason_label: str = ""
    unsigned: bool = Field(default=False, description="待签收: the handling unit has not signed for it yet")
    sign_due_on: dt.date | None = Field(default=None, description="the day the unit must sign for it by")


class RegisterOut(BaseModel):
    linked: bool = Field(description="true when it repeats an open case and was linked to it")
    case: CaseRowOut


class CaseListOut(BaseModel):
    items: list[CaseRowOut]
    limit: int
    offset: int
    has_more: bool
    total: int = Field(description="cases in the whole list, exactly up to 10000")
    total_capped: bool = Field(description="more than `total` cases: the count stopped there")


class CaseFacts(BaseModel):
    number: str
    title: str
    summary: str
    category: str
    channel: str
    priority: str
    state: str
    disposition: str | None
    level: str
    received_at: dt.datetime
    dispatched_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime
    deadline_kind: str | None
    deadline_on: dt.date | None
    deadline_provisional: bool
    extension_days: int
    extension_unit: str | None = Field(default=None, description="unit of extension_days: workdays or "
                                                                 "days (null: calendar days)")
    extension_label: str = Field(default="", description="the extension as a person reads it: 3个工作日")
    decline_reason: str | None = Field(default=None, description="不予受理: the reason while not_accepted "
                                                                 "(policy [intake.decline_reasons])")
    decline_reason_label: str = ""
    return_count: int
    repeat_count: int
    version: int
    signed_at: dt.datetime | None = Field(default=None, description="签收: when the unit signed for it")
    signed_by: str | None = None
    sign_due_on: dt.date | None = Field(default=None, description="待签收: the day the unit must sign by")
    replied_at: dt.datetime | None = Field(default=None, description="when the reply (处理意见) or the "
                                           "last review opinion was given: the review window runs from it")
    review_level: str | None = Field(default=None, description="the review last asked for: "
                                     "reexamination (复查) or recheck (复核)")
    concluded_at: dt.datetime | None = Field(default=None, description="终结: 复核 decided; the same "
                                             "request is not accepted again")


class ComplainantOut(BaseModel):
    name: str
    phone: str
    email: str = ""
    real_name: bool
    visible: bool = Field(description="false: name, phone and e-mail are masked for you")


class SubjectOut(BaseModel):
    name: str
    kind: str
    resolution: str = Field(
        default="", description="how the org complained about was found: code (picked), name (resolved "
                                "from the name), or flagged for the dispatcher: ambiguous, mentions, "
                                "unknown, conflict; "
                                "empty for a person or an enterprise")


class EventOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    actor_role: str
    action: str
    action_label: str
    from_state: str | None
    to_state: str
    reason: str
    data: dict[str, Any]


class ReportOut(BaseModel):
    kind: str
    text: str
    finding: str | None = Field(default=None, description="是否属实 of a final report: true (属实), "
                                                           "partly_true (部分属实), untrue (不属实)")
    actions_taken: str = Field(default="", description="what was done (办理措施)")
    rectification: str = Field(default="", description="整改措施")
    accountability: str = Field(default="", description="问责情况")
    submitted_by: str
    submitted_at: dt.datetime


class ReturnOut(BaseModel):
    """退单申请: a unit's request to hand the case back, and the dispatcher's decision."""

    reason: str
    status: str = Field(description="requested, accepted, rejected, or lapsed (the unit changed or "
                                    "reported before a decision)")
    objected_at: dt.datetime = Field(description="when the unit asked")
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str


class ReviewOut(BaseModel):
    decision: str
    reasons: str
    reviewer: str
    reviewed_at: dt.datetime


class CallbackOut(BaseModel):
    """回访: method (phone | sms | visit; None before they were recorded), result on the scale
    (satisfied | basically_satisfied | unsatisfied) or unreachable (联系不上, an attempt), and
    the complainant's reason when not satisfied."""

    method: str | None = None
    method_label: str = ""
    result: str
    result_label: str = ""
    reason: str = ""
    note: str
    caller: str
    called_at: dt.datetime


class ExtensionOut(BaseModel):
    days: int = Field(description="the amount asked, in unit")
    unit: str = Field(description="workdays or days (policy [extension] unit when asked)")
    amount_label: str = Field(description="the amount asked as a person reads it: 5个工作日")
    granted_days: int | None = Field(description="the amount granted (at most days); null unless approved")
    granted_label: str
    reason: str
    status: str
    decision_note: str = Field(description="why it was refused or cut, or the approver's note")
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None


class DeclineOut(BaseModel):
    """不予受理: the reason and the office's note."""

    reason: str
    reason_label: str
    note: str
    declined_by: str
    declined_at: dt.datetime


class ReviewRequestOut(BaseModel):
    """复查 / 复核: a complainant's request and the reviewing office's opinion."""

    level: str
    requested_at: dt.datetime
    requested_by: str
    reason: str
    due_on: dt.date
    outcome: str | None
    note: str
    decided_at: dt.datetime | None
    decided_by: str


class FieldOut(BaseModel):
    name: str
    label: str
    type: Literal["text", "textarea", "integer", "org", "department", "boolean", "choice"] = Field(
        description="department: the code of one of the case's delegate_choices (二次交办)")
    required: bool
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: list[list[str]] | None = Field(default=None, description="[key, label] of a choice field")
    unit: str | None = Field(default=None, description="an amount of time: its unit, workdays or days")


class ActionOut(BaseModel):
    action: str
    label: str
    fields: list[FieldOut]


class ReferralOut(BaseModel):
    """移交纪检监察机关: shown only to the commission, the referring office's supervisors and
    leaders, and admins (null for everyone else, who learn nothing of it)."""

    commission: OrgRef
    referred_at: dt.datetime
    referred_by: str
    handling_continues: bool
    stage: str | None = Field(description="acknowledgement, outcome, feedback; null when done")
    real_name: bool
    acknowledgement_due_on: dt.date | None
    acknowledged_at: dt.datetime | None
    outcome: str | None
    outcome_label: str
    outcome_note: str
    concluded_at: dt.datetime | None
    feedback_due_on: dt.date | None
    feedback_at: dt.datetime | None


class DelegateChoiceOut(BaseModel):
    """A department the case's government may pass it on to (二次交办)."""

    code: str
    name: str
    avoided: bool = Field(description="the case complains about it: it may not be chosen (回避)")
    current: bool = Field(description="the department that has the case now")


class CaseDetailOut(BaseModel):
    case: CaseFacts
    row: CaseRowOut
    office: OrgRef = Field(description="the office that received the case")
    record_office: OrgRef = Field(description="the office of record: it reviews, approves, calls back "
                                              "and presses; an office above the receiving one after 提级直办")
    read_only: bool = Field(description="true: your office may read this case but another holds it")
    unit: OrgRef | None
    delegate: OrgRef | None = Field(
        default=None, description="二次交办: the department the unit (a government) passed the case on "
                                  "to; the unit stays responsible")
    delegate_report_pending: bool = Field(
        default=False, description="the department's report waits for the government's review "
                                   "(forward_report / return_delegate_report)")
    delegate_choices: list[DelegateChoiceOut] = Field(
        default_factory=list, description="the departments for the action delegate (empty unless you "
                                          "may take it)")
    subject: SubjectOut | None
    complainant: ComplainantOut
    timeline: list[EventOut] = Field(description="the newest events (at most 50), oldest first")
    timeline_total: int = Field(description="events in all; GET links.timeline for the others")
    reports: list[ReportOut] = Field(description="the newest reports (at most 50), oldest first")
    reports_total: int = Field(description="reports in all; GET links.reports for the others")
    reviews: list[ReviewOut]
    callbacks: list[CallbackOut]
    extensions: list[ExtensionOut]
    declines: list[DeclineOut] = Field(default_factory=list)
    returns: list[ReturnOut] = Field(default_factory=list, description="退单申请, oldest first")
    review_requests: list[ReviewRequestOut] = Field(default_factory=list)
    referral: ReferralOut | None = None
    allowed_actions: list[ActionOut]
    links: dict[str, str] = Field(description="the whole timeline and reports, page by page")


class EventPageOut(BaseModel):
    items: list[EventOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class ReportPageOut(BaseModel):
    items: list[ReportOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class CaseStatusOut(CaseFactsOut):
    """Where a case stands: its facts without the summary text, its deadline and warning."""

    received_at: dt.datetime
    dispatched_at: dt.datetime | None
    closed_at: dt.datetime | None
    updated_at: dt.datetime
    deadline_kind: str | None
    deadline_on: dt.date | None
    deadline_provisional: bool
    extension_days: int
    extension_unit: str | None = None
    extension_label: str = Field(default="", description="the extension as a person reads it: 3个工作日")
    decline_reason: str | None = None
    decline_reason_label: str = ""
    workdays_left: int | None
    warning: str
    warning_label: str
    return_count: int
    repeat_count: int
    version: int


class ActedOut(BaseModel):
    """The answer to an action: where the case stands now and what you may do next. Not its
    history: that grows with every action, and is one GET of `href` away."""

    visible: Literal[True] = True
    case: CaseStatusOut
    office: OrgRef
    unit: OrgRef | None
    allowed_actions: list[ActionOut]
    href: str = Field(description="the whole case: GET it for the timeline, reports, reviews…")


class OutOfSightOut(BaseModel):
    """What an action's caller gets when the action took the case out of their sight (a unit's
    退单 accepted sends it back to the office): the outcome, not the case."""

    number: str
    state: str
    state_label: str
    version: int
    visible: Literal[False] = False


class CountsOut(BaseModel):
    total: int
    open: int
    overdue: int
    by_level: dict[str, int]
    by_disposition: dict[str, int]
    by_state: dict[str, int]
    by_warning: dict[str, int]
    subjects_flagged: int = Field(
        default=0, description="open cases whose subject (被反映对象) names no org, several, or not the one "
                               "picked: check whom they are about before dispatching")


class DashboardOut(BaseModel):
    counts: CountsOut
    overdue: list[CaseRowOut]


class ProblemOut(BaseModel):
    """The body of every error."""

    code: str
    message: str
    message_zh: str
    field: str | None = None
    allowed_actions: list[str] | None = None
