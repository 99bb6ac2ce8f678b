"""Delivering the outbox over SMTP (aiosmtplib) and the SMS gateway (duban/notify/sms.py): claim,
send, mark; retry with backoff; never twice. Each channel is claimed and sent on its own, so a
gateway that is down delays only its own channel's messages.

- Claim: a batch of due rows goes pending → sending with a claim token and time, in one write
  transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED), so two senders
  never hold the same row. A claim older than the lease (a sender that crashed) is taken again.
- Send: one connection per batch, one recipient per message. Each message is marked sent right
  after the server accepts it. A sender stops sending its claims at half the lease, so a claim
  is never re-taken while its first sender may still send it.
- Fail: a temporary failure (server down, timeout, 4xx) puts the row back with exponential
  backoff, for as long as it takes: a mail server that is down delays mail, never loses it.
  A 5xx (recipient refused) is permanent: the row is `failed` with the server's answer.
- The one gap SMTP leaves: a crash after the server accepted a message and before we marked it.
  The re-sent copy carries the same Message-ID (unique per notification), so it is detectable.
  An SMS re-sent so carries the same request id (OutId), which the gateway dedupes.
- Logs name a message by its id, never its recipient (a complainant's number is identity).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import logging
import secrets
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from duban.config.policy import Policy
from duban.config.settings import Settings
from duban.db import claim, write_transaction
from duban.models import Notification
from duban.notify.sms import SmsConfig, SmsError, SmsGateway, SmsRefused, SmsUnreachable

log = logging.getLogger(__name__)


class DeliveryContext(Protocol):
    """What delivery needs of the service context: the database, the clock, policy [notify]."""

    @property
    def engine(self) -> Engine: ...

    @property
    def policy(self) -> Policy: ...

    def now(self) -> dt.datetime: ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    timeout: float = 30.0
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, ctx: DeliveryContext) -> SmtpConfig:
        return cls(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
                   timeout=ctx.policy.notify.timeout_seconds, starttls=settings.smtp_starttls,
                   username=settings.smtp_username, password=settings.smtp_password)


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    # The SMS channel's share of the counts above.
    sms_sent: int = 0
    sms_retried: int = 0
    sms_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Claimed:
    id: int
    to_address: str
    subject: str
    body: str
    message_id: str
    attempts: int
    channel: str = "email"
    params: str = ""


def compose(claim: Claimed, sender: str, now: dt.datetime) -> EmailMessage:
    """The email as sent: UTF-8 body, RFC 2047 subject, our Message-ID."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = claim.to_address
    msg["Subject"] = claim.subject
    msg["Message-ID"] = claim.message_id
    msg["Date"] = format_datetime(now)
    msg.set_content(claim.body, charset="utf-8", cte="base64")
    return msg


class Deliverer:
    def __init__(self, ctx: DeliveryContext, smtp: SmtpConfig) -> None:
        self.ctx = ctx
        self.smtp = smtp
        self.policy = ctx.policy.notify
        self.lease = dt.timedelta(seconds=self.policy.lease_seconds)
        self.result = DeliveryResult()

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, limit: int, channel: str = "email") -> tuple[str, dt.datetime, list[Claimed]]:
        token = secrets.token_hex(8)
        now = self.ctx.now()
        with write_transaction(self.ctx.engine) as conn:
            due = or_(and_(col(Notification.status) == "pending", col(Notification.next_attempt_at) <= now),
                      and_(col(Notification.status) == "sending",
                           col(Notification.claimed_at) < now - self.lease))
            query = (select(col(Notification.id)).where(due, col(Notification.channel) == channel)
                     .order_by(col(Notification.id)).limit(limit))
            ids = list(conn.scalars(claim(query, conn)))
            if not ids:
                return token, now, []
            conn.execute(update(Notification).where(col(Notification.id).in_(ids)).values(
                status="sending", claimed_at=now, claim_token=token,
                attempts=col(Notification.attempts) + 1))
            rows = conn.execute(select(
                col(Notification.id), col(Notification.to_address), col(Notification.subject),
                col(Notification.body), col(Notification.message_id), col(Notification.attempts),
                col(Notification.channel), col(Notification.params),
            ).where(col(Notification.claim_token) == token).order_by(col(Notification.id))).all()
        claims = [Claimed(*row) for row in rows]
        self.result.claimed += len(claims)
        return token, now, claims

    # -- marking -----------------------------------------------------------------------------

    def _mark(self, claim: Claimed, token: str, **values: object) -> None:
        with write_transaction(self.ctx.engine) as conn:
            conn.execute(update(Notification).where(
                col(Notification.id) == claim.id, col(Notification.claim_token) == token,
                col(Notification.status) == "sending").values(**values))

    def sent(self, claim: Claimed, token: str) -> None:
        self._mark(claim, token, status="sent", sent_at=self.ctx.now(), last_error="")
        self.result.sent += 1
        self.result.sms_sent += claim.channel == "sms"

    def retry(self, claim: Claimed, token: str, error: str) -> None:
        delay = min(self.policy.backoff_seconds * 2 ** max(claim.attempts - 1, 0),
                    self.policy.backoff_max_seconds)
        self._mark(claim, token, status="pending", claim_token=None,
                   next_attempt_at=self.ctx.now() + dt.timedelta(seconds=delay), last_error=error)
        self.result.retried += 1
        self.result.sms_retried += claim.channel == "sms"

    def fail(self, claim: Claimed, token: str, error: str) -> None:
        self._mark(claim, token, status="failed", claim_token=None, last_error=error)
        self.result.failed += 1
        self.result.sms_failed += claim.channel == "sms"

    def release(self, claim: Claimed, token: str) -> None:
        """Give back a claim not tried (out of lease time): no attempt counted."""
        self._mark(claim, token, status="pending", claim_token=None,
                   attempts=col(Notification.attempts) - 1)
        self.result.released += 1

    def released_late(self, rest: list[Claimed], token: str, claimed_at: dt.datetime) -> bool:
        """Half the lease gone: give the rest back untried, before another sender may take them."""
        if self.ctx.now() - claimed_at <= self.lease / 2:
            return False
        for untried in rest:
            self.release(untried, token)
        return True

    # -- sending -----------------------------------------------------------------------------

    async def send_batch(self, token: str, claimed_at: dt.datetime, claims: list[Claimed]) -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            for i, claim in enumerate(claims):
                if self.released_late(claims[i:], token, claimed_at):
                    return
                connecting = client is None
                try:
                    if client is None:
                        client = await self._connect()
                    await client.send_message(compose(claim, self.smtp.sender, self.ctx.now()))
                except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                    error = _describe(exc)
                    if _is_permanent(exc):
                        self.fail(claim, token, error)
                        continue
                    # The recipient stays out of the log (a complainant's address is identity).
                    log.warning("mail %s not delivered, will retry: %s", claim.message_id,
                                error.replace(claim.to_address, "<recipient>"))
                    if connecting:  # the server is unreachable: the whole batch waits
                        for rest in claims[i:]:
                            self.retry(rest, token, error)
                        return
                    self.retry(claim, token, error)
                    await _drop(client)  # its state is unknown after a failure
                    client = None
                    continue
                self.sent(claim, token)
        finally:
            await _drop(client)

    async def send_sms_batch(self, token: str, claimed_at: dt.datetime, claims: list[Claimed],
                             config: SmsConfig) -> None:
        """The SMS twin of `send_batch`: one POST per message on one client, same lease and marks."""
        gateway = SmsGateway(config)
        try:
            for i, claim in enumerate(claims):
                if self.released_late(claims[i:], token, claimed_at):
                    return
                try:
                    await gateway.send(phone=claim.to_address, params=claim.params,
                                       message_id=claim.message_id)
                except SmsRefused as exc:
                    self.fail(claim, token, str(exc))
                    continue
                except SmsUnreachable as exc:  # the gateway is down: the whole batch waits
                    log.warning("SMS gateway unreachable, %d messages will retry: %s",
                                len(claims) - i, exc)
                    for rest in claims[i:]:
                        self.retry(rest, token, str(exc))
                    return
                except SmsError as exc:
                    log.warning("SMS %s not delivered, will retry: %s", claim.message_id, exc)
                    self.retry(claim, token, str(exc))
                    continue
                self.sent(claim, token)
        finally:
            await gateway.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(hostname=self.smtp.host, port=self.smtp.port,
                                 timeout=self.smtp.timeout, start_tls=self.smtp.starttls)
        await client.connect()
        if self.smtp.username:
            await client.login(self.smtp.username, self.smtp.password or "")
        return client


async def _drop(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        client.close()


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= r.code < 600 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 500 <= exc.code < 600
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def deliver_pending(ctx: DeliveryContext, smtp: SmtpConfig, *, sms: SmsConfig | None = None,
                    batch_size: int | None = None, max_batches: int | None = None) -> DeliveryResult:
    """Send what is due, batch after batch, until nothing due is left (or `max_batches`), per channel.

    E-mail goes to `smtp`; SMS to the gateway `sms`. Without `sms` (no gateway set) SMS rows are
    not claimed: they wait, pending, until a run has a gateway.
    """
    deliverer = Deliverer(ctx, smtp)
    size = batch_size or ctx.policy.notify.batch_size
    for channel in ("email", "sms") if sms is not None else ("email",):
        batches = 0
        retried = deliverer.result.retried
        while max_batches is None or batches < max_batches:
            token, claimed_at, claims = deliverer.claim(size, channel)
            if not claims:
                break
            if channel == "sms":
                assert sms is not None
                asyncio.run(deliverer.send_sms_batch(token, claimed_at, claims, sms))
            else:
                asyncio.run(deliverer.send_batch(token, claimed_at, claims))
            batches += 1
            if deliverer.result.retried > retried:
                break  # trouble on the server: what is left waits for its backoff
    return deliverer.result
