"""A pure model of cases for the model-based test (tests/services/test_model_based.py).

What an action should do to a case, worked out from the definitions rather than by the service
layer: the transitions and their guards from duban.states.definition, the roles, limits and
extension rules from the policy, who sees and acts on a case from the scope rule as the docs state
it. Where a rule is itself a pure function over the org tree or the calendar (which orgs a subject
names, which units a dispatcher may choose, how working days are counted), the model calls it: those
are not what the write path computes, and restating them would only copy them.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from duban.clock import local_date
from duban.config.policy import Limit
from duban.deadlines import due_date
from duban.errors import (
    ActionNotAllowed,
    AvoidanceViolation,
    CallbackOwed,
    CaseConcluded,
    CaseHeldElsewhere,
    CaseNotFound,
    DubanError,
    InvalidActionInput,
    NotYetReplied,
    PermissionDenied,
    ReviewNotAllowed,
    ReviewWindowPassed,
    StaleCase,
)
from duban.notify.templates import load_templates
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.handlers import extension_cap
from duban.services.routing import check_target as routing_check_target
from duban.services.routing import commission_for, higher_office
from duban.services.scope import in_region
from duban.states.definition import (
    DISPOSITION_LADDER,
    DISPOSITION_STATES,
    REFERRAL_ACTIONS,
    RETURN_ACTIONS,
    RETURN_STATES,
    REVIEW_DECISIONS,
    REVIEW_REQUESTS,
    TRANSITIONS,
)

_RETURN_STATES = {str(s) for s in RETURN_STATES}

# The rows an action adds besides its audit event (table: how many), and the actions that may queue
# mail (notifications: as many as the recipients with an address).
ADDS: dict[str, dict[str, int]] = {
    **{a: {"handling_reports": 1} for a in ("submit_report", "report_progress")},
    **{a: {"reviews": 1} for a in ("approve", "send_back", "forward_report", "return_delegate_report")},
    "record_callback": {"callbacks": 1},
    "request_return": {"objections": 1},
    "decline": {"declines": 1},
    "request_extension": {"extensions": 1},
    "interview": {"interviews": 1},
    **{a: {"review_requests": 1} for a in REVIEW_REQUESTS.values()},
}
# The ladder's mail to orgs, and the notices to the complainant config names (a real-name
# complainant with a mobile gets one by SMS: duban/services/notices.py).
NOTIFYING = {"step_up", "remind", "copy_notice", "work_reminder", "interview", "public_notice",
             "remind_progress", "remind_sign_for", "remind_review",
             *load_templates().citizen_notices}
# 复查 / 复核 (信访工作条例 art. 35, 36), as the docs state it (docs/states.md): the level each
# action asks for or decides, and the order of the levels.
_LEVEL_OF = {**{a: lv for lv, a in REVIEW_REQUESTS.items()}, **{a: lv for lv, a in REVIEW_DECISIONS.items()}}
_LEVELS = ("reexamination", "recheck")
_UNDER_REVIEW = ("reexamination", "recheck")
# Where the handler starts a new handling limit.
_NEW_HANDLING = {"step_up", "reassign", "send_back", "reopen"}
_CLOSING = {"close", "close_unreachable"}
_NO_REFERRAL = {"no_open_referral": True, "handling_continues": False,
                "referral_awaits_acknowledgement": False, "referral_awaits_outcome": False,
                "referral_awaits_feedback": False, "feedback_owed": False, "referral_notice_pending": False}


@dataclass
class ModelCase:
    """What a case's row should hold, and what the model needs to know to move it."""

    id: int
    number: str
    office: str  # org code of the receiving office
    priority: str
    avoided: frozenset[int]  # orgs the case must be kept from (its subjects, every name they may mean)
    held_by: frozenset[int]  # orgs a repeat of it is about: if one holds it, a repeat is a new case
    matter: tuple[str, str]  # (subject, title): a complaint with both repeats this case
    identities: list[tuple[str, str, str]]  # (name, phone, address) of each complainant
    state: str = "received"
    disposition: str | None = None
    unit_id: int | None = None
    record_office_id: int | None = None  # the office that took the case over (提级直办); None: `office`
    dispatched_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    deadline_kind: str | None = None
    deadline_start: dt.date | None = None
    deadline_days: int | None = None
    deadline_unit: str | None = None
    deadline_on: dt.date | None = None
    deadline_provisional: bool = False
    deadline_seq: int = 0
    extension_days: int = 0
    extensions: list[tuple[str, int]] = field(default_factory=list)  # (status, days)
    returns: list[str] = field(default_factory=list)  # each 退单 request's status
    sign_due_on: dt.date | None = None  # 签收 owed by the unit that has the case
    return_count: int = 0
    repeat_count: int = 0
    version: int = 1
    audit_seq: int = 1
    unreachable: dict[int, int] = field(default_factory=dict)  # 联系不上 attempts by deadline_seq
    replied_at: dt.datetime | None = None  # the last answer: approve, or a review that upheld it
    review_level: str | None = None
    review_office_id: int | None = None
    concluded_at: dt.datetime | None = None
    delegate_id: int | None = None  # 二次交办: the government's department that has the case
    delegate_report_pending: bool = False  # its report waits for the government

    # The columns compared with the case row, in one place.
    COLUMNS = ("state", "disposition", "unit_id", "delegate_id", "delegate_report_pending",
               "record_office_id", "dispatched_at", "closed_at",
               "deadline_kind",
               "deadline_start", "deadline_days", "deadline_unit", "deadline_on",
               "deadline_provisional", "deadline_seq", "extension_days", "return_count",
               "repeat_count", "version", "audit_seq", "sign_due_on", "replied_at", "review_level",
               "review_office_id", "concluded_at")

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}


@dataclass(frozen=True)
class Refusal:
    """The named error an action must raise (and `kind` for InvalidActionInput when it matters)."""

    error: type[DubanError]
    kind: str = ""


@dataclass(frozen=True)
class Form:
    """A form as drawn: its fields, whether it is valid, and the values the handler reads."""

    fields: dict[str, Any]
    valid: bool


def _sources(transition: dict) -> list[str]:
    source = transition["source"]
    return [str(s) for s in source] if isinstance(source, list) else [str(source)]


class CaseModel:
    """The rules, applied to ModelCase values; `predict` never touches the database."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.orgs = ctx.orgs
        self.policy = ctx.policy

    # -- the machine, from its data ------------------------------------------------------------

    @staticmethod
    def defined(state: str, action: str) -> list[dict]:
        return [t for t in TRANSITIONS if t["trigger"] == action and state in _sources(t)]

    def guard(self, m: ModelCase, name: str, today: dt.date, fields: dict[str, Any] | None = None) -> bool:
        if name in ("reexamination_open", "recheck_open"):
            return self.review_refusal(m, name.removesuffix("_open"), today) is None
        if name == "rehandling_ordered":
            outcome = self.policy.reviews.outcomes.get(str((fields or {}).get("opinion")))
            return bool(outcome and outcome.rehandle)
        pending = sum(1 for status, _ in m.extensions if status == "requested")
        # 回访: the result on the form decides (none when only asking what is allowed).
        result = (fields or {}).get("result")
        reached = result not in (None, "unreachable")
        if name == "result_counts_satisfied":
            return reached and result in self.policy.callbacks.satisfied_results
        if name == "result_not_satisfied":
            return reached and result not in self.policy.callbacks.satisfied_results
        if name == "unreachable_attempts_reached":
            return m.unreachable.get(m.deadline_seq, 0) >= self.policy.callbacks.unreachable_after_attempts
        if name == "within_objection_window":
            if m.dispatched_at is None:
                return False
            limit = self.policy.deadlines.objection
            last = due_date(self.calendar(m), start=local_date(m.dispatched_at), days=limit.days,
                            unit=limit.unit)
            return today <= last.date
        if name == "can_request_extension":
            used = sum(1 for status, _ in m.extensions if status in ("requested", "approved"))
            return used < self.policy.extension.max_count and not pending
        if name == "has_pending_extension":
            return pending > 0
        if name == "awaits_signing":
            return m.sign_due_on is not None
        if name in ("has_pending_return", "no_pending_return"):
            return ("requested" in m.returns) == (name == "has_pending_return")
        if name == "key_supervised_disposition":
            return m.disposition == "key_supervise"
        if name == "handled_by_a_unit":
            return m.unit_id is not None and m.disposition != "refer"
        if name == "unit_may_delegate":
            return m.unit_id is not None and (self.orgs.by_id(m.unit_id).kind
                                              in self.policy.delegation.allowed_from_kinds)
        if name == "delegated":
            return m.delegate_id is not None
        if name == "delegate_report_pending":
            return m.delegate_report_pending
        if name == "no_delegate_report_pending":
            return not m.delegate_report_pending
        # The model's cases are never referred (REFERRAL_ACTIONS are left out of its draws: the
        # referral path has its own tests, tests/services/test_referrals.py).
        if name in _NO_REFERRAL:
            return _NO_REFERRAL[name]
        raise AssertionError(f"the model does not know guard {name!r}")

    def fires(self, m: ModelCase, action: str, today: dt.date,
              fields: dict[str, Any] | None = None) -> dict | None:
        """The transition `action` takes now (None: it is not defined here or its guards fail)."""
        for t in self.defined(m.state, action):
            if all(self.guard(m, c, today, fields) for c in t.get("conditions", [])) and not any(
                    self.guard(m, c, today, fields) for c in t.get("unless", [])):
                return t
        return None

    def review_refusal(self, m: ModelCase, level: str, today: dt.date) -> type[DubanError] | None:
        """Why a review of `level` may not be asked for now (from a state after the reply)."""
        if m.concluded_at is not None or m.review_level == _LEVELS[-1]:
            return CaseConcluded
        if m.replied_at is None:
            return NotYetReplied
        upcoming = _LEVELS[0] if m.review_level is None else _LEVELS[_LEVELS.index(m.review_level) + 1]
        if upcoming != level:
            return ReviewNotAllowed
        limit = self.policy.reviews.request
        end = due_date(self.calendar(m), start=local_date(m.replied_at), days=limit.days, unit=limit.unit)
        return ReviewWindowPassed if today > end.date else None

    def decides_review(self, actor: Actor, m: ModelCase) -> bool:
        """The reviewing office, or one above it (or an actor with no org), decides a review."""
        if actor.org_id is None:
            return True
        if m.review_office_id is None:
            return False
        return in_region(self.code(m.review_office_id), self.orgs.by_id(actor.org_id).code)

    def triggers(self, state: str) -> set[str]:
        return {t["trigger"] for t in TRANSITIONS if state in _sources(t)}

    # -- who ---------------------------------------------------------------------------------

    def code(self, org_id: int | None) -> str | None:
        return None if org_id is None else self.orgs.by_id(org_id).code

    def region(self, actor: Actor) -> str | None:
        if actor.org_id is None:
            return None
        org = self.orgs.by_id(actor.org_id)
        return None if org.level == "province" else org.code

    def may_see(self, actor: Actor, m: ModelCase) -> bool:
        if actor.role == "unit":  # not while the office above reviews the reply
            return (actor.org_id is not None and actor.org_id in (m.unit_id, m.delegate_id)
                    and m.state not in _UNDER_REVIEW)
        region = self.region(actor)
        return region is None or in_region(m.office, region) or in_region(self.code(m.unit_id), region)

    def record(self, m: ModelCase) -> str:
        """The code of the office of record: the receiving office unless one above took it over."""
        return self.code(m.record_office_id) or m.office

    def acts_as(self, actor: Actor, m: ModelCase) -> str | None:
        """"office" when the actor's office holds the case, "unit" when it handles it, else None."""
        if actor.role == "unit":
            return "unit" if self.may_see(actor, m) else None
        region = self.region(actor)
        if region is None or in_region(self.record(m), region):
            return "office"
        return "unit" if m.unit_id is not None and m.unit_id == actor.org_id else None

    def may_act_on(self, actor: Actor, m: ModelCase, action: str) -> bool:
        mode = self.acts_as(actor, m)
        if mode == "unit" and actor.role != "unit":
            return "unit" in self.policy.roles.get(action, [])  # an office handling a case held above
        return mode is not None

    def takes(self, actor: Actor, m: ModelCase, action: str) -> bool:
        """A unit's own part: on a delegated case the department's actions are the department's."""
        if actor.role != "unit":
            return True
        if m.delegate_id is not None and action in self.policy.delegation.department_actions:
            return actor.org_id == m.delegate_id
        return actor.org_id == m.unit_id

    def departments(self, m: ModelCase) -> list[OrgInfo]:
        """The government's departments: orgs of a target kind under its own office."""
        unit = self.orgs.by_id(m.unit_id) if m.unit_id is not None else None
        if unit is None:
            return []
        return [o for o in self.orgs.all() if o.parent_id == unit.parent_id and o.id != unit.id
                and o.kind in self.policy.delegation.target_kinds]

    def has_role(self, actor: Actor, action: str) -> bool:
        return actor.role in self.policy.roles.get(action, [])

    def allowed_for(self, m: ModelCase, actor: Actor, today: dt.date) -> set[str]:
        """The actions the actor may take now (what ActionNotAllowed lists)."""
        return {a for a in self.triggers(m.state) if self.fires(m, a, today) and self.has_role(actor, a)
                and self.may_act_on(actor, m, a) and self.takes(actor, m, a)
                and a not in REFERRAL_ACTIONS
                and (a not in REVIEW_DECISIONS.values() or self.decides_review(actor, m))}

    # -- what an action does ---------------------------------------------------------------------

    def predict(self, m: ModelCase, action: str, *, actor: Actor, form: Form,
                expected_version: int | None, now: dt.datetime) -> ModelCase | Refusal:
        """The case after the action, or the refusal it must meet (checked in the service's order)."""
        today = local_date(now)
        if not form.valid:
            return Refusal(InvalidActionInput)
        if not self.may_see(actor, m):
            return Refusal(CaseNotFound)
        if expected_version is not None and expected_version != m.version:
            return Refusal(StaleCase)
        if not self.has_role(actor, action):
            return Refusal(PermissionDenied)
        if not self.may_act_on(actor, m, action):
            return Refusal(CaseHeldElsewhere)  # it sees the case: it is told who holds it
        if (action in REVIEW_DECISIONS.values() and m.state in _UNDER_REVIEW
                and not self.decides_review(actor, m)):
            return Refusal(CaseHeldElsewhere)  # the office above decides, not the office of record
        if not self.takes(actor, m, action):
            return Refusal(PermissionDenied)  # a unit's part is its own (a department's, or the government's)
        transition = self.fires(m, action, today, form.fields)
        if transition is None:
            if action in REVIEW_REQUESTS.values() and self.defined(m.state, action):
                return Refusal(self.review_refusal(m, _LEVEL_OF[action], today) or ActionNotAllowed)
            return Refusal(ActionNotAllowed)
        n = copy.deepcopy(m)
        if transition["dest"] is not None:
            n.state = str(transition["dest"])
        refused = self._handle(n, action, actor=actor, fields=form.fields, now=now, before=m.state)
        if refused is not None:
            return refused
        n.version += 1
        n.audit_seq += 1
        return n

    def _handle(self, n: ModelCase, action: str, *, actor: Actor, fields: dict[str, Any],
                now: dt.datetime, before: str) -> Refusal | None:
        """What the action does, then a pending 退单 request the case moved past lapses."""
        state, unit = before, n.unit_id
        refused = self._handle_action(n, action, actor=actor, fields=fields, now=now)
        if refused is None and state in _RETURN_STATES and action not in RETURN_ACTIONS and (
                n.unit_id != unit or n.state not in _RETURN_STATES) and "requested" in n.returns:
            n.returns[n.returns.index("requested")] = "lapsed"  # moved past the unit's request
        return refused

    def _handle_action(self, n: ModelCase, action: str, *, actor: Actor, fields: dict[str, Any],
                       now: dt.datetime) -> Refusal | None:
        today = local_date(now)
        if action in DISPOSITION_STATES:
            unit = self._chosen_unit(n, action, fields.get("unit") or None)
            if isinstance(unit, Refusal):
                return unit
            refused = self._assign(n, unit, actor=actor, action=action, chosen=bool(fields.get("unit")),
                                   today=today)
            if refused is not None:
                return refused
            n.disposition = action
            n.dispatched_at = now
            self._handling(n, today)
        elif action == "step_up":
            raised = DISPOSITION_LADDER[DISPOSITION_LADDER.index(n.disposition or "transfer") + 1]
            if raised == "escalate":
                default = self._chosen_unit(n, "escalate", None)
                assert not isinstance(default, Refusal)
                refused = self._assign(n, default, actor=actor, action=action, chosen=False,
                                      today=today)
                if refused is not None:
                    return refused
            n.disposition = raised
            self._raised(n, today)
        elif action == "decline":
            if fields["decline_reason"] not in self.policy.intake.decline_reasons:
                return Refusal(InvalidActionInput, "literal_error")
            self._clear(n)
        elif action == "reinstate":
            self._limit(n, "triage", self.policy.deadlines.triage, today)
        elif action == "sign_for":
            n.sign_due_on = None
        elif action == "request_return":
            n.returns.append("requested")
        elif action in ("accept_return", "reject_return"):
            n.returns[n.returns.index("requested")] = "accepted" if action == "accept_return" else "rejected"
            if action == "accept_return":
                n.delegate_id, n.delegate_report_pending = None, False
                n.unit_id = None
                n.disposition = None
                n.sign_due_on = None
                self._limit(n, "triage", self.policy.deadlines.triage, today)
        elif action == "request_extension":
            # The cap (art. 34's 30 calendar days) counted in the policy's unit from the deadline.
            if fields["days"] > extension_cap(self.calendar(n), self.policy, n.deadline_on):
                return Refusal(InvalidActionInput, "extension_too_long")
            n.extensions.append(("requested", int(fields["days"])))
        elif action in ("approve_extension", "reject_extension"):
            i = next(i for i, (status, _) in enumerate(n.extensions) if status == "requested")
            days = n.extensions[i][1]
            approved = action == "approve_extension"
            granted = (fields.get("days") or days) if approved else 0
            if granted > days:
                return Refusal(InvalidActionInput, "more_than_asked")
            n.extensions[i] = ("approved" if approved else "rejected", granted)
            if approved:
                n.extension_days += granted
                if n.deadline_start is not None and n.deadline_days is not None:
                    assert n.deadline_unit is not None
                    answer = due_date(self.calendar(n), start=n.deadline_start, days=n.deadline_days,
                                      unit=n.deadline_unit, extension_days=n.extension_days,
                                      extension_unit=self.policy.extension.unit)
                    n.deadline_on, n.deadline_provisional = answer.date, answer.provisional
        elif action == "reassign":
            refused = self._assign(n, self.orgs.by_code(fields["unit"]), actor=actor, action=action,
                                   chosen=True, today=today)
            if refused is not None:
                return refused
        elif action == "submit_report" and n.delegate_id is not None:
            n.delegate_report_pending = True  # the government reviews it first
        elif action == "submit_report" or action == "forward_report":
            n.delegate_report_pending = False
            self._limit(n, "review", self.policy.deadlines.review, today)
        elif action == "return_delegate_report":
            n.delegate_report_pending = False
        elif action == "recall_delegation":
            n.delegate_id = None
        elif action == "delegate":
            chosen = next((o for o in self.departments(n) if o.code == fields["department"]), None)
            if chosen is None:
                return Refusal(InvalidActionInput, "delegate_target")
            if chosen.id in n.avoided:
                return Refusal(InvalidActionInput, "delegate_avoided")
            if chosen.id == n.delegate_id:
                return Refusal(InvalidActionInput, "delegate_same")
            n.delegate_id = chosen.id
        elif action == "approve":
            n.replied_at = now
            self._limit(n, "callback", self.policy.deadlines.callback, today)
        elif action == "record_callback":
            return self._callback(n, fields, now)
        elif action == "close":
            callbacks = self.policy.callbacks
            reason = fields.get("reason") or ""
            if reason and reason not in callbacks.close_reasons:
                return Refusal(InvalidActionInput, "literal_error")
            if not reason:  # the model's complainants all give their names
                return Refusal(CallbackOwed, "callback_owed")
        elif action in REVIEW_REQUESTS.values():
            level = _LEVEL_OF[action]
            below = (self.orgs.by_code(self.record(n)) if level == _LEVELS[0] or n.review_office_id is None
                     else self.orgs.by_id(n.review_office_id))
            n.review_office_id = (higher_office(self.orgs, below) or below).id
            n.review_level = level
            n.closed_at = None
            self._limit(n, level, self.policy.reviews.decision, today)
        elif action in REVIEW_DECISIONS.values():
            outcome = self.policy.reviews.outcomes.get(str(fields.get("opinion")))
            if outcome is None:
                return Refusal(InvalidActionInput, "literal_error")
            if _LEVEL_OF[action] == _LEVELS[-1]:
                n.concluded_at = now
            if outcome.rehandle:
                n.return_count += 1
                self._handling(n, today)
            else:
                n.replied_at = n.closed_at = now
                self._clear(n)
        if action in ("send_back", "reopen"):
            n.return_count += 1
        if action == "reopen":
            n.closed_at = None
        if action in _NEW_HANDLING and action != "step_up":
            self._handling(n, today)
        if action in _CLOSING:
            n.closed_at = now
            self._clear(n)
        return None

    def _callback(self, n: ModelCase, fields: dict[str, Any], now: dt.datetime) -> Refusal | None:
        """回访: counted satisfied closes, any other result returns with its reason, 联系不上 waits."""
        result = fields["result"]
        if result == "unreachable":
            n.unreachable[n.deadline_seq] = n.unreachable.get(n.deadline_seq, 0) + 1
        elif result in self.policy.callbacks.satisfied_results:
            n.closed_at = now
            self._clear(n)
        elif not fields.get("reason"):
            return Refusal(InvalidActionInput, "missing")
        else:
            n.return_count += 1
            self._handling(n, local_date(now))
        return None

    def _chosen_unit(self, n: ModelCase, action: str, code: str | None) -> OrgInfo | Refusal:
        if code:
            return self.orgs.by_code(code)
        office = self.orgs.by_code(n.office)
        if action == "escalate":
            return (higher_office(self.orgs, self.orgs.by_id(n.unit_id) if n.unit_id else office)
                    or self.orgs.by_code(self.record(n)))
        if action == "refer":
            commission = commission_for(self.orgs, office)
            if commission is not None:
                return commission
        return Refusal(InvalidActionInput, "missing")

    def _assign(self, n: ModelCase, requested: OrgInfo, *, actor: Actor, action: str,
                chosen: bool, today: dt.date) -> Refusal | None:
        """Avoidance first (the office above a unit the case complains about), then the target rule."""
        assigned: OrgInfo | None = requested
        while assigned is not None and assigned.id in n.avoided:
            assigned = higher_office(self.orgs, assigned)
        if assigned is None:
            return Refusal(AvoidanceViolation)
        if chosen:
            try:
                routing_check_target(self.orgs, self.policy, self.ctx.labels,
                                     case=SimpleNamespace(unit_id=n.unit_id, office_id=self.orgs.by_code(
                                         n.office).id, record_office_id=n.record_office_id,
                                         number=n.number),  # type: ignore[arg-type]
                                     actor=actor, action=action, unit=requested)
            except InvalidActionInput as exc:
                return Refusal(InvalidActionInput, exc.kind)
        if n.unit_id != assigned.id:  # a new unit signs for it (签收) by policy [deadlines.sign_for];
            n.delegate_id, n.delegate_report_pending = None, False  # the old unit's department goes
            n.sign_due_on = None
            if assigned.kind != "office":
                limit = self.policy.deadlines.sign_for
                n.sign_due_on = due_date(self.ctx.calendar_for(assigned.code), start=today,
                                         days=limit.days, unit=limit.unit).date
        n.unit_id = assigned.id
        record = self.record(n)
        if assigned.kind == "office" and assigned.code != record and in_region(record, assigned.code):
            n.record_office_id = None if assigned.code == n.office else assigned.id  # 提级直办 moves it up
        return None

    def calendar(self, m: ModelCase) -> Any:
        return self.ctx.calendar_for(self.code(m.unit_id) or m.office)

    def _limit(self, n: ModelCase, kind: str, limit: Limit, start: dt.date) -> None:
        n.deadline_seq += 1
        n.deadline_kind, n.deadline_start = kind, start
        n.deadline_days, n.deadline_unit = limit.days, limit.unit
        n.extension_days = 0
        answer = due_date(self.calendar(n), start=start, days=limit.days, unit=limit.unit)
        n.deadline_on, n.deadline_provisional = answer.date, answer.provisional

    def _handling(self, n: ModelCase, today: dt.date) -> None:
        assert n.disposition is not None
        self._limit(n, "handling", self.policy.handling_limit(n.disposition, n.priority), today)

    def _raised(self, n: ModelCase, today: dt.date) -> None:
        """A raise keeps the running handling deadline ([ladder] raise_deadline "keep"), or with
        "shorter" takes the raised disposition's limit when that ends earlier."""
        if n.deadline_kind != "handling" or n.deadline_on is None:
            self._handling(n, today)
        elif self.policy.ladder.raise_deadline == "shorter":
            assert n.disposition is not None
            limit = self.policy.handling_limit(n.disposition, n.priority)
            if due_date(self.calendar(n), start=today, days=limit.days, unit=limit.unit).date < n.deadline_on:
                self._handling(n, today)

    @staticmethod
    def _clear(n: ModelCase) -> None:
        n.deadline_kind = n.deadline_start = n.deadline_days = n.deadline_unit = n.deadline_on = None
        n.deadline_provisional = False
        n.extension_days = 0

    # -- registration ----------------------------------------------------------------------------

    def registered(self, *, case_id: int, number: str, office: str, priority: str,
                   avoided: frozenset[int], held_by: frozenset[int], matter: tuple[str, str],
                   identity: tuple[str, str, str], now: dt.datetime) -> ModelCase:
        m = ModelCase(id=case_id, number=number, office=office, priority=priority, avoided=avoided,
                      held_by=held_by, matter=matter, identities=[identity])
        self._limit(m, "triage", self.policy.deadlines.triage, local_date(now))
        return m

    def repeat_target(self, cases: list[ModelCase], matter: tuple[str, str]) -> ModelCase | None:
        """The open case a repeat complaint is linked to: the oldest of its matter not held by whom
        it is about (a clerk sees every case)."""
        for m in sorted(cases, key=lambda c: c.id):
            if m.matter == matter and m.state not in ("closed", "not_accepted"):  # FINISHED_STATES
                if m.unit_id in m.held_by or self.orgs.by_code(m.office).id in m.held_by:
                    continue
                return m
        return None
