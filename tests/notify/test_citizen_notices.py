"""Notices to the complainant (受理告知, 延期告知, 答复, 不予受理告知): which action sends which is
config, each goes through the outbox by SMS (a real HTTP gateway on loopback) and e-mail (aiosmtpd),
retried when a server is down, never lost, never sent twice, and never to an anonymous complainant.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from duban.clock import SimulatedClock
from duban.errors import ConfigError
from duban.models import Case, Notification
from duban.notify.deliver import Deliverer, SmtpConfig, deliver_pending
from duban.notify.sms import SmsConfig, SmsGateway
from duban.notify.templates import load_templates
from duban.services import CaseService, ServiceContext
from duban.services.notices import mobile_number
from duban.services.outboxview import list_mail
from tests.factories import (
    CLERK,
    DISPATCHER,
    REPORTED,
    SUPERVISOR,
    registered,
    transferred,
    unit_actor,
    world,
)
from tests.notify.conftest import SmsGateway as GatewayServer
from tests.notify.conftest import SmtpServer

PHONE = "13912345678"
EMAIL = "fankuiren@example.cn"
UNIT = "GS-LZ-CG-GOV"
NO_SMTP = SmtpConfig("127.0.0.1", 9, "x@gs.example")  # no mail in these tests: never connected


@pytest.fixture
def ctx(engine: Engine) -> ServiceContext:
    return world(engine, start="2023-03-09 09:00")


def smtp(server: SmtpServer) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=server.port, sender="duban@gs.example", timeout=5)


def sms(gateway: GatewayServer) -> SmsConfig:
    return SmsConfig(url=gateway.url, sign_name="甘肃督办", access_key="test-key",
                     secret=GatewayServer.SECRET, timeout=2,
                     permanent_codes=frozenset({"isv.MOBILE_NUMBER_ILLEGAL"}))


def notices(ctx: ServiceContext) -> list[Notification]:
    with Session(ctx.engine) as session:
        return list(session.scalars(select(Notification).where(col(Notification.audience) == "complainant")
                                    .order_by(col(Notification.id))))


def later(ctx: ServiceContext, **delta: float) -> None:
    clock = ctx.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(dt.timedelta(**delta))


def verified(ctx: ServiceContext, number: str, text: str) -> None:
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT), form={**REPORTED, "text": text})
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "同意"})


# -- who is told, and what -------------------------------------------------------------------------

def test_a_dispatch_tells_a_real_name_complainant_by_sms_and_by_email(
        ctx: ServiceContext, smtp_server: SmtpServer, sms_gateway: GatewayServer) -> None:
    number = transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    rows = notices(ctx)
    assert [(r.kind, r.channel, r.to_address, r.status) for r in rows] == [
        ("accepted", "sms", PHONE, "pending"), ("accepted", "email", EMAIL, "pending")]
    smtp_server.start()
    sms_gateway.start()
    result = deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway))
    assert (result.sent, result.sms_sent, result.retried, result.failed) == (2, 1, 0, 0)

    case = CaseService(ctx).get(number)
    [(phone, template, params)] = sms_gateway.texts()
    assert (phone, template) == (PHONE, "SMS_DUBAN_ACCEPTED")
    assert params == {"number": number, "unit": "城关区人民政府", "due": str(case.deadline_on)}
    request = sms_gateway.requests[0]
    assert request["SignName"] == "甘肃督办" and request["OutId"] in rows[0].message_id
    assert sms_gateway.bad_signatures == 0
    [mail] = smtp_server.mailbox.messages
    assert str(mail["To"]) == EMAIL
    assert str(mail["Subject"]) == f"【受理告知】您反映的事项已受理（{number}）"
    body = mail.get_content()
    assert number in body and "城关区人民政府" in body and str(case.deadline_on) in body
    assert notices(ctx)[0].body == (f"您反映的事项已受理，编号{number}，已交城关区人民政府办理，"
                                    f"办理期限至{case.deadline_on}。")  # the SMS as sent, kept
    assert {r.status for r in notices(ctx)} == {"sent"}
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).claimed == 0  # never twice


@pytest.mark.parametrize("phone,email,channels", [
    (PHONE, "", ["sms"]), ("", EMAIL, ["email"]), ("0931-8123456", EMAIL, ["email"]),
    ("０９３１８１２３４５６", "", []), ("+86 139-1234-5678", "", ["sms"]), ("", "", [])])
def test_each_complainant_is_told_on_the_channels_they_can_be_reached_on(
        ctx: ServiceContext, phone: str, email: str, channels: list[str]) -> None:
    transferred(ctx, complainant_phone=phone, complainant_email=email)
    assert [r.channel for r in notices(ctx)] == channels
    assert all(r.to_address in (PHONE, EMAIL) for r in notices(ctx))  # a mobile in one form


def test_an_anonymous_complainant_is_told_nothing_at_any_step(ctx: ServiceContext) -> None:
    number = transferred(ctx, complainant_real_name=False, complainant_phone=PHONE, complainant_email=EMAIL)
    service = CaseService(ctx)
    service.act(number, "request_extension", actor=unit_actor(ctx, UNIT),
                form={"days": 5, "reason": "需现场核查"})
    service.act(number, "approve_extension", actor=SUPERVISOR, form={"note": "同意"})
    verified(ctx, number, "已督促支付全部工程款。")
    assert notices(ctx) == []


def test_a_repeat_caller_under_their_real_name_is_told_too(ctx: ServiceContext) -> None:
    number = registered(ctx, complainant_phone=PHONE)
    CaseService(ctx).register(_repeat(number, "13800001111"), actor=CLERK)
    CaseService(ctx).act(number, "transfer", actor=DISPATCHER, form={"unit": UNIT})
    assert sorted(r.to_address for r in notices(ctx)) == ["13800001111", PHONE]


def _repeat(number: str, phone: str):  # type: ignore[no-untyped-def]
    from tests.factories import complaint

    return complaint(complainant_name="另一反映人", complainant_phone=phone, repeat_of=number)


def test_the_extension_notice_gives_the_new_deadline_and_the_reason_without_identity(
        ctx: ServiceContext) -> None:
    number = transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    service = CaseService(ctx)
    service.act(number, "request_extension", actor=unit_actor(ctx, UNIT),
                form={"days": 10, "reason": f"需与测试反映人（{PHONE}）当面核实"})
    assert [r.kind for r in notices(ctx)] == ["accepted", "accepted"]  # the request tells nobody
    service.act(number, "approve_extension", actor=SUPERVISOR, form={"note": "同意延期"})
    case = service.get(number)
    sms_row, mail_row = notices(ctx)[2:]
    assert (sms_row.kind, mail_row.kind) == ("extended", "extended")
    params = json.loads(sms_row.params)
    assert params["template"] == "SMS_DUBAN_EXTENDED"
    assert params["params"]["due"] == str(case.deadline_on)
    assert params["params"]["reason"].startswith("需与") and "当面核实" in params["params"]["reason"]
    assert f"办理期限延长至{case.deadline_on}" in mail_row.body
    for row in (sms_row, mail_row):
        assert PHONE not in row.body + row.params + row.subject and "测试反映人" not in row.body


def test_the_reply_is_the_approved_final_reports_redacted_text(ctx: ServiceContext) -> None:
    number = transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    service = CaseService(ctx)
    service.act(number, "submit_report", actor=unit_actor(ctx, UNIT),
                form={**REPORTED, "text": f"经核实属实，已支付工程款。已电话（{PHONE}）告知测试反映人。"})
    assert len(notices(ctx)) == 2  # a report is not yet the reply
    service.act(number, "approve", actor=SUPERVISOR, form={"note": "同意"})
    sms_row, mail_row = notices(ctx)[2:]
    assert (sms_row.kind, mail_row.kind) == ("reply", "reply")
    with Session(ctx.engine) as session:
        from duban.models import HandlingReport

        redacted = session.scalars(select(HandlingReport.text_redacted)).one()
    assert redacted in mail_row.body and json.loads(sms_row.params)["params"]["reply"] == redacted
    assert "已支付工程款" in redacted and PHONE not in mail_row.body + sms_row.params


def test_an_action_gets_its_notice_from_one_config_line(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "notifications.toml").write_text('[citizen_notices]\nreassign = "accepted"\n',
                                                 encoding="utf-8")
    ctx = world(engine, start="2023-03-09 09:00")
    ctx.templates = load_templates(tmp_path)  # as ServiceContext.from_settings reads DUBAN_CONFIG_DIR
    number = transferred(ctx, complainant_phone=PHONE)
    CaseService(ctx).act(number, "reassign", actor=DISPATCHER,
                         form={"unit": "GS-LZ-CG-SWJ", "reason": "属地"})
    rows = notices(ctx)
    assert [r.kind for r in rows] == ["accepted", "accepted"]
    assert json.loads(rows[1].params)["params"]["unit"] != json.loads(rows[0].params)["params"]["unit"]
    with Session(ctx.engine) as session:
        from duban.models import AuditEvent

        data = session.scalars(select(AuditEvent.data).where(col(AuditEvent.action) == "reassign")).one()
    assert (json.loads(data) if isinstance(data, str) else data)["citizen_notice"] == "accepted:sms"


def test_a_notice_line_naming_no_template_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "notifications.toml").write_text('[citizen_notices]\ndecline = "refused"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="citizen_notices.decline"):
        load_templates(tmp_path)
    assert load_templates().citizen_notices["decline"] == "not_accepted"  # O's action, once it exists


def test_mobile_numbers_are_read_in_every_written_form() -> None:
    for form in ("13912345678", "139 1234 5678", "139-1234-5678", "+8613912345678", "0086 139 1234 5678",
                 "１３９１２３４５６７８", "(139)12345678"):
        assert mobile_number(form) == PHONE, form
    for other in ("0931-8123456", "12345", "1391234567", "139123456789", "", "23912345678"):
        assert mobile_number(other) is None, other


# -- delivery: outages, refusals, crashes ----------------------------------------------------------

def test_a_gateway_that_is_down_delays_the_sms_and_it_is_delivered_once_when_back(
        ctx: ServiceContext, sms_gateway: GatewayServer, smtp_server: SmtpServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_server.start()
    transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    result = deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway))  # nobody on the port
    assert (result.sent, result.sms_sent, result.retried, result.sms_retried) == (1, 0, 1, 1)
    [row] = [r for r in notices(ctx) if r.channel == "sms"]
    assert (row.status, row.attempts) == ("pending", 1) and "unreachable" in row.last_error
    assert len(smtp_server.mailbox.messages) == 1  # the e-mail did not wait for the gateway
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).claimed == 0  # backing off
    later(ctx, seconds=61)
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).sms_retried == 1  # still down
    sms_gateway.start()
    later(ctx, seconds=60)
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).claimed == 0  # 120 s backoff
    later(ctx, seconds=61)
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).sms_sent == 1
    assert len(sms_gateway.requests) == 1 == len(sms_gateway.delivered)
    assert [r.status for r in notices(ctx)] == ["sent", "sent"]
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "gateway unreachable" in ours  # (not the test SMTP server's own log)
    assert PHONE not in ours and EMAIL not in ours


@pytest.mark.parametrize("answer", [(500, "ServiceUnavailable"), (200, "isv.BUSINESS_LIMIT_CONTROL"),
                                    (403, "InvalidAccessKeyId.NotFound")])
def test_a_gateway_that_answers_an_error_gets_the_message_again_later(
        ctx: ServiceContext, sms_gateway: GatewayServer, answer: tuple[int, str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sms_gateway.start()
    sms_gateway.fail_next = [answer]
    transferred(ctx, complainant_phone=PHONE)
    transferred(ctx, complainant_phone="13800001111", title="另一事项：某局拖欠货款")
    result = deliver_pending(ctx, NO_SMTP, sms=sms(sms_gateway))
    assert (result.sms_sent, result.sms_retried) == (1, 1)
    first = notices(ctx)[0]
    assert first.status == "pending" and answer[1] in first.last_error and PHONE not in first.last_error
    later(ctx, seconds=61)
    assert deliver_pending(ctx, NO_SMTP, sms=sms(sms_gateway)).sms_sent == 1
    assert sorted(p for p, _, _ in sms_gateway.texts()) == ["13800001111", PHONE]
    assert PHONE not in caplog.text


def test_a_number_the_gateway_refuses_fails_for_good_and_its_error_names_no_number(
        ctx: ServiceContext, sms_gateway: GatewayServer) -> None:
    sms_gateway.start()
    sms_gateway.refuse = {PHONE}
    transferred(ctx, complainant_phone=PHONE)
    result = deliver_pending(ctx, NO_SMTP, sms=sms(sms_gateway))
    assert (result.sms_failed, result.failed, result.retried) == (1, 1, 0)
    [row] = notices(ctx)
    assert row.status == "failed" and "isv.MOBILE_NUMBER_ILLEGAL" in row.last_error
    assert "1391234" not in row.last_error
    later(ctx, hours=2)
    assert deliver_pending(ctx, NO_SMTP, sms=sms(sms_gateway)).claimed == 0


def test_a_crash_after_the_gateway_took_a_message_resends_the_same_request_and_it_goes_once(
        ctx: ServiceContext, sms_gateway: GatewayServer) -> None:
    sms_gateway.start()
    transferred(ctx, complainant_phone=PHONE)
    config = sms(sms_gateway)
    crashed = Deliverer(ctx, NO_SMTP)
    _, _, [claim] = crashed.claim(10, "sms")

    async def send_then_die() -> None:  # the gateway takes it; the sender dies before marking it
        gateway = SmsGateway(config)
        await gateway.send(phone=claim.to_address, params=claim.params, message_id=claim.message_id)
        await gateway.close()

    asyncio.run(send_then_die())
    assert deliver_pending(ctx, NO_SMTP, sms=config).claimed == 0  # leased
    later(ctx, seconds=ctx.policy.notify.lease_seconds + 1)
    assert deliver_pending(ctx, NO_SMTP, sms=config).sms_sent == 1
    assert [r["OutId"] for r in sms_gateway.requests] == [sms_gateway.requests[0]["OutId"]] * 2
    assert len(sms_gateway.delivered) == 1  # the gateway dropped the copy by its request id
    assert deliver_pending(ctx, NO_SMTP, sms=config).claimed == 0


def test_without_a_gateway_sms_waits_in_the_outbox_and_mail_still_goes(
        ctx: ServiceContext, smtp_server: SmtpServer, sms_gateway: GatewayServer) -> None:
    smtp_server.start()
    transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    assert deliver_pending(ctx, smtp(smtp_server)).sent == 1
    assert [r.status for r in notices(ctx)] == ["pending", "sent"]
    sms_gateway.start()  # a gateway is set up later: the waiting message goes then
    assert deliver_pending(ctx, smtp(smtp_server), sms=sms(sms_gateway)).sms_sent == 1


def test_the_delivery_task_sends_sms_through_the_gateway_the_settings_name(
        engine: Engine, sms_gateway: GatewayServer, smtp_server: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from duban.config.settings import get_settings
    from duban.flows.common import flow_context, settings_for
    from duban.flows.deliver_notifications import send_due_mail

    ctx = world(engine, start="2023-03-09 09:00")
    transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    sms_gateway.start()
    smtp_server.start()
    monkeypatch.setenv("DUBAN_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("DUBAN_SMS_URL", sms_gateway.url)
    monkeypatch.setenv("DUBAN_SMS_SIGN_NAME", "甘肃督办")
    monkeypatch.setenv("DUBAN_SMS_ACCESS_KEY_SECRET", GatewayServer.SECRET)
    get_settings.cache_clear()
    try:
        url = engine.url.render_as_string(hide_password=False)
        counts = send_due_mail.fn(flow_context(url, "2023-03-09 09:30"), settings_for(url), None)
    finally:
        get_settings.cache_clear()
    assert (counts["sent"], counts["sms_sent"], counts["retried"]) == (2, 1, 0)
    assert len(sms_gateway.delivered) == 1 and sms_gateway.bad_signatures == 0


# -- confidentiality -------------------------------------------------------------------------------

def test_the_outbox_list_never_shows_a_complainants_number_or_address(ctx: ServiceContext) -> None:
    transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    with Session(ctx.engine) as session:  # a mail server's refusal quotes the address
        session.execute(update(Notification).where(col(Notification.channel) == "email").values(
            status="failed", last_error=f"{EMAIL}: 550 5.1.1 <{EMAIL}>: mailbox unavailable"))
        session.commit()
    for viewer in (DISPATCHER, SUPERVISOR):
        rows = list_mail(ctx, viewer)
        assert [r.to_address for r in rows] == ["（保密）", "（保密）"]
        assert all(PHONE not in r.subject + r.last_error and EMAIL not in r.subject + r.last_error
                   for r in rows)
        assert "550 5.1.1" in rows[0].last_error


def test_the_email_is_identity_masked_for_a_unit_and_cut_out_of_texts(ctx: ServiceContext) -> None:
    from duban.services.reading import case_detail

    number = transferred(ctx, complainant_phone=PHONE, complainant_email=EMAIL,
                         title=f"反映工程款（联系邮箱 {EMAIL}）")
    assert case_detail(ctx, number, actor=DISPATCHER)["complainant"]["email"] == EMAIL
    unit_view = case_detail(ctx, number, actor=unit_actor(ctx, UNIT))
    assert unit_view["complainant"]["email"] == "（保密）"
    assert EMAIL not in json.dumps(unit_view, ensure_ascii=False, default=str)
    with Session(ctx.engine) as session:
        assert EMAIL not in session.scalars(select(Case.title_redacted)).one()


def test_a_declined_case_would_tell_the_complainant_why_once_decline_exists(ctx: ServiceContext) -> None:
    """`decline` (不予受理) is another part's action: the hook needs only its config line, and a
    case still `received` (no unit, no limit) makes a notice with the reason."""
    from duban.services.handlers import Step
    from duban.services.notices import notify_complainants

    number = registered(ctx, complainant_phone=PHONE, complainant_email=EMAIL)
    service = CaseService(ctx)
    with service.transaction() as session:
        case = service.load_in(session, number, for_write=True)
        step = Step(session=session, case=case, ctx=ctx, actor=DISPATCHER, action="decline", form=None,
                    now=ctx.now(), reason=f"已进入诉讼程序（反映人电话{PHONE}）")
        notify_complainants(step)
    sms_row, mail_row = notices(ctx)
    assert (sms_row.kind, mail_row.kind) == ("not_accepted", "not_accepted")
    assert "经审查，不予受理。理由：已进入诉讼程序" in mail_row.body and PHONE not in mail_row.body
    assert json.loads(sms_row.params)["params"]["reason"].startswith("已进入诉讼程序")


def test_a_context_of_the_settings_reads_the_offices_templates_and_others_share_the_packaged(
        data_dir: Path, engine: Engine) -> None:
    """The packaged templates are compiled once a process; an office's own file is read anew."""
    from duban.db import create_all, get_engine

    (data_dir / "config").mkdir()
    (data_dir / "config" / "notifications.toml").write_text(
        '[citizen_notices]\nreassign = "accepted"\n', encoding="utf-8")
    create_all(get_engine())
    configured = ServiceContext.from_settings()
    assert configured.templates.citizen_notices["reassign"] == "accepted"
    packaged = ServiceContext(engine=engine).templates
    assert "reassign" not in packaged.citizen_notices
    assert ServiceContext(engine=engine).templates is packaged
