"""Delivering the outbox to a real SMTP server: Chinese mail, outages, slow servers, refusals."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import Notification
from duban.notify.deliver import SmtpConfig, deliver_pending
from duban.services import CaseService, ServiceContext
from duban.services.outbox import new_message_id
from duban.services.sweeps import run_deadline_sweep
from tests.factories import transferred, unit_actor, world
from tests.notify.conftest import SmtpServer

SUBJECT = "【催办】GS-2023-00001 已超过办理期限，请抓紧办理"
BODY = "城关区住建局：\n\n你单位承办的社会监督意见已超期3个工作日。\n\n甘肃省“三抓三促”行动领导小组办公室\n"


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-09 09:00")


def smtp(server: SmtpServer, timeout: float = 5.0) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=server.port, sender="duban@gs.example", timeout=timeout)


def queue(ctx: ServiceContext, *addresses: str) -> None:
    now = ctx.now()
    with Session(ctx.engine) as session:
        for address in addresses:
            session.add(Notification(kind="remind", audience="unit", to_address=address,
                                     subject=SUBJECT, body=BODY, message_id=new_message_id(),
                                     next_attempt_at=now, created_at=now))
        session.commit()


def rows(ctx: ServiceContext) -> list[Notification]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def later(ctx: ServiceContext, **delta: float) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(dt.timedelta(**delta))


def test_chinese_subject_and_body_arrive_exactly_as_written(ctx: ServiceContext,
                                                            smtp_server: SmtpServer) -> None:
    smtp_server.start()
    queue(ctx, "zjj@gs.example", "用户@例子.中国")  # an SMTPUTF8 address too
    result = deliver_pending(ctx, smtp(smtp_server))
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)
    received = smtp_server.mailbox.messages
    assert [str(m["To"]) for m in received] == ["zjj@gs.example", "用户@例子.中国"]
    for message in received:
        assert str(message["Subject"]) == SUBJECT
        # Text travels in canonical form (CRLF line ends, RFC 2045), base64 over UTF-8.
        assert message.get_content().replace("\r\n", "\n") == BODY
        assert message.get_content_charset() == "utf-8"
    assert [r.status for r in rows(ctx)] == ["sent", "sent"]
    assert smtp_server.mailbox.message_ids() == [r.message_id for r in rows(ctx)]
    assert deliver_pending(ctx, smtp(smtp_server)).claimed == 0  # nothing is sent twice


def test_a_server_that_is_down_delays_mail_and_never_loses_it(ctx: ServiceContext,
                                                              smtp_server: SmtpServer) -> None:
    queue(ctx, "a@gs.example", "b@gs.example")
    result = deliver_pending(ctx, smtp(smtp_server))  # nobody listens on the port
    assert (result.sent, result.retried) == (0, 2)
    for row in rows(ctx):
        assert (row.status, row.attempts) == ("pending", 1)
        assert "ConnectionRefused" in row.last_error or "connect" in row.last_error.lower()
        assert row.next_attempt_at == ctx.now() + dt.timedelta(seconds=60)
    assert deliver_pending(ctx, smtp(smtp_server)).claimed == 0  # backing off
    later(ctx, seconds=61)
    assert deliver_pending(ctx, smtp(smtp_server)).retried == 2  # still down: attempt 2
    assert {r.next_attempt_at for r in rows(ctx)} == {ctx.now() + dt.timedelta(seconds=120)}
    smtp_server.start()
    later(ctx, minutes=5)
    assert deliver_pending(ctx, smtp(smtp_server)).sent == 2
    assert [(r.status, r.attempts, r.last_error) for r in rows(ctx)] == [("sent", 3, "")] * 2
    assert len(smtp_server.mailbox.messages) == 2


def test_a_slow_server_times_out_and_the_retry_delivers_once(ctx: ServiceContext,
                                                             smtp_server: SmtpServer) -> None:
    smtp_server.start()
    smtp_server.mailbox.stall_rcpt = [3.0]  # the first recipient command hangs past our timeout
    queue(ctx, "slow@gs.example")
    result = deliver_pending(ctx, smtp(smtp_server, timeout=0.5))
    assert (result.sent, result.retried) == (0, 1)
    (row,) = rows(ctx)
    assert row.status == "pending" and "Timeout" in row.last_error
    later(ctx, seconds=61)
    assert deliver_pending(ctx, smtp(smtp_server, timeout=0.5)).sent == 1
    assert smtp_server.mailbox.message_ids() == [row.message_id]


def test_a_message_accepted_after_we_gave_up_comes_again_with_the_same_message_id(
        ctx: ServiceContext, smtp_server: SmtpServer) -> None:
    # SMTP's one window: the server keeps a message whose acceptance we never heard. The retry
    # is the same message (same Message-ID), so a mail system can drop the copy.
    smtp_server.start()
    smtp_server.mailbox.stall_data = [1.5]
    queue(ctx, "late@gs.example")
    assert deliver_pending(ctx, smtp(smtp_server, timeout=0.5)).retried == 1
    later(ctx, seconds=61)
    assert deliver_pending(ctx, smtp(smtp_server, timeout=5)).sent == 1
    ids = smtp_server.mailbox.message_ids()
    assert len(ids) in (1, 2) and len(set(ids)) == 1
    (row,) = rows(ctx)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_refused_recipient_fails_for_good_and_the_others_go_out(ctx: ServiceContext,
                                                                  smtp_server: SmtpServer) -> None:
    smtp_server.start()
    smtp_server.mailbox.refuse = {"gone@gs.example"}
    queue(ctx, "a@gs.example", "gone@gs.example", "b@gs.example")
    result = deliver_pending(ctx, smtp(smtp_server))
    assert (result.sent, result.failed, result.retried) == (2, 1, 0)
    statuses = [(r.to_address, r.status) for r in rows(ctx)]
    assert statuses == [("a@gs.example", "sent"), ("gone@gs.example", "failed"), ("b@gs.example", "sent")]
    failed = rows(ctx)[1]
    assert failed.last_error.startswith("gone@gs.example: 550")
    later(ctx, hours=2)
    assert deliver_pending(ctx, smtp(smtp_server)).claimed == 0  # never retried


def test_two_senders_at_once_send_each_message_once(ctx: ServiceContext,
                                                    smtp_server: SmtpServer) -> None:
    smtp_server.start()
    queue(ctx, *(f"unit{i}@gs.example" for i in range(40)))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            deliver_pending(ctx, smtp(smtp_server), batch_size=7)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Counter(smtp_server.mailbox.message_ids()) == Counter(r.message_id for r in rows(ctx))
    assert {r.status for r in rows(ctx)} == {"sent"}


def test_a_crashed_senders_claims_are_taken_again_after_the_lease(ctx: ServiceContext,
                                                                  smtp_server: SmtpServer) -> None:
    smtp_server.start()
    queue(ctx, "a@gs.example")
    with Session(ctx.engine) as session:
        row = session.scalars(select(Notification)).one()
        row.status, row.claimed_at, row.claim_token, row.attempts = "sending", ctx.now(), "dead", 1
        session.commit()
    assert deliver_pending(ctx, smtp(smtp_server)).claimed == 0  # its sender may still be at it
    later(ctx, seconds=ctx.policy.notify.lease_seconds + 1)
    assert deliver_pending(ctx, smtp(smtp_server)).sent == 1
    assert len(smtp_server.mailbox.messages) == 1


def test_a_ladder_reminder_reaches_the_unit_without_the_complainant(engine: Engine,
                                                                    smtp_server: SmtpServer) -> None:
    ctx = world(engine, start="2023-03-01 10:00")
    number = transferred(ctx, title="测试反映人反映城关区住建局拖欠工程款")
    CaseService(ctx).act(number, "sign_for", actor=unit_actor(ctx, "GS-LZ-CG-GOV"))
    assert isinstance(ctx.clock, SimulatedClock)
    ctx.clock.set(parse_local("2023-03-09 08:30"))
    run_deadline_sweep(ctx)
    smtp_server.start()
    assert deliver_pending(ctx, smtp(smtp_server)).sent == 1  # the ladder's 催办 (signed: no 催签收)
    (message,) = smtp_server.mailbox.messages
    text = str(message["Subject"]) + message.get_content()
    assert "GS-2023-00001" in text and "（保密）反映城关区住建局拖欠工程款" in text
    assert "测试反映人" not in text and "19900123456" not in text
