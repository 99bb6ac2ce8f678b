"""Random action sequences through CaseService, each case checked against a pure model (issue 17).

The model (tests/services/casemodel.py) says, from the state machine's data and the policy, what
every action must do: an allowed one moves the case exactly so (state, facts, version + 1, one
audit event from the old state to the new), a refused one raises the named error and leaves the
database as it was, to the row. After every step each case row must equal the model and the facts
of its last event, the keyed chain must verify, and no redacted twin may hold a complainant's
identity. Time moves and the deadline sweep runs; what it does is replayed through the model, and
a second sweep at the same moment must do nothing (nothing sent twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Table, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from duban.errors import ActionNotAllowed, CaseNotFound, DubanError
from duban.models import AuditEvent, Case, CaseCreate
from duban.services import Actor, CaseService
from duban.services.audit import facts_of
from duban.services.context import ENGINE_ACTOR
from duban.services.directory import OrgDirectory
from duban.services.forms import FORMS
from duban.services.integrity import verify
from duban.services.reading import SHOWN_HISTORY, case_detail, load_case
from duban.services.subjects import avoided_orgs
from duban.services.subjects import resolve as resolve_subject
from duban.services.sweeps import run_deadline_sweep
from duban.states.definition import LADDER_ACTIONS, REFERRAL_ACTIONS, TRANSITIONS
from tests.factories import ORGS, advance, fresh_databases, world
from tests.services.casemodel import ADDS, NOTIFYING, CaseModel, Form, ModelCase, Refusal

# The referral path is not modelled here (tests/services/test_referrals.py covers it).
TRIGGERS = sorted({t["trigger"] for t in TRANSITIONS} - set(REFERRAL_ACTIONS))
PRESSING = {*LADDER_ACTIONS, "remind_progress", "remind_sign_for"}
MAX_CASES = 5
# Whom complaints are about: (org code or None, name, kind). An office among them, so that a
# repeat may find its case held by whom it is about.
SUBJECTS = [("GS-LZ-CG-ZJJ", "城关区住建局", "unit"), ("GS-LZ-CG-GOV", "城关区人民政府", "unit"),
            ("GS-LZ", "兰州市办", "unit"), (None, "某建筑工程有限公司", "enterprise"),
            ("GS-LX-GOV", "临夏州人民政府", "unit")]
OFFICES = ["GS", "GS-LZ", "GS-LZ-CG"]
NAMES = ["王小明", "李秀英", "张建国", "刘桂兰", "陈志强", "杨淑珍", "赵德胜", "黄丽华", "周海燕",
         "吴国庆", "徐春梅", "孙立新", "马玉兰", "朱永福"]
UNIT_CODES = [o.code for o in ORGS if o.kind != "office"]
# Units a dispatcher may name: handling units, a commission, an office (never a target), and the
# offices escalation may name.
CHOSEN_UNITS = [*UNIT_CODES, "GS-LZ-CG", "GS-LZ", "GS"]
# What a dispatcher who knows the rules names: handling units, a commission to refer to, an office
# above to escalate to.
HANDLING_UNITS = [o.code for o in ORGS if o.kind in ("government", "department", "bureau")]
FAIR_UNITS = {"refer": ["GS-JW", "GS-LZ-JW"], "escalate": ["GS", "GS-LZ"]}
# The departments a government passes a case on to (二次交办): the county's, and the city's one.
DEPARTMENTS = ["GS-LZ-CG-ZJJ", "GS-LZ-CG-SWJ", "GS-LZ-ZJJ"]
# Office staff: (role, org code or None). Region-bound offices (a county, another city) see part.
STAFF = [("clerk", None), ("dispatcher", None), ("dispatcher", "GS"), ("dispatcher", "GS-LZ-CG"),
         ("dispatcher", "GS-LX"), ("supervisor", None), ("supervisor", "GS-LZ"), ("admin", None),
         ("leader", None), ("engine", None)]
_CASE_COLUMNS = list(Case.__table__.columns.keys())  # type: ignore[attr-defined]
ID_AT, HEAD_AT = _CASE_COLUMNS.index("id"), _CASE_COLUMNS.index("audit_hash")
# Built once: building a statement per call would cost more than the small tables' rows.
EVERY_ROW = {t.name: select(t).order_by(*t.primary_key.columns)
             for t in SQLModel.metadata.sorted_tables if t.name != "orgs"}
REDACTED = [(t, c.name) for t in SQLModel.metadata.sorted_tables for c in t.columns
            if c.name.endswith("_redacted")]


def _identity_text(identity: tuple[str, str, str]) -> str:
    name, phone, address = identity
    return f"{name}（电话{phone}，住{address}）再次反映问题仍未解决"


def _with_departments(orgs: OrgDirectory, ids: set[int]) -> set[int]:
    """The model's own statement of 回避 for a government: its departments (of its region and
    level, under the same office) are kept from a complaint about it too."""
    kept = set(ids)
    for org_id in ids:
        org = orgs.by_id(org_id)
        if org.kind == "government":
            office = orgs.parent(org)
            kept.update(o.id for o in orgs.children(office) if o.kind in ("department", "bureau"))
    return kept


class CaseLives(RuleBasedStateMachine):
    """Cases of a small org tree under random actions by random actors, at random times."""

    fresh: Callable[[], Engine]  # an empty database, set by the test per backend

    @initialize()
    def setup(self) -> None:
        self.engine = self.fresh()
        self.ctx = world(self.engine, start="2023-09-25 09:00")
        self.service = CaseService(self.ctx)
        self.model = CaseModel(self.ctx)
        self.cases: list[ModelCase] = []
        self.subject_of: dict[int, tuple[str | None, str, str]] = {}
        self.people = 0
        orgs = self.ctx.orgs
        self.staff = [Actor(f"{role}@{code or '-'}", role, orgs.by_code(code).id if code else None)
                      for role, code in STAFF]
        self.units = [Actor(f"{code}承办人", "unit", orgs.by_code(code).id) for code in UNIT_CODES]
        self._register(office="GS", subject=SUBJECTS[0], priority="normal")
        self._register(office="GS-LZ-CG", subject=SUBJECTS[3], priority="enterprise")

    # -- registering -----------------------------------------------------------------------------

    def _identity(self) -> tuple[str, str, str]:
        k = self.people
        self.people += 1
        return NAMES[k % len(NAMES)], f"139{k:08d}", f"兰州市城关区和平路{k + 1}号"

    def _register(self, *, office: str, subject: tuple[str | None, str, str], priority: str,
                  title: str | None = None) -> None:
        code, name, kind = subject
        identity = self._identity()
        title = title or f"反映{name}拖欠工程款问题第{self.people}件"
        data = CaseCreate(office_code=office, title=title,
                          summary=f"{identity[0]}反映：{_identity_text(identity)}", category="arrears",
                          channel="phone", priority=priority, complainant_name=identity[0],
                          complainant_phone=identity[1], complainant_address=identity[2],
                          complainant_real_name=True, subject_name=name, subject_kind=kind,
                          subject_org_code=code)
        orgs, near = self.ctx.orgs, self.ctx.orgs.by_code(office)
        match = resolve_subject(orgs, name=name, kind=kind, org=orgs.by_code(code) if code else None,
                                near=near)
        matter = (code or name, title)
        target = self.model.repeat_target(self.cases, matter)
        now = self.ctx.now()
        done = self.service.register(data, actor=self.staff[0])
        if target is not None:
            assert done.linked and done.case.id == target.id, "a repeat is linked to its open case"
            target.repeat_count += 1
            target.version += 1
            target.audit_seq += 1
            target.identities.append(identity)
            return
        assert not done.linked, "a complaint repeating no open case (or one held by its subject) is new"
        assert done.case.id is not None
        avoided = _with_departments(orgs, avoided_orgs(orgs, [(name, match.org.id if match.org else None)],
                                                       near=near))
        self.cases.append(self.model.registered(
            case_id=done.case.id, number=done.case.number, office=office, priority=priority,
            avoided=frozenset(avoided), held_by=frozenset(_with_departments(orgs, match.org_ids)),
            matter=matter,
            identity=identity, now=now))
        self.subject_of[done.case.id] = subject

    @precondition(lambda self: len(self.cases) < MAX_CASES)
    @rule(office=st.sampled_from(OFFICES), subject=st.sampled_from(SUBJECTS),
          priority=st.sampled_from(["normal", "enterprise", "livelihood"]))
    def register(self, office: str, subject: tuple[str | None, str, str], priority: str) -> None:
        self._register(office=office, subject=subject, priority=priority)

    @precondition(lambda self: len(self.cases) < MAX_CASES and self.people < len(NAMES))
    @rule(data=st.data())
    def register_a_repeat(self, data: st.DataObject) -> None:
        m = data.draw(st.sampled_from(self.cases), label="repeats")
        self._register(office=m.office, subject=self.subject_of[m.id], priority=m.priority,
                       title=m.matter[1])

    # -- acting ----------------------------------------------------------------------------------

    def _actors(self) -> list[Actor]:
        return [*self.staff, *self.units]

    def _form(self, data: st.DataObject, action: str, m: ModelCase, *, fair: bool) -> Form:
        """A form for the action; `fair`: valid, naming a unit the action usually takes."""
        fields_of = FORMS[action].model_fields
        said = _identity_text(data.draw(st.sampled_from(m.identities), label="who is named"))
        fields: dict[str, Any] = {}
        for name, info in fields_of.items():
            if name == "unit":
                units = FAIR_UNITS.get(action, HANDLING_UNITS) if fair else CHOSEN_UNITS
                unit = data.draw(st.sampled_from(units), label="unit")
                fields[name] = unit if info.is_required() or fair else data.draw(
                    st.sampled_from([unit, None]), label="or none")
            elif name == "department":  # 二次交办: the county's departments, or a stranger
                departments = DEPARTMENTS if fair else [*DEPARTMENTS, "GS-LZ-CG", "GS-NOPE"]
                fields[name] = data.draw(st.sampled_from(departments), label="department")
            elif name == "days":
                fields[name] = data.draw(st.integers(1, 35), label="days")
            elif name == "decline_reason":
                reasons = sorted(self.ctx.policy.intake.decline_reasons)
                fields[name] = data.draw(st.sampled_from(reasons if fair else [*reasons, "no_such_reason"]),
                                         label="decline reason")
            elif name == "note":
                fields[name] = data.draw(st.sampled_from(["", said]), label="note")
            elif name == "method":
                fields[name] = data.draw(st.sampled_from(["phone", "sms", "visit"]), label="method")
            elif name == "result":
                fields[name] = data.draw(st.sampled_from(
                    ["satisfied", "basically_satisfied", "unsatisfied", "unreachable"]), label="result")
            elif name == "reason" and action == "close":
                fields[name] = data.draw(st.sampled_from(["", "declined", "no_contact", "busy"]),
                                         label="close reason")
            elif name == "reason" and action == "record_callback":
                fields[name] = data.draw(st.sampled_from(["", said]), label="callback reason")
            elif name == "finding":  # 是否属实 is one of three
                fields[name] = data.draw(st.sampled_from(["true", "partly_true", "untrue"]), label="finding")
            elif name == "opinion":  # 复查 / 复核: one of the policy's outcomes when fair
                outcomes = sorted(self.ctx.policy.reviews.outcomes)
                fields[name] = data.draw(st.sampled_from(outcomes if fair else [*outcomes, "dismiss"]),
                                         label="opinion")
            else:
                fields[name] = said
        if fair or data.draw(st.integers(0, 3), label="form kind") > 0:
            return Form({k: v for k, v in fields.items() if v is not None}, True)
        required = [n for n, info in fields_of.items() if info.is_required() and n != "days"]
        if required and data.draw(st.booleans(), label="blank a required field"):
            fields[data.draw(st.sampled_from(required))] = "   "
        else:
            fields["bogus"] = "x"
        return Form(fields, False)

    @rule(data=st.data(), times=st.integers(1, 3))
    def act_as_allowed(self, data: st.DataObject, times: int) -> None:
        """Take a case a few steps on its way: actions the model allows, by actors who may."""
        m = data.draw(st.sampled_from(self.cases), label="case")
        for _ in range(times):
            today = self.ctx.today()
            doable = [(action, who) for who in self._actors()
                      for action in sorted(self.model.allowed_for(m, who, today))]
            if not doable:
                return
            # Moving on, pressing the unit, or the rest (extensions, reassigning, progress reports)
            # alike: a handling state has six pressure actions, which would crowd out the rest.
            kinds: dict[str, list[str]] = {}
            for action in sorted({a for a, _ in doable}):
                kind = ("moves" if self.model.defined(m.state, action)[0]["dest"] is not None
                        else "presses" if action in PRESSING else "other")
                kinds.setdefault(kind, []).append(action)
            kind = data.draw(st.sampled_from(sorted(kinds)), label="kind of action")
            action = data.draw(st.sampled_from(kinds[kind]), label="allowed action")
            actor = data.draw(st.sampled_from([who for a, who in doable if a == action]), label="by")
            form = self._form(data, action, m, fair=True)
            version = data.draw(st.sampled_from([None, m.version]), label="expected version")
            m = self._act(m, action, actor=actor, form=form, expected_version=version)

    @rule(data=st.data())
    def act_at_random(self, data: st.DataObject) -> None:
        """Any action by anyone with any form, at any version: most are refused."""
        m = data.draw(st.sampled_from(self.cases), label="case")
        action = data.draw(st.sampled_from(TRIGGERS), label="any action")
        own = [u for u in self.units if u.org_id in (m.unit_id, m.delegate_id)]
        actor = data.draw(st.sampled_from([*self.staff, *own, *own, *self.units[:3]]), label="any actor")
        form = self._form(data, action, m, fair=False)
        version = data.draw(st.sampled_from([None, m.version, m.version - 1]), label="expected version")
        self._act(m, action, actor=actor, form=form, expected_version=version)

    def _act(self, m: ModelCase, action: str, *, actor: Actor, form: Form,
             expected_version: int | None) -> ModelCase:
        """Act through the service and check the outcome against the model; the case now."""
        now = self.ctx.now()
        outcome = self.model.predict(m, action, actor=actor, form=form,
                                     expected_version=expected_version, now=now)
        before = self._snapshot()
        if isinstance(outcome, Refusal):
            with pytest.raises(DubanError) as refused:
                self.service.act(m.number, action, actor=actor, form=form.fields,
                                 expected_version=expected_version)
            assert type(refused.value) is outcome.error, f"{action} by {actor}: {refused.value!r}"
            event(f"refused: {outcome.error.__name__} {outcome.kind}".strip())
            if outcome.kind:
                assert getattr(refused.value, "kind", "") == outcome.kind, repr(refused.value)
            if isinstance(refused.value, ActionNotAllowed):
                listed = set(refused.value.allowed) - set(REFERRAL_ACTIONS)
                assert listed == self.model.allowed_for(m, actor, self.ctx.today())
            assert self._snapshot() == before, f"refused {action} changed the database"
            return m
        returned = self.service.act(m.number, action, actor=actor, form=form.fields,
                                    expected_version=expected_version)
        after = self._snapshot()
        row = self._row(m.id)
        for name in _CASE_COLUMNS:
            if name not in ("title", "summary"):  # an action never loads the raw texts
                assert getattr(returned, name) == row[name], f"{action}: {name} is not what was stored"
        self._check_added(before, after, action, m)
        last = self._events(m.id)[-1]
        assert (last.seq, last.action, last.from_state, last.to_state) == (
            m.audit_seq + 1, action, m.state, outcome.state)
        assert (last.actor, last.actor_role) == (actor.name, actor.role)
        old_head = next(r[HEAD_AT] for r in before["cases"] if r[ID_AT] == m.id)
        assert last.prev_hash == old_head
        self.cases[self.cases.index(m)] = outcome
        event(f"done: {action}")
        return outcome

    def _check_added(self, before: dict[str, list[tuple]], after: dict[str, list[tuple]], action: str,
                     m: ModelCase) -> None:
        """One event, the rows the action adds and nothing else; the other cases untouched."""
        for table, rows in after.items():
            old = before[table]
            added = len(rows) - len(old)
            if table == "cases":
                assert [r for r in rows if r[ID_AT] != m.id] == [r for r in old if r[ID_AT] != m.id]
                continue
            # an action may decide or finish one
            if table in ("extensions", "callback_tasks", "objections", "review_requests"):
                assert added == ADDS.get(action, {}).get(table, 0), f"{action} added {added} {table}"
                continue
            assert rows[:len(old)] == old, f"{action} changed a row of {table}"
            if table == "audit_events":
                assert added == 1, f"{action} wrote {added} events"
            elif table == "notifications" and action in NOTIFYING:
                pass
            else:
                assert added == ADDS.get(action, {}).get(table, 0), f"{action} added {added} {table}"

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        """Whoever may not see a case is told it does not exist; whoever may, reads it, and its
        page offers what the model allows them (the page tells its guards what it has read)."""
        m = data.draw(st.sampled_from(self.cases), label="case")
        actor = data.draw(st.sampled_from(self._actors()), label="reader")
        with Session(self.engine) as session:
            if self.model.may_see(actor, m):
                case, _ = load_case(session, self.ctx, m.number, actor=actor)
                assert case.id == m.id
                page = case_detail(self.ctx, m.number, actor=actor, history=SHOWN_HISTORY, page=True)
                offered = set(page["allowed_actions"]) - set(REFERRAL_ACTIONS)
                assert offered == self.model.allowed_for(m, actor, self.ctx.today()), m.state
            else:
                with pytest.raises(CaseNotFound):
                    load_case(session, self.ctx, m.number, actor=actor)

    # -- time ------------------------------------------------------------------------------------

    @rule(days=st.integers(1, 12), hours=st.sampled_from([0, 7]), sweep=st.booleans())
    def time_passes(self, days: int, hours: int, sweep: bool) -> None:
        advance(self.ctx, days=days, hours=hours)
        if sweep:
            self._sweep()

    def _sweep(self) -> None:
        """The deadline sweep acts as the engine; each of its events must be one the model allows."""
        result = run_deadline_sweep(self.ctx)
        assert result.failed == []
        for step in result.steps:
            event(f"swept: {step}")
        now = self.ctx.now()
        for i, m in enumerate(self.cases):
            for done in self._events(m.id)[m.audit_seq:]:
                assert (done.actor, done.actor_role) == (ENGINE_ACTOR.name, ENGINE_ACTOR.role)
                if done.action == "propose_pressure":  # left to a person's decision: the case stays
                    assert done.from_state == done.to_state == m.state
                    m = self.cases[i] = dataclasses.replace(m, version=m.version + 1,
                                                            audit_seq=m.audit_seq + 1)
                    continue
                fields = {"reason": done.reason} if done.action == "step_up" else {}
                outcome = self.model.predict(m, done.action, actor=ENGINE_ACTOR,
                                             form=Form(fields, True), expected_version=None, now=now)
                assert not isinstance(outcome, Refusal), f"the sweep did {done.action}: {outcome}"
                assert (done.from_state, done.to_state) == (m.state, outcome.state)
                m = self.cases[i] = outcome
        once = self._snapshot()
        again = run_deadline_sweep(self.ctx)
        assert sum(again.steps.values()) + sum(again.proposed.values()) == 0, "a second sweep did more"
        assert self._snapshot() == once, "a second sweep did more"
        for m in self.cases:  # and over the days: each ladder step once per limit
            engine = [e for e in self._events(m.id)  # the sweep's (staff may hold the engine role)
                      if e.actor == ENGINE_ACTOR.name and e.action in (*LADDER_ACTIONS, "remind_sign_for")]
            fired = [(e.action, e.data.get("episode")) for e in engine]
            assert len(fired) == len(set(fired)), f"{m.number}: the engine repeated a step: " + ", ".join(
                f"{e.seq} {e.action} {e.data.get('episode')} at {e.at:%Y-%m-%d}" for e in engine)

    # -- what holds after every step -------------------------------------------------------------

    @invariant()
    def every_case_is_as_the_model_says_and_as_its_last_event_says(self) -> None:
        for m in self.cases:
            row = self._row(m.id)
            assert {k: row[k] for k in m.COLUMNS} == m.columns(), m.number
            events = self._events(m.id)
            assert [e.seq for e in events] == list(range(1, m.audit_seq + 1))
            assert (events[0].action, events[0].from_state) == ("register", None)
            for prev, ev in zip(events, events[1:], strict=False):
                assert (ev.from_state, ev.prev_hash) == (prev.to_state, prev.hash), ev.seq
            assert (events[-1].to_state, events[-1].hash) == (row["state"], row["audit_hash"])
            assert events[-1].facts == facts_of(row)

    @invariant()
    def the_keyed_chain_verifies(self) -> None:
        report = verify(self.ctx)
        assert [str(f) for f in report.findings] == []
        assert report.cases == len(self.cases)

    @invariant()
    def no_redacted_twin_names_a_complainant(self) -> None:
        said = [part for m in self.cases for identity in m.identities for part in identity]
        with self.engine.connect() as conn:
            for table, column in REDACTED:
                for (value,) in conn.execute(select(table.c[column])):
                    leaked = [part for part in said if value and part in value]
                    assert not leaked, f"{table.name}.{column} names {leaked}"

    # -- reading the database --------------------------------------------------------------------

    def _row(self, case_id: int) -> dict[str, Any]:
        cases: Table = Case.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            return dict(conn.execute(select(cases).where(cases.c.id == case_id)).mappings().one())

    def _events(self, case_id: int) -> list[Any]:
        events: Table = AuditEvent.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            return list(conn.execute(select(events).where(events.c.case_id == case_id)
                                     .order_by(events.c.seq)))

    def _snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table but the org tree, in key order."""
        with self.engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(query)] for name, query in EVERY_ROW.items()}


def test_random_actions_move_every_case_as_the_model_says(
        engine: Engine, backend: str, tmp_path: Path, _sqlite_schema: Callable[[], Path]) -> None:
    class Run(CaseLives):
        fresh = staticmethod(fresh_databases(tmp_path, _sqlite_schema, engine=engine))

    # PostgreSQL's examples cost three times SQLite's (a TRUNCATE a run, each step's snapshot
    # over the network): fewer of them, the same steps each.
    run_state_machine_as_test(Run, settings=settings(
        max_examples=30 if backend == "sqlite" else 20, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))

