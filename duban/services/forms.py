"""The form each action takes, validated before anything is read or written."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from duban.errors import InvalidActionInput
from duban.grams import typed_code

Text = Field(min_length=1, max_length=20000)
# An org code as typed: ＧＳ－ＬＺ－ＣＧ－ＳＷＪ or gs-lz-cg-swj is GS-LZ-CG-SWJ, as in bulk 改派.
OrgCode = Annotated[str, AfterValidator(typed_code)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DispatchForm(_Form):
    unit: OrgCode | None = Field(default=None, max_length=40, description="org code of the handling unit")
    note: str = Field(default="", max_length=2000)


class ReferForm(_Form):
    """移交纪检监察机关: the commission (empty: the one with jurisdiction) and whether the unit
    handling the case goes on handling it beside the referral."""

    unit: OrgCode | None = Field(default=None, max_length=40, description="org code of the commission")
    note: str = Field(default="", max_length=2000)
    handling_continues: bool = False


class OutcomeForm(_Form):
    """The commission's disposal of a referral: one of policy [referral.outcomes], and what it says."""

    outcome: str = Field(min_length=1, max_length=32)
    text: str = Field(default="", max_length=20000)


class ReviewDecisionForm(_Form):
    """复查 / 复核 opinion: one of policy [reviews.outcomes], and the written answer (意见书)."""

    opinion: str = Field(min_length=1, max_length=32)
    reply: str = Field(min_length=1, max_length=20000)


class ReasonForm(_Form):
    reason: str = Field(min_length=1, max_length=4000)


class ExtensionForm(_Form):
    """延期: the amount in the unit policy [extension] names (working days by default)."""

    days: int = Field(ge=1, le=366)
    reason: str = Field(min_length=1, max_length=4000)


class GrantExtensionForm(_Form):
    """批准延期: in full (days empty) or in part (days fewer than asked)."""

    days: int | None = Field(default=None, ge=1, le=366)
    note: str = Field(default="", max_length=4000)


class DeclineForm(_Form):
    """不予受理: one reason of policy [intake.decline_reasons], and what the office adds."""

    decline_reason: str = Field(min_length=1, max_length=32)
    note: str = Field(default="", max_length=4000)


class NoteForm(_Form):
    note: str = Field(default="", max_length=4000)


class CallbackForm(_Form):
    """回访: how the complainant was reached and what they said, on the scale; "unreachable"
    records an attempt that reached nobody (联系不上). A result that policy does not count as
    satisfied needs the complainant's reason (duban.services.handlers.record_callback)."""

    method: Literal["phone", "sms", "visit"]
    result: Literal["satisfied", "basically_satisfied", "unsatisfied", "unreachable"]
    reason: str = Field(default="", max_length=4000)
    note: str = Field(default="", max_length=4000)


class CloseForm(_Form):
    """办结 of a verified case without a callback: a real-name case needs a reason from policy
    [callbacks] close_reasons (duban.services.handlers.close)."""

    reason: str = Field(default="", max_length=32)
    note: str = Field(default="", max_length=4000)


class ReassignForm(_Form):
    unit: OrgCode = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=4000)


class ReportForm(_Form):
    text: str = Text


class FinalReportForm(_Form):
    """办理报告: the text, and its structured part (policy [handling_report] says which parts a
    final report must fill in; the handler checks it)."""

    text: str = Text
    finding: Literal["true", "partly_true", "untrue"] | None = Field(
        default=None, description="是否属实: true 属实, partly_true 部分属实, untrue 不属实")
    actions_taken: str = Field(default="", max_length=20000)
    rectification: str = Field(default="", max_length=20000)
    accountability: str = Field(default="", max_length=20000)


class SendBackForm(_Form):
    reasons: str = Field(min_length=1, max_length=4000)


class DelegateForm(_Form):
    """二次交办: the department (org code) the government passes the case on to."""

    department: OrgCode = Field(min_length=1, max_length=40, description="org code of the department")
    note: str = Field(default="", max_length=2000)


FORMS: dict[str, type[_Form]] = {
    "transfer": DispatchForm,
    "supervise": DispatchForm,
    "key_supervise": DispatchForm,
    "escalate": DispatchForm,
    "refer": ReferForm,
    "step_up": ReasonForm,
    "decline": DeclineForm,
    "reinstate": ReasonForm,
    "sign_for": NoteForm,
    "remind_sign_for": NoteForm,
    "request_return": ReasonForm,
    "accept_return": NoteForm,
    "reject_return": ReasonForm,
    "request_extension": ExtensionForm,
    "approve_extension": GrantExtensionForm,
    "reject_extension": ReasonForm,
    "reassign": ReassignForm,
    "report_progress": ReportForm,
    "submit_report": FinalReportForm,
    "delegate": DelegateForm,
    "recall_delegation": NoteForm,
    "forward_report": NoteForm,
    "return_delegate_report": SendBackForm,
    "approve": NoteForm,
    "send_back": SendBackForm,
    "record_callback": CallbackForm,
    "close_unreachable": NoteForm,
    "close": CloseForm,
    "reopen": ReasonForm,
    "acknowledge_referral": NoteForm,
    "record_result": OutcomeForm,
    "notify_result": NoteForm,
    "remind_notice": NoteForm,
    # The escalation ladder and progress reminders: usually fired by the engine, a note optional.
    "remind": NoteForm,
    "copy_notice": NoteForm,
    "work_reminder": NoteForm,
    "interview": NoteForm,
    "public_notice": NoteForm,
    "remind_progress": NoteForm,
    # 复查 / 复核 (duban.services.reviews): the complainant's reason, then the office's opinion.
    "request_reexamination": ReasonForm,
    "request_recheck": ReasonForm,
    "decide_reexamination": ReviewDecisionForm,
    "decide_recheck": ReviewDecisionForm,
    "remind_review": NoteForm,
}


def parse_form(action: str, data: dict[str, Any] | None) -> _Form:
    form_type = FORMS.get(action)
    if form_type is None:
        raise InvalidActionInput(
            action=action, field="action", message=f"unknown action; known: {', '.join(FORMS)}"
        )
    try:
        return form_type.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "extra_forbidden":  # the key is the caller's text: named as "form"
            takes = ", ".join(form_type.model_fields)
            raise InvalidActionInput(action=action, field="form", kind="extra_forbidden",
                                     message=f"holds a field this form does not take; it takes: {takes}",
                                     ) from exc
        field = ".".join(str(p) for p in first["loc"]) or "form"
        raise InvalidActionInput(action=action, field=field, message=first["msg"],
                                 kind=first["type"], limits=first.get("ctx")) from exc
