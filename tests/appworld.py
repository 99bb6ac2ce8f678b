"""The application on a small world, for API and page tests: the orgs of tests/factories.py,
one user per role (plus a second unit and a county office), and their bearer tokens."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from duban.app import create_app
from duban.models import AuditEvent, Case, User
from duban.services import ServiceContext
from duban.services import users as users_module
from duban.services.users import create_user, issue_token
from tests.factories import advance, world

PASSWORD = "correct horse 甘肃"

# username: (role, org code)
USERS = {
    "clerk": ("clerk", "GS"),
    "dispatcher": ("dispatcher", "GS"),
    "supervisor": ("supervisor", "GS"),
    "leader": ("leader", "GS"),
    "admin": ("admin", "GS"),
    "unit": ("unit", "GS-LZ-CG-GOV"),
    "other-unit": ("unit", "GS-LZ-CG-SWJ"),
    "county": ("dispatcher", "GS-LZ-CG"),
    "city": ("supervisor", "GS-LZ"),
}

# A complainant no other text contains, so a test can search every response for it.
SECRET_NAME = "欧阳秘密"
SECRET_PHONE = "19912345678"

# Cheap parameters: the tests check behaviour, not the hash's cost (argon2id all the same).
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_module, "_hasher", lambda: _FAST)


@dataclass
class AppWorld:
    ctx: ServiceContext
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def advance(self, **delta: float) -> None:
        """Move the simulated clock; tokens are issued anew, since they expire on that clock too."""
        advance(self.ctx, **delta)
        with Session(self.ctx.engine) as session:
            for username in self.tokens:
                user = session.exec(select(User).where(User.username == username)).one()
                self.tokens[username] = issue_token(self.ctx, user)[0]

    def snapshot(self) -> tuple[int, int, list[tuple[str, int, str]]]:
        """Cases, audit events and every case's (number, version, state): 'nothing changed' checks."""
        with Session(self.ctx.engine) as session:
            cases = session.exec(select(func.count()).select_from(Case)).one()
            events = session.exec(select(func.count()).select_from(AuditEvent)).one()
            rows = [(c.number, c.version, c.state) for c in session.exec(select(Case).order_by(Case.id))]
        return cases, events, rows


def make_world(engine: Engine, *, start: str = "2023-09-27 10:00") -> AppWorld:
    ctx = world(engine, start=start)
    out = AppWorld(ctx=ctx)
    for username, (role, org) in USERS.items():
        user = create_user(ctx, username=username, password=PASSWORD, role=role, org_code=org,
                           display_name=f"{username}用户")
        out.tokens[username] = issue_token(ctx, user)[0]
    return out


def app_for(app_world: AppWorld):  # type: ignore[no-untyped-def]
    return create_app(app_world.ctx, secret="test-secret-key-not-for-production")


# How long a test's visitor waits for a live server's answer: httpx's own 5 s, on a CI machine of
# two cores running the suite in two workers and a browser, once ran out (a page's first request).
LIVE_TIMEOUT = 30


def live_client(**options: object) -> httpx.Client:
    """An HTTP visitor of a live server (LiveServer, a served command), waiting LIVE_TIMEOUT."""
    return httpx.Client(**{"timeout": LIVE_TIMEOUT, **options})  # type: ignore[arg-type]


class LiveServer:
    """The app under uvicorn on 127.0.0.1 in a thread, on a free port: a real server for tests."""

    def __init__(self, app, *, access_log: bool = False) -> None:  # type: ignore[no-untyped-def]
        # access_log: uvicorn's access lines at INFO, to the root logger (caplog sees them).
        logs = {"log_level": "info", "log_config": None} if access_log else {"log_level": "warning"}
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, ws="none", lifespan="on",
                                                    access_log=access_log, **logs))
        self.thread = threading.Thread(target=self.server.run, name="duban-test-server", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
