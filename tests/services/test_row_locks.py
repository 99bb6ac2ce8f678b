"""On PostgreSQL, sweepers and senders share work through row locks and never wait on each other.

The deadline sweep and mail delivery read what they will work on with `FOR UPDATE SKIP LOCKED`:
a row someone else holds (another sweeper's chunk, a person's action, another sender's claim) is
left to its holder, and the rest is done now. SQLite has one write lock for the whole database
(`BEGIN IMMEDIATE`): a second writer waits for the first and then sees its work, which
tests/services/test_sweep.py and tests/notify/test_delivery.py show; these tests are PostgreSQL's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import AuditEvent, Case, Notification, PressureStep
from duban.notify.deliver import SmtpConfig, deliver_pending
from duban.services import ServiceContext
from duban.services.sweeps import DeadlineSweep, SweepResult, run_deadline_sweep
from tests.factories import transferred, world
from tests.notify.conftest import SmtpServer, free_port
from tests.notify.test_delivery import queue

WAIT = 20.0  # seconds a thread may take before the test calls it blocked


@pytest.fixture
def ctx(engine: Engine, backend: str) -> ServiceContext:
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers with one lock")
    ctx = world(engine, start="2023-03-01 10:00")
    ctx.policy = ctx.policy.model_copy(deep=True)  # the ladder's steps only: no 签收 reminders
    ctx.policy.sign_for.remind_after_workdays = []
    return ctx


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    yield server
    server.stop()


def at(ctx: ServiceContext, when: str) -> None:
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.clock.set(parse_local(when))


def in_thread(target: object) -> tuple[threading.Thread, list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(target())  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results, errors


class StallingSweep(DeadlineSweep):
    """A sweep that stops inside its first chunk's transaction, its rows locked, until released."""

    def __init__(self, ctx: ServiceContext, *, chunk_size: int) -> None:
        super().__init__(ctx, chunk_size=chunk_size)
        self.holding = threading.Event()
        self.release = threading.Event()

    def _act(self, session: Session, plans: dict, fired: dict, tally: SweepResult) -> None:  # type: ignore[type-arg]
        super()._act(session, plans, fired, tally)
        if not self.holding.is_set():
            self.holding.set()
            self.release.wait(WAIT)


def ladder_events(ctx: ServiceContext) -> Counter[tuple[int, str]]:
    with Session(ctx.engine) as session:
        rows = session.execute(select(AuditEvent.case_id, AuditEvent.action)
                               .where(AuditEvent.action == "remind")).all()
    return Counter((case_id, action) for case_id, action in rows)


def test_a_second_sweeper_takes_the_other_chunks_instead_of_waiting_for_the_first(
        ctx: ServiceContext) -> None:
    numbers = [transferred(ctx, title=f"拖欠工程款第{i}件") for i in range(30)]
    at(ctx, "2023-03-09 08:30")  # due 03-08: 催办 today for all 30
    first = StallingSweep(ctx, chunk_size=10)
    thread_a, results_a, errors_a = in_thread(first.run)
    try:
        assert first.holding.wait(WAIT), errors_a
        # The first sweeper holds its chunk's ten rows in an open transaction. The second one
        # must not queue behind them: it does the other twenty and finishes.
        thread_b, results_b, errors_b = in_thread(lambda: run_deadline_sweep(ctx, chunk_size=10))
        thread_b.join(WAIT)
        assert not thread_b.is_alive(), "the second sweeper waited for the first one's row locks"
        assert not errors_b
        [second] = results_b
        assert isinstance(second, SweepResult)
        assert second.steps == {"remind": 20}
    finally:
        first.release.set()
        thread_a.join(WAIT)
    assert not errors_a
    assert first.result.steps == {"remind": 10}  # its own chunk; the others were done already
    assert set(ladder_events(ctx).values()) == {1} and len(ladder_events(ctx)) == 30
    with Session(ctx.engine) as session:
        assert session.scalar(select(func.count()).select_from(PressureStep)) == 30
        to_orgs = select(Notification.kind).where(Notification.audience != "complainant")
        mail = Counter(session.scalars(to_orgs))
        states = Counter(session.scalars(select(Case.warning).where(Case.number.in_(numbers))))  # type: ignore[attr-defined]
    assert mail == {"remind": 30}
    assert states == {"red": 30}


def test_a_case_someone_holds_is_left_to_the_next_sweep(ctx: ServiceContext) -> None:
    numbers = [transferred(ctx, title=f"拖欠工程款第{i}件") for i in range(3)]
    at(ctx, "2023-03-09 08:30")
    with ctx.engine.connect() as holder, holder.begin():  # a person's action, mid-transaction
        holder.execute(select(Case.id).where(Case.number == numbers[1]).with_for_update())
        thread, results, errors = in_thread(lambda: run_deadline_sweep(ctx))
        thread.join(WAIT)
        assert not thread.is_alive(), "the sweep waited for a row someone else held"
    assert not errors
    [swept] = results
    assert isinstance(swept, SweepResult) and swept.steps == {"remind": 2}
    assert run_deadline_sweep(ctx).steps == {"remind": 1}  # still due: the next run takes it
    assert len(ladder_events(ctx)) == 3 and set(ladder_events(ctx).values()) == {1}


def test_a_sender_skips_claims_another_holds_and_sends_the_rest_without_waiting(
        ctx: ServiceContext, smtp_server: SmtpServer) -> None:
    smtp_server.start()
    at(ctx, "2023-03-09 09:00")
    queue(ctx, *(f"unit{i}@gs.example" for i in range(30)))
    with Session(ctx.engine) as session:
        ids = list(session.scalars(select(Notification.id).order_by(Notification.id)))
    smtp = SmtpConfig(host="127.0.0.1", port=smtp_server.port, sender="duban@gs.example", timeout=5)
    with ctx.engine.connect() as holder, holder.begin():  # another sender, mid-claim
        holder.execute(select(Notification.id).where(Notification.id.in_(ids[:10]))  # type: ignore[union-attr]
                       .with_for_update())
        thread, results, errors = in_thread(lambda: deliver_pending(ctx, smtp, batch_size=7))
        thread.join(WAIT)
        assert not thread.is_alive(), "the sender waited for rows another sender held"
    assert not errors
    assert results[0].sent == 20  # type: ignore[attr-defined]
    assert deliver_pending(ctx, smtp, batch_size=7).sent == 10
    with Session(ctx.engine) as session:
        sent = list(session.scalars(select(Notification.message_id)))
        assert set(session.scalars(select(Notification.status))) == {"sent"}
    assert Counter(smtp_server.mailbox.message_ids()) == Counter(sent)
