"""The SMS gateway adapter: one HTTP POST per message, in the shape Chinese SMS providers take.

The request is Aliyun's SendSms (Tencent's SendSms carries the same four things): the phone
number, the approved sign name (短信签名), the template code and its parameters as a JSON string,
plus `OutId`, a request id unique per notification. A message re-sent after a crash between the
gateway's acceptance and our "sent" mark carries the same `OutId` (and `X-Request-Id` header), so
the gateway can drop the copy. The body is signed with HMAC-SHA256 under the secret whose
environment variable the settings name; the key id goes in a header.

What the gateway answers decides what happens to the row (duban/notify/deliver.py):
- unreachable (refused, timeout): `SmsUnreachable`, the whole batch waits for its backoff;
- HTTP 2xx with `Code` "OK": sent;
- a code listed in policy `[notify] sms_permanent_codes` (not a mobile, unsubscribed): `SmsRefused`,
  failed for good;
- anything else (HTTP 5xx or 4xx, throttling, any other code): `SmsTemporary`, retried with backoff.
Error texts keep the gateway's code and message with every run of digits masked: a gateway may
echo the number, and the error is stored and listed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import httpx

from duban.config.policy import Notify
from duban.config.settings import Settings

_DIGITS = re.compile(r"\d{5,}")


class SmsError(Exception):
    """A message the gateway did not take; `str()` is safe to store (no number in it)."""


class SmsUnreachable(SmsError):
    """No answer from the gateway: nothing in this batch can go now."""


class SmsTemporary(SmsError):
    """The gateway answered, but not "OK": this message is tried again later."""


class SmsRefused(SmsError):
    """The gateway will never take this message (policy [notify] sms_permanent_codes)."""


@dataclass(frozen=True)
class SmsConfig:
    url: str
    sign_name: str
    access_key: str = ""
    secret: str = ""
    timeout: float = 30.0
    permanent_codes: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, policy: Notify) -> SmsConfig | None:
        """The gateway the settings name, its credentials read from the environment now; None
        when no gateway is set (SMS rows then wait in the outbox)."""
        if not settings.sms_url:
            return None
        return cls(url=settings.sms_url, sign_name=settings.sms_sign_name,
                   access_key=os.environ.get(settings.sms_access_key_env, ""),
                   secret=os.environ.get(settings.sms_secret_env, ""),
                   timeout=policy.timeout_seconds, permanent_codes=frozenset(policy.sms_permanent_codes))


def request_id(message_id: str) -> str:
    """The notification's id as the gateway sees it (OutId): the Message-ID's unique part."""
    return message_id.strip("<>").split("@", 1)[0]


def request_body(config: SmsConfig, *, phone: str, params: str, message_id: str) -> dict[str, str]:
    """The SendSms request for one outbox row (`params`: {"template": code, "params": {...}})."""
    try:
        stored = json.loads(params)
        template, values = stored["template"], stored["params"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SmsRefused("the row has no SMS template and parameters") from exc
    return {"PhoneNumbers": phone, "SignName": config.sign_name, "TemplateCode": template,
            "TemplateParam": json.dumps(values, ensure_ascii=False, separators=(",", ":")),
            "OutId": request_id(message_id)}


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _safe(text: Any) -> str:
    return _DIGITS.sub("…", str(text))[:300]


class SmsGateway:
    """One client per batch (a kept-alive connection); `send` raises an SmsError or returns."""

    def __init__(self, config: SmsConfig) -> None:
        self.config = config
        self.client = httpx.AsyncClient(timeout=config.timeout, follow_redirects=False)

    async def send(self, *, phone: str, params: str, message_id: str) -> str:
        """Send one message; the gateway's id for it (BizId) when it took it."""
        body = json.dumps(request_body(self.config, phone=phone, params=params, message_id=message_id),
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Request-Id": request_id(message_id),
                   "X-Sms-AccessKeyId": self.config.access_key,
                   "X-Sms-Signature": signature(self.config.secret, body)}
        try:
            answer = await self.client.post(self.config.url, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SmsUnreachable(f"{type(exc).__name__}: gateway unreachable") from exc
        except httpx.HTTPError as exc:  # read timeout, dropped connection: it may have taken it
            raise SmsTemporary(f"{type(exc).__name__}: no answer from the gateway") from exc
        try:
            data = answer.json()
        except ValueError:
            data = {}
        code = str(data.get("Code", "")) if isinstance(data, dict) else ""
        if answer.is_success and code == "OK":
            return str(data.get("BizId", ""))
        message = data.get("Message", "") if isinstance(data, dict) else ""
        error = _safe(f"HTTP {answer.status_code} {code} {message}".strip())
        if code in self.config.permanent_codes:
            raise SmsRefused(error)
        raise SmsTemporary(error)

    async def close(self) -> None:
        await self.client.aclose()
