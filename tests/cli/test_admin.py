"""`duban backup`, `duban restore` and `duban audit verify` as an administrator runs them (SQLite)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import create_all, get_engine
from duban.services import CaseService
from duban.services.attachments import Upload, download, list_attachments
from duban.services.filestore import LocalStore
from tests import filesamples
from tests.factories import CLERK, DISPATCHER, REPORTED, complaint, transferred, unit_actor, world

runner = CliRunner()


def _engine() -> Engine:
    """The engine the commands use (get_engine() without the URL would be another cached one)."""
    return get_engine(get_settings().resolved_database_url)


def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder with an empty database the commands use, wide output (the admin
    commands' fixture, also the restore tests')."""
    monkeypatch.setenv("DUBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    get_engine.cache_clear()
    create_all(_engine())
    yield tmp_path / "data"
    _engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from data_folder(tmp_path, monkeypatch)


def test_a_backup_restored_from_the_command_line_verifies_and_tampering_is_named(data_dir: Path,
                                                                                 tmp_path: Path) -> None:
    ctx = world(_engine())
    number = transferred(ctx, subject_org_code=None)
    target = tmp_path / "backups" / "duban.db"
    made = runner.invoke(app, ["backup", str(target)])
    assert made.exit_code == 0 and target.is_file(), made.output
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    CaseService(ctx).act(number, "submit_report", actor=unit, form={**REPORTED, "text": "已办"})
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "审计记录完整：1件案件，3条事件" in verified.output

    refused = runner.invoke(app, ["restore", str(target)])
    assert refused.exit_code != 0  # replacing the database needs --yes
    _engine().dispose()  # the service is stopped before a restore
    restored = runner.invoke(app, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "审计记录完整（1件案件，2条事件）" in restored.output
    assert CaseService(ctx).get(number).state == "transferred"  # the moment of the backup

    with _engine().begin() as conn:  # someone with the database file edits history
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = '别人' WHERE seq = 2"))
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert f"{number}: 事件2（转办）被改动" in tampered.output.replace("\n", " ")


def _tamper(path: Path, *statements: str) -> None:
    """Someone with the database file and Duban's code: triggers off, then the change."""
    import sqlite3

    from duban.db import sql_functions

    conn = sqlite3.connect(path)
    sql_functions(conn)  # the search index's triggers call them, as on every connection duban.db opens
    try:
        for name in ("no_update", "no_delete", "no_replace"):
            conn.execute(f"DROP TRIGGER IF EXISTS audit_events_{name}")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def test_restore_refuses_a_backup_whose_trail_was_rewritten(data_dir: Path, tmp_path: Path) -> None:
    ctx = world(_engine())
    number = transferred(ctx, subject_org_code=None)
    target = tmp_path / "backups" / "duban.db"
    assert runner.invoke(app, ["backup", str(target)]).exit_code == 0
    assert (data_dir / "audit" / "checkpoints.jsonl").is_file()  # a backup checkpoints first
    _tamper(target, "UPDATE audit_events SET reason = '改过' WHERE seq = 2")
    _engine().dispose()
    refused = runner.invoke(app, ["restore", str(target), "--yes"])
    assert refused.exit_code == 1
    assert f"{number}: 事件2（转办）被改动" in refused.output.replace("\n", " ")
    assert "拒绝恢复" in refused.output and "数据库未被替换（确要恢复请加 --accept-broken）" in refused.output
    assert CaseService(ctx).get(number).state == "transferred"
    forced = runner.invoke(app, ["restore", str(target), "--yes", "--accept-broken"])
    assert forced.exit_code == 0, forced.output


def test_verify_names_a_case_missing_since_a_checkpoint_and_quick_checks_narrow_it(data_dir: Path) -> None:
    ctx = world(_engine())
    first, second = transferred(ctx, title="甲"), transferred(ctx, title="乙")
    made = runner.invoke(app, ["audit", "checkpoint"])
    assert made.exit_code == 0 and "检查点1：2件案件，4条事件" in made.output, made.output
    assert (data_dir / "config" / "audit-checkpoint.pem").stat().st_mode & 0o777 == 0o600
    _engine().dispose()
    _tamper(data_dir / "duban.db", "PRAGMA foreign_keys = OFF", "DELETE FROM audit_events WHERE case_id = 2",
            "DELETE FROM cases WHERE id = 2")
    checked = runner.invoke(app, ["audit", "verify"])
    assert checked.exit_code == 1
    assert f"{second}: 案件自检查点1之后缺失（当时有2条事件）" in checked.output
    one = runner.invoke(app, ["audit", "verify", "--case", first])
    assert one.exit_code == 0 and "1件案件，2条事件，已与检查点1比对" in one.output, one.output
    gone = runner.invoke(app, ["audit", "verify", "--case", second])
    assert gone.exit_code == 1 and "案件自检查点1之后缺失" in gone.output
    recent = runner.invoke(app, ["audit", "verify", "--since", "2030-01-01"])
    assert recent.exit_code == 1 and "0件案件" in recent.output  # the missing case is named still


def test_rotate_key_keeps_old_events_verifiable(data_dir: Path) -> None:
    ctx = world(_engine())
    number = transferred(ctx)
    rotated = runner.invoke(app, ["audit", "rotate-key"])
    assert rotated.exit_code == 0 and "已启用" in rotated.output
    keys = __import__("json").loads((data_dir / "config" / "audit-keys.json").read_text())
    assert len(keys["keys"]) == 2
    ctx = world(_engine())  # a restarted service reads the new key
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "报告"})
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_an_exported_case_checks_without_the_service_and_tampering_shows(data_dir: Path,
                                                                         tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    ctx = world(_engine())
    number = transferred(ctx)
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "报告"})
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    out = tmp_path / "case.json"
    made = runner.invoke(app, ["audit", "export", "--case", number, "--output", str(out)])
    assert made.exit_code == 0, made.output
    checker = Path(__file__).parents[2] / "scripts" / "audit-check"
    public = data_dir / "audit" / "checkpoint-key.pub"
    ok = subprocess.run([sys.executable, str(checker), str(out), str(public)], capture_output=True, text=True)
    assert ok.returncode == 0 and f"{number}：3条事件，" in ok.stdout and "完整" in ok.stdout, ok.stdout
    doc = json.loads(out.read_text())
    doc["rows"][-1]["values"][doc["rows"][-1]["columns"].index("text")] = "改过的报告"
    doc["events"][1]["actor"] = "别人"
    out.write_text(json.dumps(doc, ensure_ascii=False))
    bad = subprocess.run([sys.executable, str(checker), str(out), str(public)], capture_output=True,
                         text=True)
    assert bad.returncode == 1
    assert "事件2（transfer）：校验码不符（被改动）" in bad.stdout
    assert "handling_reports 1与事件3（submit_report）所记不符" in bad.stdout


def test_an_upgraded_databases_unkeyed_events_are_named_unless_accepted(data_dir: Path) -> None:
    from tests.services.test_integrity import _rechain_plain

    ctx = world(_engine())
    number = transferred(ctx, subject_org_code=None)
    _rechain_plain(ctx, CaseService(ctx).get(number).id or 0)  # as a database from before 0005 has it:
    with _engine().begin() as conn:                            # no key, no facts, no rows
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET facts = '', rows = ''"))
    named = runner.invoke(app, ["audit", "verify"])
    assert named.exit_code == 1 and "没有密钥" in named.output, named.output
    accepted = runner.invoke(app, ["audit", "verify", "--accept-unkeyed"])
    assert accepted.exit_code == 0, accepted.output
    assert "审计记录完整：1件案件，2条事件" in accepted.output
    with _engine().begin() as conn:  # ... but not an old event someone edited since
        conn.execute(text("UPDATE audit_events SET actor = '别人' WHERE seq = 2"))
    edited = runner.invoke(app, ["audit", "verify", "--accept-unkeyed"])
    assert edited.exit_code == 1 and "事件2（转办）被改动" in edited.output, edited.output


def test_a_backup_carries_the_attached_files_and_a_restore_puts_back_what_the_store_lost(
        data_dir: Path, tmp_path: Path) -> None:
    ctx = world(_engine())
    ctx.files = LocalStore(data_dir / "files")  # the store the commands use by default
    letter = Upload("信.pdf", filesamples.PDF)
    number = CaseService(ctx).register(complaint(complainant_name="张三"), actor=CLERK,
                                       files=(letter,)).case.number
    [attached] = list_attachments(ctx, number, actor=DISPATCHER)
    target = tmp_path / "backups" / "duban.db"
    made = runner.invoke(app, ["backup", str(target)])
    assert made.exit_code == 0 and "1个附件文件" in made.output, made.output
    assert LocalStore(tmp_path / "backups" / "duban.db.files").exists(attached["sha256"])

    shutil.rmtree(data_dir / "files")  # the disk that held the scans is lost
    _engine().dispose()
    restored = runner.invoke(app, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0 and "放回1个附件文件" in restored.output, restored.output
    assert download(ctx, number, attached["id"], actor=DISPATCHER).content == filesamples.PDF

    shutil.rmtree(data_dir / "files")
    shutil.rmtree(tmp_path / "backups" / "duban.db.files")  # and the backup's copy: said, not hidden
    _engine().dispose()
    lost = runner.invoke(app, ["restore", str(target), "--yes"])
    assert lost.exit_code == 1 and f"缺少附件文件 {attached['sha256']}" in lost.output


def test_the_exported_account_record_checks_without_the_service_and_tampering_shows(
        data_dir: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from duban.services.users import create_user, update_user

    ctx = world(_engine())
    create_user(ctx, username="wang", password="correct horse 甘肃", role="clerk", org_code="GS", by="admin",
                by_role="admin")
    update_user(ctx, "wang", role="dispatcher", org_code="GS-LZ", display_name="王", by="admin",
                by_role="admin")
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    out = tmp_path / "accounts.json"
    made = runner.invoke(app, ["audit", "export", "--accounts", "--output", str(out)])
    assert made.exit_code == 0, made.output
    assert "password_hash" not in out.read_text() and "argon2" not in out.read_text()
    checker = Path(__file__).parents[2] / "scripts" / "audit-check"
    public = data_dir / "audit" / "checkpoint-key.pub"
    ok = subprocess.run([sys.executable, str(checker), str(out), str(public)], capture_output=True, text=True)
    assert ok.returncode == 0 and "账号记录：2条事件，1个用户，完整" in ok.stdout, ok.stdout
    assert "当时记录有2条事件" in ok.stdout
    doc = json.loads(out.read_text())
    doc["events"][0]["data"]["role"] = "admin"
    doc["users"][0]["facts"] = doc["users"][0]["facts"].replace("dispatcher", "admin")
    out.write_text(json.dumps(doc, ensure_ascii=False))
    bad = subprocess.run([sys.executable, str(checker), str(out), str(public)], capture_output=True,
                         text=True)
    assert bad.returncode == 1
    assert "账号事件1（account_add，wang）：校验码不符（被改动）" in bad.stdout
    assert "用户 wang：与账号事件2所记不符" in bad.stdout
    neither = runner.invoke(app, ["audit", "export"])
    assert neither.exit_code == 2
