"""The one writer: every change to a case is one transaction here (case + audit event), or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session, select

from duban.clock import as_utc, local_date
from duban.db import insert_or_skip, row_locks
from duban.deadlines import apply_limit
from duban.errors import (
    ActionNotAllowed,
    CaseHeldElsewhere,
    CaseNotFound,
    InvalidActionInput,
    PermissionDenied,
    StaleCase,
)
from duban.models import Case, CaseCreate, CaseNumberSeq, Complainant, RepeatContact, Subject
from duban.services import attachments, pressure
from duban.services.attachments import Checked, Upload
from duban.services.audit import append_event
from duban.services.context import Actor, ServiceContext
from duban.services.directory import OrgInfo
from duban.services.driver import Prepared
from duban.services.forms import parse_form
from duban.services.handlers import HANDLERS, Guards, Step, calendar_of, lapse_return
from duban.services.notices import notify_complainants
from duban.services.persist import (
    WRITE_COLUMNS,
    column_defaults,
    fetch_cases,
    insert_case,
    insert_row,
    track,
)
from duban.services.redaction import Identity, case_identity, redact_text
from duban.services.reredact import reredact_case
from duban.services.reviews import UNDER_REVIEW, concluded_matter, review_refusal, speaks_for_review
from duban.services.routing import office_of_record, with_departments
from duban.services.scope import CITIZEN, acts_as, in_region, may_see, may_take, region_of, registers_as
from duban.services.subjects import SubjectMatch
from duban.services.subjects import resolve as resolve_subject
from duban.services.writetx import write_tx
from duban.states import CaseAdapter, CaseState, allowed_actions, triggers
from duban.states.definition import (
    OPEN_STATES,
    RETURN_ACTIONS,
    RETURN_STATES,
    REVIEW_DECISIONS,
    REVIEW_REQUESTS,
)
from duban.states.machine import decide, take
from duban.workcal import COVERAGE, COVERAGE_MESSAGE, receivable

_RETURN_STATES = frozenset(s.value for s in RETURN_STATES)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CLOCK_SLACK = dt.timedelta(minutes=5)  # clocks of the office's machines differ a little
_SUBJECT_KINDS = ("unit", "person", "enterprise", "other")

# Built once: a statement's cache key is computed on every execution of a new statement object.
_CASES = Case.__table__  # type: ignore[attr-defined]
# An action reads the case without its raw title and summary: it never needs them (they are
# written once, at registration), and the statement a unit's action sends names no raw text.
_LOAD = {
    (by, locked): Prepared((lambda q: q.with_for_update() if locked else q)(
        select(*WRITE_COLUMNS).where(_CASES.c[by] == bindparam("ref"))))
    for by in ("id", "number") for locked in (False, True)
}

# Open cases of a matter, oldest first; the first the registering actor may see is linked to.
_OPEN_BY_MATTER = Prepared(select(*WRITE_COLUMNS).where(_CASES.c.matter_key == bindparam("key"),
                                                        or_(*(_CASES.c.state == s for s in OPEN_STATES)))
                           .order_by(_CASES.c.id).limit(100))
_SEQS = CaseNumberSeq.__table__  # type: ignore[attr-defined]
_NUMBER_ROW = {
    dialect: Prepared(insert.values(office_id=bindparam("office"), year=bindparam("in_year"), last=0))
    for dialect, insert in insert_or_skip(_SEQS, key=["office_id", "year"]).items()
}
# The year's first number creates its row; a later one (or one racing the first: it waits for
# the row's insert, then updates it) takes the next under the row's lock. One statement.
_NEXT_NUMBER = {
    dialect: Prepared(insert.values(office_id=bindparam("office"), year=bindparam("in_year"), last=1)
                      .on_conflict_do_update(index_elements=["office_id", "year"],
                                             set_={"last": _SEQS.c.last + 1})
                      .returning(_SEQS.c.last))
    for dialect, insert in (("postgresql", pg_insert(_SEQS)), ("sqlite", sqlite_insert(_SEQS)))
}
_ADD_NUMBERS = (update(_SEQS)
                .where(_SEQS.c.office_id == bindparam("office"), _SEQS.c.year == bindparam("in_year"))
                .values(last=_SEQS.c.last + bindparam("count")))
_LAST_NUMBERS = select(_SEQS.c.office_id, _SEQS.c.year, _SEQS.c.last).where(
    _SEQS.c.office_id.in_(bindparam("offices", expanding=True)),
    _SEQS.c.year.in_(bindparam("years", expanding=True)))


_CASE_DEFAULTS = {"id": None, **column_defaults(Case)}  # a new case: no id until stored
_CASE_MANAGER = manager_of_class(Case)


class _Draft(SimpleNamespace):
    """A new case's columns while its deadline and engine columns are worked out: a Case is made
    from them at once (`Case(...)` costs pydantic's per-field work, and each attribute set on a
    Case goes through the ORM's change tracking, neither of which a row not yet stored needs)."""


def _held_by(case: Case, orgs: set[int]) -> bool:
    """Whether one of `orgs` holds the case (handles it, or received it) and would learn of a link."""
    return case.unit_id in orgs or case.office_id in orgs


@dataclass(frozen=True)
class Intake:
    """A complaint checked for registration (`CaseService.prepare`): what it will be registered as."""

    data: CaseCreate
    received_at: dt.datetime
    office: OrgInfo
    subject: SubjectMatch
    key: str  # matter_key
    identity: Identity  # the complainant's, cut out of the redacted twins


def complainant_values(data: CaseCreate) -> dict[str, Any]:
    return {"name": data.complainant_name, "phone": data.complainant_phone,
            "email": data.complainant_email, "address": data.complainant_address,
            "real_name": data.complainant_real_name,
            "consent_disclose": data.complainant_consent}


def subject_values(intake: Intake) -> dict[str, Any] | None:
    """The subject row of a complaint; None when it names nobody."""
    data, org = intake.data, intake.subject.org
    if not data.subject_name and org is None:
        return None
    return {"name": data.subject_name or (org.name if org else ""), "kind": data.subject_kind,
            "org_id": org.id if org else None, "resolution": intake.subject.resolution}


def registration_data(intake: Intake, case: Case) -> dict[str, Any]:
    """The `data` of a registration's audit event."""
    return {"office": intake.office.code, "priority": case.priority}


@dataclass(frozen=True)
class Registered:
    case: Case
    linked: bool  # True when the complaint repeats an open case and was linked to it


def matter_key(subject_name: str, title: str) -> str:
    """Identity of "the same matter": subject and title with spacing and punctuation folded."""

    def fold(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower()
        return re.sub(r"[\W_]+", "", text)

    if not subject_name and not title:
        return ""
    return hashlib.sha256(f"{fold(subject_name)}|{fold(title)}".encode()).hexdigest()[:32]


class CaseService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction for a batch of `act_in` calls: all of them commit, or none.

        A WriteTx, not a Session: case rows are written by persist.py at the end, the rows an
        action adds go in by prepared statements at once, and the ORM is there only for the
        steps that ask for it (services/writetx.py)."""
        return write_tx(self.ctx.engine, keys=self.ctx.audit_keys)

    def _case_tx(self) -> AbstractContextManager[Session]:
        """The transaction of one case's action or registration: its statements find their rows by
        a key (the case's id or number, its rows' case_id, its matter key), so PostgreSQL may
        reuse their plans (writetx `keyed`); a batch's `transaction()` filters many rows."""
        return write_tx(self.ctx.engine, keys=self.ctx.audit_keys, keyed=True)

    # -- reading ---------------------------------------------------------------------------

    def load_in(self, session: Session, ref: int | str, *, for_write: bool) -> Case:
        """The case by id or number; for writing, locked (PostgreSQL) and tracked (persist.py)."""
        by = "id" if isinstance(ref, int) else "number"
        locked = for_write and row_locks(session.get_bind())
        found = fetch_cases(session, _LOAD[by, locked], {"ref": ref}, for_write=for_write)
        if not found:
            raise CaseNotFound(ref)
        return found[0]

    def get(self, ref: int | str) -> Case:
        """Where a case stands, for the engine and the simulation: its facts, not its texts (faces
        read a case through services/reading.py, with the reader as actor)."""
        with Session(self.ctx.engine) as session:
            return self.load_in(session, ref, for_write=False)

    def allowed_actions(self, case: Case, actor: Actor | None = None) -> list[str]:
        with Session(self.ctx.engine) as session:
            return self.allowed_in(session, case, actor)

    def allowed_in(self, session: Session, case: Case, actor: Actor | None, *,
                   guards: Guards | None = None) -> list[str]:
        adapter = CaseAdapter(case, guards or Guards(session, self.ctx, self.ctx.today()))
        actions = allowed_actions(adapter)
        if actor is not None:
            mode = acts_as(session, actor, case)
            if mode is None:
                return []
            actions = [a for a in actions if self._may(actor, a, case, mode)]
        return actions

    def _may(self, actor: Actor, action: str, case: Case, mode: str) -> bool:
        roles = self.ctx.policy.roles.get(action, [])
        if actor.role not in roles:
            return False
        if mode == "unit" and actor.role != "unit":
            return "unit" in roles  # an office handling a case held above does what a unit does
        return may_take(actor, action, case) and self._decides_review(actor, action, case)

    def _decides_review(self, actor: Actor, action: str, case: Case) -> bool:
        """复查 / 复核 under way is decided by the reviewing office (or one above it), never the office
        below (out of review the machine refuses a decision as not allowed in the state)."""
        return (action not in REVIEW_DECISIONS.values() or case.state not in UNDER_REVIEW
                or speaks_for_review(self.ctx.orgs, actor, case))

    # -- writing ---------------------------------------------------------------------------

    def act(
        self,
        ref: int | str,
        action: str,
        *,
        actor: Actor,
        form: dict[str, Any] | None = None,
        expected_version: int | None = None,
        files: Sequence[Upload] = (),
    ) -> Case:
        """Perform one action on a case, checking role, state, guards and version first.

        `files`: attachments, for the actions policy [attachments.actions] names; checked by
        content and stored (services/attachments.py) before the transaction, named in its event.
        """
        parsed = parse_form(action, form)
        checked = self._files(action, files, actor=actor)
        with self._case_tx() as session:
            case = self.load_in(session, ref, for_write=True)
            if not may_see(session, actor, case):
                raise CaseNotFound(ref)  # nobody learns that cases outside their scope exist
            if expected_version is not None and case.version != expected_version:
                raise StaleCase(case_number=case.number, expected=expected_version,
                                actual=case.version)
            return self._apply(session, case, action, actor=actor, parsed=parsed, now=self.ctx.now(),
                               files=checked)

    def _files(self, action: str, files: Sequence[Upload], *, actor: Actor) -> list[Checked]:
        """Attachments checked by content and stored; a role that may not act stores nothing."""
        if not files:
            return []
        roles = self.ctx.policy.roles.get(action, [])
        if actor.role not in roles:
            raise PermissionDenied(action=action, role=actor.role, allowed_roles=roles)
        checked = attachments.check(self.ctx, action, files)
        attachments.put(self.ctx, checked)
        return checked

    def act_in(self, session: Session, case: Case, action: str, *, actor: Actor,
               form: dict[str, Any] | None = None, now: dt.datetime | None = None,
               authority: str | None = None, data: dict[str, Any] | None = None) -> Case:
        """Perform an action inside a transaction the caller holds (from `transaction()`).

        For batches: the deadline sweep acts on a chunk of cases in one transaction, having
        loaded (and on PostgreSQL locked) them itself. Same checks as `act`, no version check.
        `authority`: the `[roles]` key whose roles may fire it instead of the action's own (a
        proposal confirmed under decide_pressure); `data`: added to the audit event's data.
        """
        return self._apply(session, case, action, actor=actor, parsed=parse_form(action, form),
                           now=now or self.ctx.now(), authority=authority, data=data)

    def _apply(self, session: Session, case: Case, action: str, *, actor: Actor, parsed: Any,
               now: dt.datetime, authority: str | None = None,
               data: dict[str, Any] | None = None, files: Sequence[Checked] = ()) -> Case:
        roles = self.ctx.policy.roles.get(authority or action, [])
        if actor.role not in roles:
            raise PermissionDenied(action=authority or action, role=actor.role, allowed_roles=roles)
        mode = acts_as(session, actor, case)
        # An office that reads a case another office holds is told who holds it; a unit's own
        # limits (its case, or a commission's referral steps) are refused below.
        office_as_unit = mode == "unit" and actor.role != "unit"
        if mode is None or (office_as_unit and not self._may(actor, action, case, mode)):
            if not may_see(session, actor, case):
                raise PermissionDenied(action=action, role=actor.role, allowed_roles=roles,
                                       reason="the case was received outside your office's region")
            raise CaseHeldElsewhere(case_number=case.number, action=action, role=actor.role,
                                    allowed_roles=roles,
                                    holder=office_of_record(self.ctx.orgs, case).name)
        if not may_take(actor, action, case):
            raise PermissionDenied(action=action, role=actor.role, allowed_roles=roles,
                                   reason="a unit acts on its own cases; a commission on its referrals")
        if not self._decides_review(actor, action, case):
            # The office above holds a case under review: it gives the opinion (复查、复核机关).
            assert case.review_office_id is not None
            reviewer = self.ctx.orgs.by_id(case.review_office_id).name
            raise CaseHeldElsewhere(case_number=case.number, action=action, role=actor.role,
                                    allowed_roles=roles, holder=reviewer)
        today = local_date(now)
        guards = Guards(session, self.ctx, today)
        adapter = CaseAdapter(case, guards, parsed)
        state = CaseState(case.state).value
        if action not in triggers(state):
            raise ActionNotAllowed(case_number=case.number, action=action, state=state,
                                   allowed=self.allowed_in(session, case, actor))
        decision = decide(adapter, action)
        failed = decision.failed
        if failed and action in REVIEW_REQUESTS.values():
            refused = review_refusal(session, self.ctx, case, action, today=today,
                                     allowed=self.allowed_in(session, case, actor))
            if refused is not None:
                raise refused
        if failed:
            reason = "; ".join(self.ctx.labels.of("guards", g) for g in failed)
            raise ActionNotAllowed(case_number=case.number, action=action, state=state,
                                   allowed=self.allowed_in(session, case, actor), reason=reason)
        track(session, case)  # written at commit, whoever loaded it
        unit_before = case.unit_id
        take(adapter, decision)
        step = Step(session=session, case=case, ctx=self.ctx, actor=actor, action=action,
                    form=parsed, now=now)
        HANDLERS[action](step)
        if files:  # the files' rows are named in the event, and their hashes in its data
            step.data["attachments"] = attachments.record(
                session, self.ctx, case_id=step.case_id, action=action, actor=actor, files=files,
                now=now, redact=step.redact)
        if (state in _RETURN_STATES and action not in RETURN_ACTIONS
                and (case.unit_id != unit_before or case.state not in _RETURN_STATES)):
            lapse_return(step)  # a 退单 still asked of a unit that no longer holds the case
        notify_complainants(step)  # whatever notice config/notifications.toml names for the action
        if data:
            step.data.update(data)
        pressure.refresh(case, action=action, calendar=calendar_of(session, self.ctx, case),
                         policy=self.ctx.policy, today=today)
        case.version += 1
        case.updated_at = now
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                     action=action, from_state=state, reason=step.reason,
                     reason_redacted=step.redact(step.reason), data=step.data)
        return case

    def register(self, data: CaseCreate, *, actor: Actor,
                 also: Callable[[Session, Registered], None] | None = None,
                 files: Sequence[Upload] = ()) -> Registered:
        """Register a complaint: a new case, or a link to the open case it repeats.

        `also` runs in the same transaction once the case exists (the importer records the ledger
        row there), so the registration and what it writes commit together or not at all.
        """
        now = self.ctx.now()
        self._check_registration(data, actor=actor, now=now)  # before taking the writer's turn
        checked = self._files("register", files, actor=actor)
        with self._case_tx() as session:
            intake = self._intake(session, data, actor=actor, now=now)
            registered = self.register_intake(session, intake, actor=actor,
                                              target=self.repeat_target(session, intake, actor=actor),
                                              files=checked)
            if also is not None:
                also(session, registered)
            return registered

    def register_in(self, session: Session, data: CaseCreate, *, actor: Actor,
                    now: dt.datetime | None = None) -> Registered:
        """`register` inside a transaction the caller holds (from `transaction()`).

        `now` is the clock's time (a complaint without `received_at` is received then).
        """
        intake = self.prepare(session, data, actor=actor, now=now or self.ctx.now())
        return self.register_intake(session, intake, actor=actor,
                                    target=self.repeat_target(session, intake, actor=actor))

    def prepare(self, session: Session, data: CaseCreate, *, actor: Actor, now: dt.datetime) -> Intake:
        """Every check of a registration that needs no write: the complaint as it will be registered.

        Raises what `register` raises for a bad complaint; writes nothing, locks nothing.
        """
        self._check_registration(data, actor=actor, now=now)
        return self._intake(session, data, actor=actor, now=now)

    def _check_registration(self, data: CaseCreate, *, actor: Actor, now: dt.datetime) -> None:
        roles = self.ctx.policy.roles.get("register", [])
        if actor.role not in roles:
            raise PermissionDenied(action="register", role=actor.role, allowed_roles=roles)
        if actor.role == CITIZEN:
            self._check_citizen(data)
        self._check_codes(data, now=now)

    @staticmethod
    def _check_citizen(data: CaseCreate) -> None:
        """A citizen files on the public pages: channel online, received now, never naming a case
        to link to (the matter key may still link it, as the receiving office's registration)."""
        if data.channel != "online":
            raise PermissionDenied(action="register", role=CITIZEN, allowed_roles=[CITIZEN],
                                   reason="a citizen registers only channel online")
        for field in ("repeat_of", "received_at"):
            if getattr(data, field) is not None:
                raise InvalidActionInput(action="register", field=field,
                                         message="is not given by a citizen")

    def _intake(self, session: Session, data: CaseCreate, *, actor: Actor, now: dt.datetime) -> Intake:
        office = self.ctx.orgs.by_code(data.office_code)
        region = region_of(session, actor)
        if region is not None and not in_region(office.code, region):
            raise InvalidActionInput(action="register", field="office_code",
                                     message="is outside your region")
        if office.kind != "office":
            raise InvalidActionInput(action="register", field="office_code",
                                     message="is not a supervising office (办公室)")
        subject = self._subject(data, office)
        # The same matter by identity: a subject that names one org is that org, however written.
        key = matter_key(subject.org.code if subject.org and not subject.flagged else data.subject_name,
                         data.title)
        return Intake(data=data, office=office, subject=subject, key=key,
                      received_at=as_utc(data.received_at) if data.received_at else now,
                      identity=Identity.single(data.complainant_name, data.complainant_phone,
                                               data.complainant_address))

    def repeat_target(self, session: Session, intake: Intake, *, actor: Actor) -> Case | None:
        """The open case the complaint repeats (locked for writing), None for a new case.

        Raises for a `repeat_of` that is unknown, out of scope or closed; writes nothing.
        """
        avoided = with_departments(self.ctx.orgs, self.ctx.policy, intake.subject.org_ids)
        return self._repeat_target(session, intake.data, intake.key,
                                   actor=registers_as(actor, intake.office.id), avoided=avoided)

    def register_intake(self, session: Session, intake: Intake, *, actor: Actor,
                        target: Case | None, files: Sequence[Checked] = ()) -> Registered:
        """Write a prepared complaint: linked to `target` (see `repeat_target`), else a new case;
        `files` (checked and stored) belong to this complainant's registration."""
        data, now = intake.data, intake.received_at
        complainant_id = insert_row(session, Complainant, **complainant_values(data))
        subject = subject_values(intake)
        subject_id = insert_row(session, Subject, **subject) if subject is not None else None
        if target is not None:
            return Registered(self._link(session, target, data, intake.identity, complainant_id,
                                         actor, now, subject_id=subject_id, files=files), True)
        case = self.new_case(intake, number=self._next_number(session, intake.office, now),
                             subject_id=subject_id, complainant_id=complainant_id)
        insert_case(session, case)
        facts, flag = registration_data(intake, case), ""
        if files:
            assert case.id is not None
            facts["attachments"] = attachments.record(
                session, self.ctx, case_id=case.id, action="register", actor=actor, files=files, now=now,
                owner_id=complainant_id, redact=lambda text: redact_text(text, intake.identity))
        concluded = concluded_matter(session, intake.key, actor=actor)
        if concluded is not None:  # 终结 (services/reviews.py): flagged in the timeline, not refused
            facts["concluded_matter"] = concluded
            flag = self.ctx.labels.of("review_levels", "concluded_repeat").format(number=concluded)
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                     action="register", from_state=None, data=facts, reason=flag, reason_redacted=flag)
        return Registered(case, False)

    def new_case(self, intake: Intake, *, number: str, subject_id: int | None,
                 complainant_id: int) -> Case:
        """The case a new complaint opens, with its texts' redacted twins, triage deadline and
        engine columns; not yet stored."""
        data, now, office = intake.data, intake.received_at, intake.office
        draft = _Draft(**_CASE_DEFAULTS)
        draft.__dict__.update(
            title=data.title, summary=data.summary, category=data.category, channel=data.channel,
            priority=data.priority, number=number, office_id=office.id, level=office.level,
            state=CaseState.RECEIVED.value, subject_id=subject_id, complainant_id=complainant_id,
            priority_rank=self.ctx.policy.priorities.rank(data.priority), matter_key=intake.key,
            received_at=now, updated_at=now,
            title_redacted=redact_text(data.title, intake.identity),
            summary_redacted=redact_text(data.summary, intake.identity),
        )
        calendar = self.ctx.calendar_for(office.code)  # calendar_of a case held by no unit yet
        apply_limit(draft, calendar, kind="triage", limit=self.ctx.policy.deadlines.triage,
                    start=local_date(now))
        pressure.refresh(draft, action="register", calendar=calendar, policy=self.ctx.policy,
                         today=local_date(now))
        case: Case = _CASE_MANAGER.new_instance()
        case.__dict__.update(draft.__dict__)
        return case

    def _check_codes(self, data: CaseCreate, *, now: dt.datetime) -> None:
        labels = self.ctx.labels
        for field, table in (("priority", "priorities"), ("channel", "channels"),
                             ("category", "categories"), ("subject_kind", None)):
            value = getattr(data, field)
            allowed = getattr(labels, table) if table else _SUBJECT_KINDS
            if value not in allowed:  # the value itself is never repeated: it may hold a name
                raise InvalidActionInput(action="register", field=field, kind="literal_error",
                                         message=f"must be one of {', '.join(list(allowed))}")
        if not data.title.strip():
            raise InvalidActionInput(action="register", field="title", message="must not be empty")
        # Every door into the engine (API, pages, CLI, ledger import) meets the same rules here.
        for field, value in data.__dict__.items():  # every field, as model_dump() gives them
            if isinstance(value, str) and ("\x00" in value or _LONE_SURROGATE.search(value)):
                raise InvalidActionInput(action="register", field=field,
                                         message="contains a NUL byte or broken unicode")
        if data.received_at is not None and not receivable(data.received_at):
            raise InvalidActionInput(action="register", field="received_at", kind="date_out_of_range",
                                     message=COVERAGE_MESSAGE, limits={"coverage": COVERAGE})
        if data.received_at is not None and as_utc(data.received_at) > now + _CLOCK_SLACK:
            raise InvalidActionInput(action="register", field="received_at", kind="date_in_future",
                                     message="lies in the future")

    def _subject(self, data: CaseCreate, office: OrgInfo) -> SubjectMatch:
        """Whom the complaint is about: the org picked by code, else the one its name names."""
        org = self.ctx.orgs.by_code(data.subject_org_code) if data.subject_org_code else None
        return resolve_subject(self.ctx.orgs, name=data.subject_name, kind=data.subject_kind, org=org,
                               near=office)

    def _repeat_target(self, session: Session, data: CaseCreate, key: str, *, actor: Actor,
                       avoided: set[int]) -> Case | None:
        """The open case this complaint repeats, among the cases the actor may see; None: a new case.

        A case outside the actor's scope is "not found", exactly like one that does not exist,
        whatever its state, and the matter key never matches it. A case held (or received) by the
        org the new complaint is about is not linked into: the complaint is registered as a new
        case instead. Linking would tell that unit of the complaint (its repeat count, timeline and
        the repeat's title), and routing the old case away would take a case from a unit that may
        rightly be handling it; a new case is dispatched by the avoidance rule like any other.
        """
        if data.repeat_of:
            # Scope first, unlocked: a case out of scope is neither locked nor waited for.
            if not may_see(session, actor, self.load_in(session, data.repeat_of, for_write=False)):
                raise CaseNotFound(data.repeat_of)
            case = self.load_in(session, data.repeat_of, for_write=True)
            if case.state not in OPEN_STATES:  # closed, or not accepted (不予受理)
                raise InvalidActionInput(action="register", field="repeat_of",
                                         message=f"{case.number} is {case.state}; register a new case")
            return None if _held_by(case, avoided) else case
        if not key:
            return None
        for candidate in fetch_cases(session, _OPEN_BY_MATTER, {"key": key}, for_write=False):
            if may_see(session, actor, candidate) and not _held_by(candidate, avoided):
                assert candidate.id is not None
                case = self.load_in(session, candidate.id, for_write=True)
                return case if case.state in OPEN_STATES and not _held_by(case, avoided) else None
        return None

    def _link(self, session: Session, case: Case, data: CaseCreate, newcomer: Identity,
              complainant_id: int, actor: Actor, now: Any, *, subject_id: int | None,
              files: Sequence[Checked] = ()) -> Case:
        """Link a repeat complaint. A new complainant joined the case: every redacted twin of the
        case is recomputed with their identity too, so what units read never names them."""
        assert case.id is not None
        identity = case_identity(session, case.id) | newcomer
        insert_row(session, RepeatContact, case_id=case.id, complainant_id=complainant_id,
                   subject_id=subject_id, channel=data.channel, title=data.title,
                   title_redacted=redact_text(data.title, identity), received_at=now)
        reredact_case(session, case, identity)
        case.repeat_count += 1
        case.version += 1
        case.updated_at = now
        facts: dict[str, Any] = {"repeat_count": case.repeat_count}
        if files:
            facts["attachments"] = attachments.record(
                session, self.ctx, case_id=case.id, action="register", actor=actor, files=files, now=now,
                owner_id=complainant_id, redact=lambda text: redact_text(text, identity))
        append_event(session, case, at=now, actor=actor.name, actor_role=actor.role,
                     action="link_repeat", from_state=case.state, data=facts)
        return case

    def _next_number(self, session: Session, office: OrgInfo, now: Any) -> str:
        """The office's next number for the year, safe when its first cases arrive at once.

        One INSERT … ON CONFLICT DO UPDATE … RETURNING: the year's first number creates its
        row; a concurrent first waits for that insert and then takes the next number by the
        update, under the row's lock.
        """
        year = local_date(now).year
        key = {"office": office.id, "in_year": year}
        last = _NEXT_NUMBER[self.ctx.engine.dialect.name].scalar(session, key)
        return f"{office.code}-{year}-{last:05d}"

    def take_numbers(self, session: Session, wanted: dict[tuple[OrgInfo, int], int]
                     ) -> dict[tuple[OrgInfo, int], list[str]]:
        """`count` next numbers of each (office, year), as `_next_number` takes one: three
        statements for a whole batch. Offices in a fixed order, so two batches never wait on each
        other's sequence rows in turn; the rows stay locked until commit, so reading them back
        after the UPDATE reads what this transaction took."""
        if not wanted:
            return {}
        order = sorted(wanted, key=lambda k: (k[0].id, k[1]))
        keys = [{"office": office.id, "in_year": year} for office, year in order]
        conn = session.connection()
        _NUMBER_ROW[conn.dialect.name].run_many(conn, keys)
        conn.execute(_ADD_NUMBERS, [{**key, "count": wanted[k]} for key, k in zip(keys, order, strict=True)])
        last = {(office_id, year): n for office_id, year, n in conn.execute(
            _LAST_NUMBERS, {"offices": sorted({o.id for o, _ in order}),
                            "years": sorted({y for _, y in order})})}
        return {(office, year): [f"{office.code}-{year}-{n:05d}" for n in range(
            last[office.id, year] - wanted[office, year] + 1, last[office.id, year] + 1)]
            for office, year in order}
