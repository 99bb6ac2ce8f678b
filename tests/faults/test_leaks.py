"""A census of everything that leaves Duban, looking for a complainant who did not consent:
every route as every identity that may not see them (pages, API, headers, error answers), the log
lines written meanwhile, the exports a unit or leader can make, and the mail the ladder sends to
units and governments. Each hit is a leak; the figure is printed, and must be 0.

tests/api/test_confidentiality.py stops at the first leak in an answer; this test counts them
all and adds the logs, exports and mail.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from duban.clock import SimulatedClock, parse_local
from duban.models import Notification
from duban.reports.export import export_cases
from duban.services.queries import scope_for
from duban.services.sweeps import run_deadline_sweep
from tests.api.test_confidentiality import IDENTITIES, IDENTITY_ROLES, Visitor, app_routes, filled, seeded
from tests.appworld import SECRET_NAME, SECRET_PHONE, USERS, AppWorld, LiveServer, app_for
from tests.factories import LEADER, unit_actor
from tests.faults import figures

SECRETS = (SECRET_NAME, SECRET_PHONE)


def _hits(text: str) -> int:
    return sum(text.count(secret) for secret in SECRETS)


def test_the_complainant_leaves_through_no_door(aw: AppWorld, caplog: pytest.LogCaptureFixture,
                                               tmp_path: Path) -> None:
    # Everything our code logs, and everything anyone logs at INFO (what production runs at).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="duban")
    cases = seeded(aw)
    app = app_for(aw)
    routes = sorted(app_routes(app), key=lambda r: r[1] in ("/logout", "/api/auth/logout"))
    leaks: list[str] = []
    answers = 0
    with LiveServer(app) as site:
        for username in IDENTITIES:
            role = USERS[username][0] if username else None
            if role in IDENTITY_ROLES:
                continue
            visitor = Visitor(site, aw, username)
            try:
                for method, path in routes:
                    for concrete in filled(path, cases):
                        answer = visitor.call(method, concrete)
                        answers += 1
                        shown = answer.text + " ".join(f"{k}:{v}" for k, v in answer.headers.items())
                        if _hits(shown):
                            leaks.append(f"{username or 'anonymous'} {method} {concrete}")
            finally:
                visitor.close()

    # What a unit and a leader can export.
    for who, actor in (("unit", unit_actor(aw.ctx, "GS-LZ-CG-GOV")), ("leader", LEADER)):
        for suffix in ("csv", "xlsx"):
            target = tmp_path / f"{who}.{suffix}"
            with Session(aw.ctx.engine) as session:
                flt = scope_for(session, actor)
            export_cases(aw.ctx, flt, target, actor=actor)
            content = target.read_bytes().decode("utf-8", "ignore") if suffix == "csv" else _xlsx_text(target)
            if _hits(content):
                leaks.append(f"export as {who} ({suffix})")

    # What the ladder mails to units, their heads and governments, weeks later.
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    for day in ("2023-10-20", "2023-10-27", "2023-11-10"):
        clock.set(parse_local(f"{day} 08:30"))
        run_deadline_sweep(aw.ctx)
    with Session(aw.ctx.engine) as session:
        mail = list(session.scalars(select(Notification)))
    outside = [m for m in mail if m.audience != "office"]
    assert outside, "the ladder sent nothing: the mail door was not tried"
    leaks += [f"mail {m.kind} to {m.audience}" for m in outside if _hits(m.subject + m.body + m.to_address)]

    logged = caplog.text
    if _hits(logged):
        leaks.append(f"log lines: {[line for line in logged.splitlines() if _hits(line)][:3]}")

    figures.add("leaks found", len(leaks))
    figures.note(f"leak census ({aw.ctx.engine.dialect.name}): {answers} answers to units, leaders and "
                 f"strangers, 4 exports, {len(outside)} mails outside the office, {len(caplog.records)} log "
                 f"records: {len(leaks)} leaks")
    assert leaks == []


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return " ".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                    for cell in row if cell is not None)
