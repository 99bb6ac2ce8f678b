"""`duban restore` checks a backup against the checkpoints of the database it replaces (SQLite):
a backup cut short is refused, one older than the checkpoints needs --accept-older."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import get_engine
from duban.services import CaseService
from tests.cli.test_admin import _tamper, data_folder
from tests.factories import REPORTED, transferred, unit_actor, world

runner = CliRunner()


def _engine() -> Engine:
    return get_engine(get_settings().resolved_database_url)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from data_folder(tmp_path, monkeypatch)


def _restore(target: Path, *flags: str) -> tuple[int, str]:
    _engine().dispose()  # the service is stopped before a restore
    result = runner.invoke(app, ["restore", str(target), "--yes", *flags])
    _engine().dispose()
    return result.exit_code, result.output.replace("\n", " ")


def test_a_backup_cut_short_after_its_checkpoint_is_refused(data_dir: Path, tmp_path: Path) -> None:
    ctx = world(_engine())
    transferred(ctx, title="甲")
    second = transferred(ctx, title="乙")
    target = tmp_path / "backups" / "duban.db"
    assert runner.invoke(app, ["backup", str(target)]).exit_code == 0  # checkpoint 1 saw both
    _tamper(target, "PRAGMA foreign_keys = OFF", "DELETE FROM audit_events WHERE case_id = 2",
            "DELETE FROM cases WHERE id = 2")
    third = transferred(ctx, title="丙")
    code, output = _restore(target)
    assert code == 1, output
    assert f"{second}: 案件自检查点1之后缺失（当时有2条事件）" in output
    assert "早于检查点1记录的状态" in output
    assert "备份可能被截短或改动" in output
    assert "数据库未被替换（确要恢复请加 --accept-older）" in output
    assert CaseService(world(_engine())).get(third).title_redacted == "丙"
    code, output = _restore(target, "--accept-older")
    assert code == 0, output
    assert f"已从 {target} 恢复，但发现" in output and "审计记录完整" not in output


def test_an_older_backup_matching_its_checkpoint_is_restored_only_when_accepted(
        data_dir: Path, tmp_path: Path) -> None:
    ctx = world(_engine())
    number = transferred(ctx)
    target = tmp_path / "backups" / "duban.db"
    assert runner.invoke(app, ["backup", str(target)]).exit_code == 0  # checkpoint 1
    CaseService(ctx).act(number, "submit_report", actor=unit_actor(ctx, "GS-LZ-CG-GOV"),
                         form={**REPORTED, "text": "已办"})
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0  # checkpoint 2 saw event 3
    code, output = _restore(target)
    assert code == 1, output
    assert f"{number}: 链头倒退了：检查点2见过事件3，记录现在只到2" in output
    assert "备份与检查点1（" in output and "记录的状态完全一致" in output
    code, output = _restore(target, "--accept-older")
    assert code == 0, output
    assert CaseService(world(_engine())).get(number).state == "transferred"


def test_a_backup_taken_with_its_checkpoint_restores_as_intact(data_dir: Path, tmp_path: Path) -> None:
    ctx = world(_engine())
    transferred(ctx)
    target = tmp_path / "backups" / "duban.db"
    assert runner.invoke(app, ["backup", str(target)]).exit_code == 0
    code, output = _restore(target)
    assert code == 0, output
    assert "审计记录完整（1件案件，2条事件），已与检查点1比对" in output
