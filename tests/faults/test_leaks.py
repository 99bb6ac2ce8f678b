"""A census of everything that leaves Duban, looking for a complainant who did not consent:
every route as every identity that may not see them (pages, API, headers, error answers), the log
lines written meanwhile, the exports a unit or leader can make, the mail the ladder sends to
units and governments, and the complainant's own notices (their texts; and the logs of their
delivery by SMS, through an outage, to a gateway on loopback). Each hit is a leak; the figure is
printed, and must be 0.

tests/api/test_confidentiality.py stops at the first leak in an answer; this test counts them
all and adds the logs, exports and mail.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select
from sqlmodel import Session, col
from typer.testing import CliRunner

from duban.cli import app as cli_app
from duban.clock import SimulatedClock, parse_local
from duban.importer import import_file
from duban.models import Case, Notification
from duban.notify.deliver import SmtpConfig, deliver_pending
from duban.notify.sms import SmsConfig
from duban.reports.export import export_cases
from duban.services import CaseService
from duban.services.attachments import Upload, list_attachments
from duban.services.queries import scope_for
from duban.services.sweeps import run_deadline_sweep
from tests import filesamples as s
from tests.api.test_confidentiality import IDENTITIES, IDENTITY_ROLES, Visitor, app_routes, filled, seeded
from tests.appworld import SECRET_NAME, SECRET_PHONE, USERS, AppWorld, LiveServer, app_for
from tests.factories import CLERK, DISPATCHER, LEADER, REPORTED, SUPERVISOR, complaint, unit_actor
from tests.faults import figures
from tests.faults import identity_corpus as corpus
from tests.notify.conftest import SmsGateway, SmtpServer, free_port

cli_runner = CliRunner()

SECRETS = (SECRET_NAME, SECRET_PHONE)


def ladder_mail(aw: AppWorld) -> list[Notification]:
    """What the ladder mails to units, their heads and governments, weeks later."""
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    for day in ("2023-10-20", "2023-10-27", "2023-11-10"):
        clock.set(parse_local(f"{day} 08:30"))
        run_deadline_sweep(aw.ctx)
    with Session(aw.ctx.engine) as session:
        mail = list(session.scalars(select(Notification)))
    outside = [m for m in mail if m.audience != "office"]
    assert outside, "the ladder sent nothing: the mail door was not tried"
    return outside


def carried(m: Notification) -> str:
    """What a message carries out: a complainant's own notice goes to their own number or address
    (that is its point), so its texts count, not where it goes."""
    return m.subject + m.body + m.params + ("" if m.audience == "complainant" else m.to_address)


def told_by_sms(aw: AppWorld) -> list[str]:
    """Deliver the complainants' notices as the engine does, through a gateway outage and back,
    while the test records the logs: the numbers the gateway was asked to text."""
    clock = aw.ctx.clock
    assert isinstance(clock, SimulatedClock)
    gateway, server = SmsGateway(free_port()), SmtpServer(free_port())
    smtp = SmtpConfig(host="127.0.0.1", port=server.port, sender="duban@gs.example", timeout=5)
    sms = SmsConfig(url=gateway.url, sign_name="督办系统", secret=SmsGateway.SECRET, timeout=5)
    server.start()
    try:
        assert deliver_pending(aw.ctx, smtp, sms=sms).sms_retried, "no SMS waited for the gateway"
        gateway.start()
        gateway.fail_next = [(500, "ServiceUnavailable")]
        for _ in range(3):
            clock.advance(dt.timedelta(hours=2))
            deliver_pending(aw.ctx, smtp, sms=sms)
    finally:
        gateway.stop()
        server.stop()
    return [phone for phone, _, _ in gateway.texts()]


def _hits(text: str) -> int:
    return sum(text.count(secret) for secret in SECRETS)


def with_files(aw: AppWorld, cases: dict[str, str]) -> list[int]:
    """The file door: the secret complainant's letter (its name and its bytes name them) joins
    their case as a repeat, and the unit attaches a photo it named after them to its report.
    The ids of every attachment, for the download routes."""
    service = CaseService(aw.ctx)
    letter = s.PDF + f"% {SECRET_NAME} {SECRET_PHONE}\n".encode()
    service.register(complaint(title=f"{SECRET_NAME}再次反映尾款未付", complainant_name=SECRET_NAME,
                               complainant_phone=SECRET_PHONE, repeat_of=cases["secret"]),
                     actor=CLERK, files=(Upload(f"{SECRET_NAME}的来信.pdf", letter),))
    service.act(cases["secret"], "submit_report", actor=unit_actor(aw.ctx, UNIT),
                form={**REPORTED, "text": "已付清"}, files=(Upload(f"{SECRET_NAME}家门口.jpg", s.JPEG),))
    rows = list_attachments(aw.ctx, cases["secret"], actor=DISPATCHER)
    assert [r["kind"] for r in rows] == ["registration", "report"]
    return [r["id"] for r in rows]


def with_ids(paths: Iterator[str], ids: list[int]) -> Iterator[str]:
    for path in paths:
        if "{attachment_id}" in path:
            yield from (path.replace("{attachment_id}", str(i)) for i in ids)
        else:
            yield path


def test_the_complainant_leaves_through_no_door(aw: AppWorld, caplog: pytest.LogCaptureFixture,
                                               tmp_path: Path) -> None:
    # Everything our code logs, and everything anyone logs at INFO (what production runs at).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="duban")
    cases = seeded(aw)
    attachments = with_files(aw, cases)
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
                    for concrete in with_ids(filled(path, cases), attachments):
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

    outside = ladder_mail(aw)
    leaks += [f"mail {m.kind} to {m.audience}" for m in outside if _hits(carried(m))]
    assert SECRET_PHONE in told_by_sms(aw)  # the complainant was told: the SMS door was tried

    logged = caplog.text
    if _hits(logged):
        leaks.append(f"log lines: {[line for line in logged.splitlines() if _hits(line)][:3]}")

    figures.add("leaks found", len(leaks))
    figures.note(f"leak census ({aw.ctx.engine.dialect.name}): {answers} answers to units, leaders and "
                 f"strangers, 4 exports, {len(outside)} mails outside the office, {len(caplog.records)} log "
                 f"records: {len(leaks)} leaks")
    assert leaks == [], "\n".join(leaks)


def _xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return " ".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                    for cell in row if cell is not None)


# -- the census of written forms (tests/faults/identity_corpus.py) ---------------------------------

UNIT = "GS-LZ-CG-GOV"


def corpus_cases(aw: AppWorld, tmp_path: Path) -> dict[str, str]:
    """Three cases whose texts carry every written form of identity in the corpus, entered through
    every door a text comes in by: registration (title, summary), a repeat caller, a dispatcher's
    note, an extension asked and granted, handling reports (with their structured parts), a
    reviewer's reasons, a callback note, a 签收 note, 退单 requests and the dispatcher's decisions,
    a ledger import, and a department's report passed on by its government."""
    ctx, service = aw.ctx, CaseService(aw.ctx)
    unit = unit_actor(ctx, UNIT)
    parts = corpus.texts(12)
    first = service.register(complaint(
        title=f"{corpus.FIRST_NAME}（136 0931 8888）反映城关区住建局拖欠工程款", summary=parts[0],
        complainant_name=corpus.FIRST_NAME, complainant_phone=corpus.FIRST_PHONE,
        complainant_address=corpus.FIRST_ADDRESS), actor=CLERK).case.number
    service.register(complaint(title=f"{corpus.REPEAT_NAME}（{corpus.REPEAT_PHONE}）再次反映工程款",
                               summary=parts[1], complainant_name=corpus.REPEAT_NAME,
                               complainant_phone=corpus.REPEAT_PHONE, repeat_of=first), actor=CLERK)
    service.act(first, "transfer", actor=DISPATCHER, form={"unit": UNIT, "note": parts[2]})
    service.act(first, "request_extension", actor=unit, form={"days": 3, "reason": parts[3]})
    service.act(first, "approve_extension", actor=DISPATCHER, form={"note": parts[4]})
    service.act(first, "submit_report", actor=unit, form={**REPORTED, "text": parts[5]})
    service.act(first, "send_back", actor=SUPERVISOR, form={"reasons": parts[6]})
    parted = corpus.texts(3)  # the structured report's texts (是否属实 is a code, not a text)
    service.act(first, "submit_report", actor=unit, form={
        "text": parts[7], "finding": "partly_true", "actions_taken": parted[0], "rectification": parted[1],
        "accountability": parted[2]})
    service.act(first, "approve", actor=SUPERVISOR, form={"note": parts[8]})
    service.act(first, "record_callback", actor=CLERK,
                form={"method": "visit", "result": "unsatisfied", "reason": parts[9]})

    objected = service.register(complaint(title="城关区某小区停水三天", summary=parts[10],
                                          complainant_name=corpus.FIRST_NAME,
                                          complainant_phone=corpus.FIRST_PHONE,
                                          complainant_address=corpus.FIRST_ADDRESS,
                                          subject_name="城关区水务局", subject_org_code="GS-LZ-CG-SWJ"),
                                actor=CLERK).case.number
    service.act(objected, "transfer", actor=DISPATCHER, form={"unit": UNIT})
    service.act(objected, "sign_for", actor=unit, form={"note": parts[11]})
    decided = corpus.texts(3, of=corpus.FIRST_NAME)  # 退单: asked, refused, asked again, agreed
    service.act(objected, "request_return", actor=unit, form={"reason": parts[11]})
    service.act(objected, "reject_return", actor=DISPATCHER, form={"reason": decided[0]})
    service.act(objected, "request_return", actor=unit, form={"reason": decided[1]})
    service.act(objected, "accept_return", actor=DISPATCHER, form={"note": decided[2]})
    service.act(objected, "transfer", actor=DISPATCHER, form={"unit": UNIT})

    ledger = tmp_path / "ledger.csv"
    with ledger.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["台账编号", "受理单位编码", "受理时间", "渠道", "类别", "优先级", "标题", "反映内容",
                         "反映人", "联系电话", "反映人地址", "实名", "被反映单位"])
        writer.writerow(["CENSUS-1", "GS", "2023/09/26 09:00", "监督电话", "拖欠账款", "涉企突出问题",
                         "雁南路小区供暖不热", "；".join(corpus.texts(2, of=corpus.FIRST_NAME)),
                         corpus.FIRST_NAME, corpus.FIRST_PHONE, corpus.FIRST_ADDRESS, "是", "城关区住建局"])
    result = import_file(ctx, ledger, actor=CLERK)
    assert result.created == 1, result.errors
    with Session(ctx.engine) as session:
        imported = session.scalars(select(Case.number).order_by(col(Case.id).desc())).first()
    assert imported is not None
    service.act(imported, "transfer", actor=DISPATCHER, form={"unit": UNIT})
    # 二次交办: the government passes it to its 水务局 ("other-unit", no consent), which reports
    # through the government; each text carries every form again.
    note, report, reasons = corpus.texts(3, of=corpus.FIRST_NAME)
    department = unit_actor(ctx, "GS-LZ-CG-SWJ")
    service.act(imported, "delegate", actor=unit, form={"department": "GS-LZ-CG-SWJ", "note": note})
    service.act(imported, "submit_report", actor=department, form={**REPORTED, "text": report})
    service.act(imported, "return_delegate_report", actor=unit, form={"reasons": reasons})
    return {"first": first, "objected": objected, "imported": imported}


def census_paths(path: str, cases: dict[str, str]) -> list[str]:
    """Concrete paths of a route for the census' own cases (the old cases are `filled`'s)."""
    if "{number}" not in path or "{action}" in path:
        return []
    return [path.replace("{number}", number) for number in cases.values()]


def _cli(*args: str) -> str:
    result = cli_runner.invoke(cli_app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_no_written_form_of_identity_leaves_through_any_door(
        aw: AppWorld, caplog: pytest.LogCaptureFixture, tmp_path: Path,
        settings_env: Callable[..., None]) -> None:
    """Each of the corpus' written forms of identity, entered through every text door, searched for
    in every answer of every identity without the right to see it: API and pages (every route),
    the CLI with --as, exports, the report and board files, the ladder's mail, and the logs."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="duban")
    cases = corpus_cases(aw, tmp_path)
    app = app_for(aw)
    routes = sorted(app_routes(app), key=lambda r: r[1] in ("/logout", "/api/auth/logout"))
    leaks: list[str] = []
    answers = 0

    def look(door: str, text: str) -> None:
        nonlocal answers
        answers += 1
        leaks.extend(f"{door}: {form}" for form in corpus.found_in(text))

    with LiveServer(app, access_log=True) as site:
        for username in IDENTITIES:
            if username and USERS[username][0] in IDENTITY_ROLES:
                continue
            visitor = Visitor(site, aw, username)
            try:
                for method, path in routes:
                    for concrete in census_paths(path, cases) if "{" in path else [path]:
                        answer = visitor.call(method, concrete)
                        look(f"{username or 'anonymous'} {method} {concrete}",
                             answer.text + " ".join(f"{k}:{v}" for k, v in answer.headers.items()))
                # Search is no oracle: what a text hides finds nothing (and % _ are literal).
                for q in ("13609318888", "136 0931", corpus.FIRST_NAME, "司马", "李先生", "%", "_"):
                    listing = visitor.call("GET", f"/api/cases?text={quote(q)}&limit=500")
                    look(f"{username or 'anonymous'} search {q}", listing.text)
                    if listing.status_code == 200 and listing.json()["items"]:
                        leaks.append(f"search oracle: {username} found {q!r}")
            finally:
                visitor.close()
        # The detector sees what the receiving office's dispatcher may see: the census can fail.
        office = Visitor(site, aw, "dispatcher")
        try:
            seen = {form for number in cases.values()
                    for form in corpus.found_in(office.call("GET", f"/api/cases/{number}").text)}
        finally:
            office.close()
        assert len(seen) == len(corpus.NEEDLES), set(corpus.NEEDLES.values()) - seen

    # The command line: the unit, a leader, another office, as --as names them.
    settings_env(DUBAN_DATABASE_URL=aw.ctx.engine.url.render_as_string(hide_password=False),
                 DUBAN_DATA_DIR=str(tmp_path / "cli"))
    for who in (f"unit:{UNIT}", "leader:GS", "supervisor:GS", "dispatcher:GS-LZ-CG", "admin:GS"):
        look(f"cli case list --as {who}", _cli("case", "list", "--as", who))
        for number in cases.values():
            result = cli_runner.invoke(cli_app, ["case", "show", number, "--as", who], env={"COLUMNS": "250"})
            look(f"cli case show {number} --as {who}", result.output)
        for suffix in ("csv", "xlsx"):
            target = tmp_path / f"export-{who.replace(':', '-')}.{suffix}"
            _cli("export", str(target), "--as", who)
            content = target.read_bytes().decode("utf-8", "ignore") if suffix == "csv" else _xlsx_text(target)
            look(f"cli export --as {who} ({suffix})", content)
    for kind, args in (("report", ("report", "-p", "2023-09", "--html")), ("board", ("board", "--html"))):
        target = tmp_path / f"{kind}.html"
        _cli(*args, str(target), "--quiet") if kind == "report" else _cli(*args, str(target))
        look(f"cli {kind} (handed to leaders)", target.read_text(encoding="utf-8"))

    outside = ladder_mail(aw)
    for m in outside:
        look(f"mail {m.kind} to {m.audience}", carried(m))

    # What the server logged (access lines included); not this test's own client (httpx).
    logged = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "uvicorn.access" for r in logged), "no access line: the log door was not tried"
    for record in logged:
        look(f"log {record.name}:{record.lineno}", record.getMessage())
    figures.add("leaks of written forms found", len(leaks))
    figures.note(f"census of {len(corpus.FORMS)} written forms ({aw.ctx.engine.dialect.name}): {answers} "
                 f"answers, exports, files, {len(outside)} mails and {len(caplog.records)} log records "
                 f"searched: {len(leaks)} leaks")
    assert leaks == [], "\n".join(leaks)
