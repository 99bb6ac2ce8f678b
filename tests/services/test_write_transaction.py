"""One way to write: `db.write_transaction` under every writer, one unit of work per transaction."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.db import write_transaction
from duban.models import AuditEvent, Case, Notification
from duban.services import CaseService, ServiceContext, cases, outbox
from duban.services.audit import append_event
from duban.services.driver import Prepared
from duban.services.persist import WRITE_COLUMNS, fetch_cases
from duban.services.unitofwork import DubanSession, NoUnitOfWork, UnitOfWork, memo_of, work_of
from duban.services.writetx import write_tx
from tests.factories import DISPATCHER, complaint, transferred, world

ROOT = Path(__file__).resolve().parents[2]
# Who may open, commit or roll back a transaction by hand: the helper itself, the write
# transaction built on it, the driver (it begins what a statement sent straight to the driver
# needs), the migrations, a restore's grants and the reports' read snapshot.
OWN_TRANSACTIONS = {"duban/db.py", "duban/services/writetx.py", "duban/services/driver.py",
                    "duban/schema.py", "duban/services/backup.py", "duban/reports/build.py"}


class Boom(Exception):
    pass


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine)


def _modules() -> list[tuple[str, ast.AST]]:
    found = []
    for root in ("duban", "flows"):
        for path in sorted((ROOT / root).rglob("*.py")):
            name = str(path.relative_to(ROOT))
            if "/migrations/" not in name:
                found.append((name, ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _calls(tree: ast.AST, method: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == method]


def test_no_writer_commits_or_begins_a_transaction_by_hand() -> None:
    by_hand = {f"{name}:{line} .{method}()" for name, tree in _modules() if name not in OWN_TRANSACTIONS
               for method in ("commit", "begin", "rollback") for line in _calls(tree, method)}
    assert by_hand == set(), "write through duban.db.write_transaction or services.writetx.write_tx"


def test_no_module_keeps_state_in_a_sessions_info() -> None:
    kept = {f"{name}:{node.lineno}" for name, tree in _modules() for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "info"
            and isinstance(node.value, ast.Name) and node.value.id in ("session", "tx", "where")}
    assert kept == set(), "what a transaction collects lives on its unit of work (unitofwork.py)"


def test_notifications_are_written_only_by_the_outbox_and_the_deliverer() -> None:
    writers = {"duban/services/outbox.py", "duban/notify/deliver.py"}
    elsewhere = set()
    for name, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("insert", "update", "delete", "Notification")
                    and (node.func.id == "Notification" or any(
                        isinstance(arg, ast.Name) and arg.id == "Notification" for arg in node.args))
                    and name not in writers):
                elsewhere.add(f"{name}:{node.lineno}")
    assert elsewhere == set()


def _notifications(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Notification)).scalar_one())


def _row(ctx: ServiceContext, key: str) -> dict[str, object]:
    return outbox.message_row(kind="monthly_report", audience="leader", to_address="a@example.cn",
                              subject="s", body="b", now=ctx.now(), dedupe_key=key)


def test_the_helper_commits_when_its_block_ends_and_rolls_back_when_it_raises(ctx: ServiceContext) -> None:
    with write_transaction(ctx.engine) as conn:
        conn.execute(insert(Notification), [_row(ctx, "kept")])
    with pytest.raises(Boom), write_transaction(ctx.engine) as conn:
        conn.execute(insert(Notification), [_row(ctx, "lost")])
        raise Boom()
    with write_transaction(ctx.engine):
        pass  # nothing written: nothing begun
    assert _notifications(ctx.engine) == 1


def test_a_case_change_and_its_event_are_written_together_or_not_at_all(ctx: ServiceContext) -> None:
    number = transferred(ctx)

    def change(raise_after: bool) -> None:
        with write_tx(ctx.engine) as tx:
            (case,) = fetch_cases(tx, select(*WRITE_COLUMNS).where(Case.__table__.c.number == number),  # type: ignore[attr-defined]
                                  for_write=True)
            case.warning = "red"
            case.audit_seq += 1
            case.version += 1
            append_event(tx, case, at=ctx.now(), actor="x", actor_role="admin", action="note",
                         from_state=case.state, reason="")
            if raise_after:
                raise Boom()

    def stored() -> tuple[str, int]:
        with Session(ctx.engine) as session:
            case = session.scalars(select(Case).where(Case.number == number)).one()  # type: ignore[arg-type]
            notes = session.execute(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.case_id == case.id, AuditEvent.action == "note")).scalar_one()  # type: ignore[arg-type]
            return case.warning, int(notes)

    with pytest.raises(Boom):
        change(raise_after=True)
    assert stored()[1] == 0 and stored()[0] != "red"
    change(raise_after=False)
    assert stored() == ("red", 1)


def test_queued_mail_is_all_or_nothing_and_a_taken_dedupe_key_refuses_it_all(ctx: ServiceContext) -> None:
    from sqlalchemy.exc import IntegrityError

    outbox.queue(ctx.engine, [_row(ctx, "k1")])
    with pytest.raises(IntegrityError):
        outbox.queue(ctx.engine, [_row(ctx, "k2"), _row(ctx, "k1")])
    assert _notifications(ctx.engine) == 1


def test_failed_mail_is_queued_again_and_other_mail_is_left_alone(ctx: ServiceContext) -> None:
    failed = {**_row(ctx, "f"), "status": "failed", "attempts": 3, "last_error": "550 no such user"}
    with write_transaction(ctx.engine) as conn:
        conn.execute(insert(Notification), [failed, _row(ctx, "p")])
    with Session(ctx.engine) as session:
        ids = list(session.scalars(select(Notification.id).order_by(Notification.id)))  # type: ignore[arg-type]
    assert outbox.queue_again(ctx.engine, ids, now=ctx.now()) == 1
    with Session(ctx.engine) as session:
        rows = list(session.scalars(select(Notification).order_by(Notification.id)))  # type: ignore[arg-type]
    assert [(n.status, n.attempts, n.last_error) for n in rows] == [
        ("pending", 0, ""), ("pending", 0, "")]


def test_each_transaction_has_a_unit_of_work_of_its_own(ctx: ServiceContext) -> None:
    with write_tx(ctx.engine) as first:
        work = work_of(first)
        assert isinstance(work, UnitOfWork)
    with write_tx(ctx.engine) as second:
        assert work_of(second) is not work
    with DubanSession(ctx.engine) as session:
        assert memo_of(session) is work_of(session)
    with Session(ctx.engine) as session:
        assert memo_of(session) is not memo_of(session)  # a plain session remembers nothing
        with pytest.raises(NoUnitOfWork):
            work_of(session)


_PLAN_MODE = Prepared(select(func.current_setting("plan_cache_mode")))


def test_one_cases_transaction_lets_postgresql_reuse_plans_and_no_other_transaction_does(
        ctx: ServiceContext) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    with write_tx(ctx.engine, keyed=True) as tx:
        assert _PLAN_MODE.scalar(tx) == "auto"
    with write_tx(ctx.engine) as tx:  # a batch's (a sweep's chunk): filters many rows
        assert _PLAN_MODE.scalar(tx) == "force_custom_plan"
    # SET LOCAL ends with its transaction: a list or a search on the pooled connections after
    # it is still planned for its values.
    with ctx.engine.connect() as a, ctx.engine.connect() as b:
        assert {conn.execute(select(func.current_setting("plan_cache_mode"))).scalar_one()
                for conn in (a, b)} == {"force_custom_plan"}


def test_an_action_and_a_registration_run_in_a_keyed_transaction(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    seen: list[str] = []
    service = CaseService(ctx)
    number = service.register(complaint(), actor=DISPATCHER,
                              also=lambda session, _: seen.append(_PLAN_MODE.scalar(session))).case.number
    told = cases.notify_complainants

    def notify(step: Any) -> None:
        seen.append(_PLAN_MODE.scalar(step.session))
        told(step)

    monkeypatch.setattr(cases, "notify_complainants", notify)
    service.act(number, "transfer", actor=DISPATCHER, form={"unit": "GS-LZ-CG-GOV"})
    assert seen == ["auto", "auto"]
