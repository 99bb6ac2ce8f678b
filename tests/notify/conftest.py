"""A real SMTP server (aiosmtpd) and a real SMS gateway (http.server) on loopback, per test on a free port."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HeldPort:
    """A free port kept bound, not listening, until the server that owns it starts: a server
    that is down refuses connections (unreachable), and no other test's server (the other
    worker's) can take the port meanwhile and answer in its place."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])

    def release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Mailbox:
    """Records what the server accepted; can refuse recipients and stall like a slow server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.stall_rcpt: list[float] = []  # seconds to stall the next RCPTs, one entry each
        self.stall_data: list[float] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.stall_rcpt:
            await asyncio.sleep(self.stall_rcpt.pop(0))
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall_data:
            await asyncio.sleep(self.stall_data.pop(0))
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    def __init__(self, port: int | HeldPort) -> None:
        self._held = port if isinstance(port, HeldPort) else None
        self.port = port.port if isinstance(port, HeldPort) else port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._held is not None:
            self._held.release()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                      enable_SMTPUTF8=True)
        self._controller.start()

    def stop(self) -> None:
        if self._held is not None:
            self._held.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A server on a free port, not started: a test starts it (or leaves it down: an outage)."""
    server = SmtpServer(HeldPort())
    yield server
    server.stop()


class SmsGateway:
    """An SMS provider's send endpoint on loopback (Aliyun SendSms-shaped JSON over HTTP POST).

    Records every request it gets (`requests`, duplicates included) and what it takes to send
    (`delivered`: once per OutId, as a provider that dedupes on the request id would), checks the
    signature, and fails on demand: `fail_next` holds (HTTP status, Code) answers for the next
    requests; `refuse` is a set of numbers it answers isv.MOBILE_NUMBER_ILLEGAL for.
    """

    SECRET = "test-sms-secret"

    def __init__(self, port: int | HeldPort) -> None:
        self._held = port if isinstance(port, HeldPort) else None
        self.port = port.port if isinstance(port, HeldPort) else port
        self.requests: list[dict[str, Any]] = []
        self.delivered: dict[str, dict[str, Any]] = {}  # OutId -> request
        self.fail_next: list[tuple[int, str]] = []
        self.refuse: set[str] = set()
        self.bad_signatures = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms/send"

    def texts(self) -> list[tuple[str, str, dict[str, str]]]:
        """(phone, template code, params) of each message delivered, in order."""
        return [(r["PhoneNumbers"], r["TemplateCode"], json.loads(r["TemplateParam"]))
                for r in self.delivered.values()]

    def _answer(self, body: dict[str, Any], signed: str) -> tuple[int, dict[str, Any]]:
        digest = hmac.new(self.SECRET.encode(), body["_raw"], hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        if signed != expected:
            self.bad_signatures += 1
            return 403, {"Code": "SignatureDoesNotMatch", "Message": "bad signature"}
        if self.fail_next:
            status, code = self.fail_next.pop(0)
            return status, {"Code": code, "Message": f"failure on demand for {body['PhoneNumbers']}"}
        if body["PhoneNumbers"] in self.refuse:
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": f"{body['PhoneNumbers']} 非法手机号"}
        out_id = body["OutId"]
        if out_id not in self.delivered:
            self.delivered[out_id] = {k: v for k, v in body.items() if k != "_raw"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{out_id[:8]}", "RequestId": out_id}

    def start(self) -> None:
        if self._held is not None:
            self._held.release()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.loads(raw)
                gateway.requests.append(body)
                signed = self.headers.get("X-Sms-Signature", "")
                status, answer = gateway._answer({**body, "_raw": raw}, signed)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the gateway's own access log is not ours

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._held is not None:
            self._held.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    """A gateway on a free port, not started: a test starts it (or leaves it down: an outage)."""
    gateway = SmsGateway(HeldPort())
    yield gateway
    gateway.stop()
