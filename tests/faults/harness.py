"""The crash harness's moving parts: processes it can SIGKILL, HTTP clients that keep working
through the outages, and a mail server that remembers when it received what."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tests.appworld import live_client

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """One kind of process (web, sweep, delivery, import): started, SIGKILLed, restarted."""

    def __init__(self, kind: str, command: list[str], *, env: dict[str, str], logs: Path) -> None:
        self.kind = kind
        self.command = command
        self.env = env
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.started_at = 0.0  # time.monotonic() of the last start
        self.kills = 0
        self.exits: list[int] = []  # return codes of runs that ended by themselves
        self.mid_run = 0  # kills that landed while a loop was inside a run (begin without end)
        self.mid_work = 0  # ... in a run that had work: the previous run of this process had some

    def start(self) -> None:
        self.starts += 1
        self.started_at = time.monotonic()
        log = (self.logs / f"{self.kind}-{self.starts:02d}.log").open("wb")
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reap(self) -> int | None:
        """The return code of a run that ended by itself since the last look, if any."""
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.exits.append(code)
            self.process = None
            return code
        return None

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # its own session: nothing it started survives
        self.process.wait()
        self.process = None
        self.kills += 1
        lines = (self.logs / f"{self.kind}-{self.starts:02d}.log").read_text(
            encoding="utf-8", errors="replace").splitlines()
        if lines and lines[-1].startswith("begin"):
            self.mid_run += 1
            ends = [line.split()[1] for line in lines if line.startswith("end ")]
            self.mid_work += bool(ends and ends[-1] != "0")

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM and wait: loops finish their current run first."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait()
        self.process = None
        return code

    def in_run(self) -> bool:
        """Whether a loop is inside a run now (its last line says begin)."""
        path = self.logs / f"{self.kind}-{self.starts:02d}.log"
        try:
            with path.open("rb") as handle:
                handle.seek(max(0, path.stat().st_size - 200))
                tail = handle.read().decode("utf-8", "replace").rstrip("\n").rsplit("\n", 1)[-1]
        except OSError:
            return False
        return tail.startswith("begin")

    def log_tail(self, chars: int = 3000) -> str:
        files = sorted(self.logs.glob(f"{self.kind}-*.log"))
        return files[-1].read_text(encoding="utf-8", errors="replace")[-chars:] if files else ""


# -- mail -----------------------------------------------------------------------------------------


class TimedMailbox:
    """An SMTP handler recording each accepted message's Message-ID and when it arrived.

    It takes a few milliseconds per message (`delay`), like a real server, so a delivery run
    is still sending when the harness kills it.
    """

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.received: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((str(message["Message-ID"]), time.monotonic()))
        return "250 Message accepted for delivery"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(mid for mid, _ in self.received)

    def times_of(self, message_id: str) -> list[float]:
        with self.lock:
            return [t for mid, t in self.received if mid == message_id]


def start_smtp(port: int, mailbox: TimedMailbox) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


# -- the ledger to import -------------------------------------------------------------------------

LEDGER_HEADERS = ["台账编号", "受理单位编码", "受理时间", "渠道", "类别", "优先级", "标题", "反映内容",
                  "反映人", "联系电话", "实名", "被反映单位"]


def write_ledger(path: Path, rows: int) -> list[str]:
    """A CSV ledger of `rows` distinct complaints; returns their titles."""
    titles = []
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEDGER_HEADERS)
        for n in range(rows):
            title = f"台账导入第{n:05d}号：某工程拖欠农民工工资"
            titles.append(title)
            writer.writerow([f"KILL-{n:05d}", "GS", f"2023/03/01 {9 + n % 8:02d}:{n % 60:02d}", "监督电话",
                             "拖欠账款", "一般", title, "工程完工后未结算。", f"导入反映人{n}",
                             f"1380000{n:04d}", "否", "某建设公司"])
    return titles


# -- clients --------------------------------------------------------------------------------------


@dataclass
class ClientLedger:
    """What the clients were told: a case counts as registered only once a 201 came back."""

    acked: dict[str, str] = field(default_factory=dict)  # title -> case number
    linked_on_retry: int = 0  # a retry after a lost answer, linked to the case the first made
    unacked: set[str] = field(default_factory=set)  # gave up (the run ended) before any answer
    transferred: set[str] = field(default_factory=set)  # case numbers whose transfer was answered
    transport_errors: int = 0
    answered_at: float = 0.0  # time.monotonic() of the last answer the web gave (any status below 500)
    server_errors: list[str] = field(default_factory=list)  # any 5xx: a failure of the test
    failures: list[str] = field(default_factory=list)  # an answer a client did not expect
    lock: threading.Lock = field(default_factory=threading.Lock)


class Clients:
    """Dispatchers registering complaints and transferring them, retrying through every outage."""

    def __init__(self, base_url: str, token: str, *, count: int, ledger: ClientLedger, seed: int) -> None:
        self.base_url = base_url
        self.token = token
        self.ledger = ledger
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i, random.Random(seed * 100 + i)),
                                         name=f"client-{i}", daemon=True) for i in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _call(self, http: httpx.Client, method: str, path: str,
              body: dict[str, Any]) -> httpx.Response | None:
        """One attempt; None when the server was not there (killed, restarting) to answer."""
        try:
            answer = http.request(method, path, json=body)
        except httpx.TransportError:
            with self.ledger.lock:
                self.ledger.transport_errors += 1
            time.sleep(0.1)
            return None
        if answer.status_code >= 500:
            with self.ledger.lock:
                self.ledger.server_errors.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
            time.sleep(0.1)
            return None
        with self.ledger.lock:
            self.ledger.answered_at = time.monotonic()
        return answer

    def _run(self, index: int, rng: random.Random) -> None:
        try:
            self._work(index, rng)
        except Exception as exc:  # noqa: BLE001  (reported by the test, not lost in a thread)
            with self.ledger.lock:
                self.ledger.failures.append(f"client {index}: {exc!r}")

    def _work(self, index: int, rng: random.Random) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with live_client(base_url=self.base_url, headers=headers, timeout=20) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                title = f"故障演练{index}-{n:04d}：某小区供水中断"
                body = {"office_code": "GS", "title": title, "summary": "停水三天，无人答复。",
                        "priority": "normal", "complainant_name": f"演练反映人{index}",
                        "complainant_phone": "13900000000", "subject_name": "某供水公司"}
                number = self._register(http, title, body)
                if number is None:
                    return
                self._transfer(http, number)
                time.sleep(rng.uniform(0, 0.05))

    def _register(self, http: httpx.Client, title: str, body: dict[str, Any]) -> str | None:
        tries = 0
        while not self.stop.is_set():
            tries += 1
            answer = self._call(http, "POST", "/api/cases", body)
            if answer is None:
                continue
            assert answer.status_code == 201, answer.text
            data = answer.json()
            with self.ledger.lock:
                self.ledger.acked[title] = data["case"]["number"]
                if data["linked"]:
                    assert tries > 1, "a first registration was linked to a case of another title"
                    self.ledger.linked_on_retry += 1
            return str(data["case"]["number"])
        with self.ledger.lock:
            self.ledger.unacked.add(title)
        return None

    def _transfer(self, http: httpx.Client, number: str) -> None:
        body = {"form": {"unit": "GS-LZ-CG-GOV"}}
        while not self.stop.is_set():
            answer = self._call(http, "POST", f"/api/cases/{number}/actions/transfer", body)
            if answer is None:
                continue
            # 409 on a retry: the first attempt was done and its answer lost with the server.
            assert answer.status_code in (200, 409), answer.text
            if answer.status_code == 409:
                assert answer.json()["code"] == "action_not_allowed", answer.text
            with self.ledger.lock:
                self.ledger.transferred.add(number)
            return


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
