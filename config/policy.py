"""Policy and labels, read from TOML and validated at start.

Packaged defaults live beside this module; an office's override folder (DUBAN_CONFIG_DIR) may hold
`policy.toml` and `labels.toml` whose keys replace the defaults one by one.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from duban.errors import ConfigError

Unit = Literal["workdays", "days"]
PRIORITIES = ("livelihood", "enterprise", "normal")


class Limit(BaseModel):
    days: int = Field(ge=1, le=366)
    unit: Unit = "workdays"
    source: str = ""


class HandlingLimits(BaseModel):
    source: str = ""
    normal: Limit
    enterprise: Limit
    livelihood: Limit

    def for_priority(self, priority: str) -> Limit:
        return getattr(self, priority)  # type: ignore[no-any-return]


class Deadlines(BaseModel):
    triage: Limit
    review: Limit
    callback: Limit
    progress: Limit
    objection: Limit
    handling: dict[str, HandlingLimits]
    # 签收: how long a unit has to sign for a case handed to it (a reminder when late).
    sign_for: Limit = Field(default_factory=lambda: Limit(days=1))


class Extension(BaseModel):
    """延期: a request names an amount in `unit`; the deadline moves by it on the official calendar.
    `max_days` in `max_unit` caps how far one extension may move the deadline."""

    unit: Unit = "workdays"
    max_days: int = Field(ge=1, le=366)
    max_unit: Unit = "days"
    max_count: int = Field(ge=0)
    source: str = ""
    unit_source: str = ""


class DeclineReason(BaseModel):
    source: str = Field(min_length=1)


class Intake(BaseModel):
    """不予受理: the reasons an office may decline a received case for, each with its rule."""

    decline_reasons: dict[str, DeclineReason] = Field(default_factory=dict)
    source: str = ""


FINDINGS = ("true", "partly_true", "untrue")  # 是否属实: 属实, 部分属实, 不属实
REPORT_PARTS = ("finding", "actions_taken", "rectification", "accountability")


class HandlingReportPolicy(BaseModel):
    """What a final handling report must state besides its text (progress reports: the text only)."""

    required: list[str] = Field(default_factory=lambda: ["finding", "actions_taken"])
    source: str = ""

    @model_validator(mode="after")
    def _known(self) -> HandlingReportPolicy:
        unknown = [name for name in self.required if name not in REPORT_PARTS]
        if unknown:
            raise ValueError(f"unknown report parts {unknown}; known: {', '.join(REPORT_PARTS)}")
        return self


class Priorities(BaseModel):
    order: list[str]

    def rank(self, priority: str) -> int:
        return self.order.index(priority)


class Warnings(BaseModel):
    blue_fraction_left: float = Field(gt=0, lt=1)
    yellow_workdays_left: int = Field(ge=0)
    source: str = ""


class RankingWeights(BaseModel):
    response: float = Field(default=0.3, ge=0)
    resolution: float = Field(default=0.4, ge=0)
    satisfaction: float = Field(default=0.3, ge=0)


class ReportPolicy(BaseModel):
    """What the leaders' reports count and whom they go to (duban.reports)."""

    supervision_actions: list[str] = Field(default_factory=lambda: [
        "remind", "copy_notice", "work_reminder", "interview", "public_notice"])
    ranking: RankingWeights = Field(default_factory=RankingWeights)
    ranking_min_cases: int = Field(default=1, ge=1)
    top_units: int = Field(default=10, ge=1)
    # Last month's report is queued to the leaders on the first run on or after this day.
    monthly_day: int = Field(default=1, ge=1, le=28)
    # Office code -> leaders' addresses; an office not listed gets its own head_email.
    recipients: dict[str, list[str]] = Field(default_factory=dict)
    source: str = ""


LadderAction = Literal["remind", "copy_notice", "work_reminder", "interview", "public_notice", "step_up"]


LadderMode = Literal["automatic", "propose"]
# A step left without `mode`: the light ones fire by themselves, the heavy ones wait for a person.
DEFAULT_MODES: dict[str, LadderMode] = {
    "remind": "automatic", "copy_notice": "automatic", "work_reminder": "automatic",
    "interview": "propose", "public_notice": "propose", "step_up": "propose"}


class LadderStep(BaseModel):
    action: LadderAction
    after_workdays: int = Field(ge=0, le=250)  # working days after the deadline day; 0 = on it
    dispositions: list[str] | None = None  # only cases with one of these dispositions
    # automatic: the sweep fires it; propose: the sweep records a proposal that a supervisor or
    # leader confirms, changes or dismisses (duban.services.proposals).
    mode: LadderMode = "automatic"
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _default_mode(cls, data: object) -> object:
        if isinstance(data, dict) and "mode" not in data and data.get("action") in DEFAULT_MODES:
            return {**data, "mode": DEFAULT_MODES[data["action"]]}
        return data


class Ladder(BaseModel):
    """The escalation ladder (duban.services.pressure): steps in the order they fire."""

    deadline_kinds: list[str] = Field(default_factory=lambda: ["handling"])
    steps: list[LadderStep]
    # A raised disposition (step_up) never gives the unit more time: keep the running deadline,
    # or take the earlier of it and the new disposition's limit ("shorter").
    raise_deadline: Literal["keep", "shorter"] = "keep"
    raise_deadline_source: str = ""
    source: str = ""

    def mode_of(self, action: str) -> str:
        """How the sweep treats a due step of `action` (not a ladder step: automatic)."""
        return next((s.mode for s in self.steps if s.action == action), "automatic")

    @model_validator(mode="after")
    def _in_order(self) -> Ladder:
        offsets = [s.after_workdays for s in self.steps]
        if offsets != sorted(offsets):
            raise ValueError("list the steps in the order they fire (after_workdays not decreasing)")
        if len({s.action for s in self.steps}) != len(self.steps):
            raise ValueError("each action may appear once")
        return self


class SignFor(BaseModel):
    """签收 reminders: on these working days after the day a unit had to sign by (none: never)."""

    remind_after_workdays: list[int] = Field(default_factory=lambda: [1])
    source: str = ""

    @model_validator(mode="after")
    def _late_only(self) -> SignFor:
        if any(after < 1 for after in self.remind_after_workdays):
            raise ValueError("a reminder goes out once signing is late: remind_after_workdays >= 1")
        return self


class ProgressReports(BaseModel):
    remind_after_workdays: list[int] = Field(default_factory=lambda: [0])
    source: str = ""


CALLBACK_METHODS = ("phone", "sms", "visit")  # 电话, 短信, 走访
CALLBACK_SCALE = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意, 基本满意, 不满意


class Callbacks(BaseModel):
    ratio: float = Field(ge=0, le=1)
    all_real_name: bool = True
    revisit_after_days: int = Field(ge=1)
    revisit_ratio: float = Field(ge=0, le=1)
    revisit_window_days: int = Field(ge=1)
    seed: str = "duban"
    source: str = ""
    # Which results on the scale count as satisfied (满意率) and close the case; the others send
    # it back to the unit and need a reason.
    satisfied_results: list[str] = Field(default_factory=lambda: ["satisfied", "basically_satisfied"],
                                         min_length=1)
    satisfied_source: str = ""
    # Attempts that reached nobody (联系不上) after which the case may be closed as unreachable.
    unreachable_after_attempts: int = Field(default=3, ge=1, le=20)
    unreachable_source: str = ""
    # Why a real-name case awaiting its callback is closed without one (labels [close_reasons]).
    close_reasons: list[str] = Field(default_factory=lambda: ["declined", "no_contact"])
    close_reasons_source: str = ""

    @model_validator(mode="after")
    def _on_the_scale(self) -> Callbacks:
        unknown = [r for r in self.satisfied_results if r not in CALLBACK_SCALE]
        if unknown:
            raise ValueError(f"satisfied_results: each one of {', '.join(CALLBACK_SCALE)}")
        if set(self.satisfied_results) == set(CALLBACK_SCALE):
            raise ValueError("satisfied_results: at least one result must not count as satisfied")
        return self


class Monthly(BaseModel):
    due_day: int = Field(ge=2, le=28)
    remind_workdays_before: int = Field(ge=1, le=15)
    source: str = ""


class Notify(BaseModel):
    batch_size: int = Field(default=200, ge=1)
    backoff_seconds: float = Field(default=60, gt=0)
    backoff_max_seconds: float = Field(default=3600, gt=0)
    lease_seconds: float = Field(default=600, gt=0)
    timeout_seconds: float = Field(default=30, gt=0)
    # An SMS template parameter is cut to this many characters (with "…"): providers cap them.
    sms_param_max_chars: int = Field(default=300, ge=10)
    # Gateway answer codes that will never succeed on a retry (the number is not a mobile, or has
    # refused SMS): the row fails for good. Any other answer but "OK" is retried with backoff.
    sms_permanent_codes: list[str] = Field(default_factory=list)


class Dispatch(BaseModel):
    """Where a dispatcher may hand a case (duban.services.routing.check_target)."""

    unit_kinds: list[str] = Field(default_factory=lambda: ["government", "department", "bureau"])
    refer_kinds: list[str] = Field(default_factory=lambda: ["commission"])
    province_anywhere: bool = True
    source: str = ""

    @model_validator(mode="after")
    def _no_offices(self) -> Dispatch:
        if "office" in self.unit_kinds or "office" in self.refer_kinds:
            raise ValueError("offices supervise and are never dispatch targets; remove \"office\"")
        return self


class Outcome(BaseModel):
    source: str = ""


class Jurisdiction(BaseModel):
    """Whose commission takes a referral, by the subject org's kind: "same" or "above" its region."""

    model_config = {"extra": "allow"}
    default: Literal["same", "above"] = "same"
    source: str = ""

    def rule_for(self, kind: str | None) -> str:
        rule = (self.model_extra or {}).get(kind or "", self.default)
        if rule not in ("same", "above"):
            raise ValueError(f"jurisdiction for {kind!r} must be \"same\" or \"above\"")
        return str(rule)


class Referral(BaseModel):
    """移交纪检监察机关 (duban.services.referrals): the notices owed, who sees it, the outcomes."""

    acknowledgement: Limit = Field(default_factory=lambda: Limit(days=15))
    feedback: Limit = Field(default_factory=lambda: Limit(days=15))
    remind_after_workdays: list[int] = Field(default_factory=lambda: [1])
    office_roles: list[str] = Field(default_factory=lambda: ["supervisor", "leader"])
    jurisdiction: Jurisdiction = Field(default_factory=Jurisdiction)
    outcomes: dict[str, Outcome] = Field(default_factory=dict)
    source: str = ""

    @model_validator(mode="after")
    def _checked(self) -> Referral:
        for kind, rule in (self.jurisdiction.model_extra or {}).items():
            if rule not in ("same", "above"):
                raise ValueError(f"referral.jurisdiction.{kind} must be \"same\" or \"above\"")
        if any(after < 1 for after in self.remind_after_workdays):
            raise ValueError("notice reminders fire once a notice is late: remind_after_workdays >= 1")
        return self


class ReviewOutcome(BaseModel):
    rehandle: bool = False
    source: str = ""


class Reviews(BaseModel):
    """复查 / 复核 (duban.services.reviews): the request window, the decision limit, the outcomes."""

    request: Limit = Field(default_factory=lambda: Limit(days=30, unit="days"))
    decision: Limit = Field(default_factory=lambda: Limit(days=30, unit="days"))
    remind_after_workdays: list[int] = Field(default_factory=lambda: [1])
    outcomes: dict[str, ReviewOutcome] = Field(default_factory=lambda: {
        "uphold": ReviewOutcome(), "rehandle": ReviewOutcome(rehandle=True)})
    source: str = ""

    @model_validator(mode="after")
    def _checked(self) -> Reviews:
        if not self.outcomes:
            raise ValueError("reviews.outcomes: name at least one outcome")
        if any(after < 1 for after in self.remind_after_workdays):
            raise ValueError("review reminders fire once a decision is late: remind_after_workdays >= 1")
        return self


class Schedule(BaseModel):
    timezone: str = "Asia/Shanghai"
    sweep_every_minutes: int = Field(ge=1)
    deliver_every_minutes: int = Field(ge=1)
    callbacks_cron: str
    monthly_cron: str
    use_prefect: bool = True
    chunk_size: int = Field(default=1000, ge=1)


class SignIn(BaseModel):
    """What a password must be (services/passwords.py)."""

    min_length: int = Field(default=10, ge=8, le=64)
    max_length: int = Field(default=200, ge=64, le=1000)
    refuse_common: bool = True  # common-passwords.txt (and the office's own, in the config folder)
    source: str = ""

class AttachmentAction(BaseModel):
    """What an action's attachments belong to, and whether they are the complainant's own papers
    (a letter, a request for review, a call's record): those are shown as identity is."""

    kind: Literal["registration", "report", "review", "callback"]
    identity: bool = False


class Attachments(BaseModel):
    """Files attached to an action (duban.services.attachments), checked by their content."""

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_files: int = Field(default=10, ge=1, le=100)
    max_name_chars: int = Field(default=200, ge=20, le=255)  # attachments.name is String(255)
    # Types recognised by content (duban.services.filetypes): pdf, jpeg, png, docx, xlsx, pptx, doc, xls.
    types: list[str] = Field(default_factory=lambda: ["pdf", "jpeg", "png", "docx", "xlsx", "doc", "xls"])
    inline: list[str] = Field(default_factory=lambda: ["jpeg", "png"])  # shown in the browser
    actions: dict[str, AttachmentAction] = Field(default_factory=dict)
    source: str = ""


ROLES = ("clerk", "dispatcher", "supervisor", "leader", "admin", "unit", "engine")
Role = Literal["clerk", "dispatcher", "supervisor", "leader", "admin", "unit", "engine"]


class Delegation(BaseModel):
    """二次交办 (duban.services.delegation): which handling units may pass a case on to one of their
    departments, which org kinds those are, and what the department does while it holds the case
    (the government keeps the case, forwards or returns the department's report)."""

    allowed_from_kinds: list[str] = Field(default_factory=lambda: ["government"])
    target_kinds: list[str] = Field(default_factory=lambda: ["department", "bureau"])
    department_actions: list[str] = Field(
        default_factory=lambda: ["submit_report", "report_progress", "request_extension"])
    # 回避: a complaint about a government is kept from its departments too (they answer to it).
    avoided_with_government: bool = True
    source: str = ""

    @model_validator(mode="after")
    def _no_offices(self) -> Delegation:
        if "office" in self.target_kinds or "commission" in self.target_kinds:
            raise ValueError("a case is passed on to a department or bureau, "
                             "never to an office or a commission")
        return self


class Privacy(BaseModel):
    """Who may read a complainant's identity (duban.services.privacy.may_see_identity).

    `identity_roles` read it for cases received by their own office or an office below it;
    `consent_roles` read it on a case their org handles, when every complainant of it agreed.
    Everyone else reads the redacted twins.
    """

    identity_roles: list[Role] = Field(default_factory=lambda: list[Role](["clerk", "dispatcher"]))
    consent_roles: list[Role] = Field(default_factory=lambda: list[Role](["unit"]))
    source: str = ""

    @model_validator(mode="after")
    def _apart(self) -> Privacy:
        if "engine" in self.identity_roles:
            raise ValueError("the engine writes to units and leaders: it may not read identity")
        both = set(self.identity_roles) & set(self.consent_roles)
        if both:
            raise ValueError(f"a role is either an identity role or a consent role, not both: {sorted(both)}")
        return self


class Bulk(BaseModel):
    """Bulk actions (duban.services.bulk): how many cases one request names, and how long a case
    urged (催办) is not urged again by a bulk request (calendar days, today counted as the first)."""

    max_cases: int = Field(default=200, ge=1, le=5000)
    remind_once_per_days: int = Field(default=1, ge=1, le=366)
    source: str = ""


class Policy(BaseModel):
    deadlines: Deadlines
    extension: Extension
    priorities: Priorities
    warnings: Warnings
    roles: dict[str, list[str]]
    ladder: Ladder
    progress_reports: ProgressReports
    callbacks: Callbacks
    monthly: Monthly
    notify: Notify
    schedule: Schedule
    reports: ReportPolicy = Field(default_factory=ReportPolicy)
    dispatch: Dispatch = Field(default_factory=Dispatch)
    sign_in: SignIn = Field(default_factory=SignIn)
    privacy: Privacy = Field(default_factory=Privacy)
    referral: Referral = Field(default_factory=Referral)
    intake: Intake = Field(default_factory=Intake)
    handling_report: HandlingReportPolicy = Field(default_factory=HandlingReportPolicy)
    sign_for: SignFor = Field(default_factory=SignFor)
    reviews: Reviews = Field(default_factory=Reviews)
    delegation: Delegation = Field(default_factory=Delegation)
    bulk: Bulk = Field(default_factory=Bulk)
    attachments: Attachments = Field(default_factory=Attachments)

    def handling_limit(self, disposition: str, priority: str) -> Limit:
        return self.deadlines.handling[disposition].for_priority(priority)


class Labels(BaseModel):
    states: dict[str, str]
    dispositions: dict[str, str]
    actions: dict[str, str]
    guards: dict[str, str]
    priorities: dict[str, str]
    levels: dict[str, str]
    kinds: dict[str, str]
    channels: dict[str, str]
    categories: dict[str, str]
    warnings: dict[str, str]
    deadline_kinds: dict[str, str]
    roles: dict[str, str]
    text: dict[str, str]
    # Form field labels and Chinese validation and error messages (duban.api, duban.web).
    fields: dict[str, str] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)
    referral_outcomes: dict[str, str] = Field(default_factory=dict)
    # Callbacks: methods, results on the scale, why a case was closed without one.
    callback_methods: dict[str, str] = Field(default_factory=dict)
    callback_results: dict[str, str] = Field(default_factory=dict)
    close_reasons: dict[str, str] = Field(default_factory=dict)
    findings: dict[str, str] = Field(default_factory=dict)  # 是否属实 (HandlingReport.finding)
    returns: dict[str, str] = Field(default_factory=dict)  # 退单申请's status
    extension_statuses: dict[str, str] = Field(default_factory=dict)  # 延期申请's status
    review_outcomes: dict[str, str] = Field(default_factory=dict)
    review_levels: dict[str, str] = Field(default_factory=dict)
    # Reports, rates and ledgers (duban.reports, duban.importer); empty when a file predates them.
    report: dict[str, str] = Field(default_factory=dict)
    rates: dict[str, str] = Field(default_factory=dict)
    supervision: dict[str, str] = Field(default_factory=dict)
    # Proposed ladder steps: modes, proposal states, decisions, interviews (duban.services.proposals).
    pressure: dict[str, str] = Field(default_factory=dict)
    ledger: dict[str, str] = Field(default_factory=dict)
    # What a Prefect flow run reports (flows/reporting.py): count names and run messages.
    flows: dict[str, str] = Field(default_factory=dict)
    # 不予受理: the reasons of policy [intake.decline_reasons].
    decline_reasons: dict[str, str] = Field(default_factory=dict)
    # The account record's actions (duban.services.accountaudit).
    account_actions: dict[str, str] = Field(default_factory=dict)
    # The command line's own words: usage errors (duban.cli.usage), table headers, result lines.
    cli: dict[str, str] = Field(default_factory=dict)
    # Column headers of the command line's tables and the pages' result tables, by table name.
    columns: dict[str, list[str]] = Field(default_factory=dict)

    def amount(self, days: int | None, unit: str | None) -> str:
        """An amount of time with its unit, as a person reads it: "5个工作日", "30日"."""
        if days is None:
            return ""
        pattern = self.text.get(f"amount_{unit or 'days'}", "{n}")
        return pattern.format(n=days)

    def of(self, table: str, key: str | None) -> str:
        """The Chinese label of a key, or the key itself so a gap shows rather than crashes."""
        if key is None:
            return ""
        return getattr(self, table).get(key, key)  # type: ignore[no-any-return]


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(name: str, override_dir: Path | None) -> tuple[dict, str]:
    source = f"duban/config/{name}"
    data = tomllib.loads((resources.files("duban.config") / name).read_text(encoding="utf-8"))
    if override_dir is not None and (override_dir / name).is_file():
        path = override_dir / name
        try:
            data = _merge(data, tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source=str(path), key="(file)", message=str(exc)) from exc
        source = f"{source} + {path}"
    return data, source


def _validate(model: type[BaseModel], data: dict, source: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(source=source, key=key, message=first["msg"]) from exc


def load_policy(override_dir: Path | None = None) -> Policy:
    data, source = _read("policy.toml", override_dir)
    policy = _validate(Policy, data, source)
    assert isinstance(policy, Policy)
    if sorted(policy.priorities.order) != sorted(PRIORITIES):
        raise ConfigError(source=source, key="priorities.order", message=f"must list {PRIORITIES}")
    return policy


def load_labels(override_dir: Path | None = None) -> Labels:
    data, source = _read("labels.toml", override_dir)
    labels = _validate(Labels, data, source)
    assert isinstance(labels, Labels)
    return labels


@lru_cache(maxsize=1)
def get_policy() -> Policy:
    from duban.config.settings import get_settings

    return load_policy(get_settings().override_dir)


@lru_cache(maxsize=1)
def get_labels() -> Labels:
    from duban.config.settings import get_settings

    return load_labels(get_settings().override_dir)
