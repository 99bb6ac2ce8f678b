"""`duban backup`, `duban restore` and `duban audit verify` as an administrator runs them (SQLite)."""

from __future__ import annotations

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
from tests.factories import transferred, unit_actor, world

runner = CliRunner()


def _engine() -> Engine:
    """The engine the commands use (get_engine() without the URL would be another cached one)."""
    return get_engine(get_settings().resolved_database_url)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DUBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    get_engine.cache_clear()
    create_all(_engine())
    yield tmp_path / "data"
    _engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


def test_a_backup_restored_from_the_command_line_verifies_and_tampering_is_named(data_dir: Path,
                                                                                 tmp_path: Path) -> None:
    ctx = world(_engine())
    number = transferred(ctx, subject_org_code=None)
    target = tmp_path / "backups" / "duban.db"
    made = runner.invoke(app, ["backup", str(target)])
    assert made.exit_code == 0 and target.is_file(), made.output
    unit = unit_actor(ctx, "GS-LZ-CG-GOV")
    CaseService(ctx).act(number, "submit_report", actor=unit, form={"text": "已办"})
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "audit trail intact: 1 cases, 3 events" in verified.output

    refused = runner.invoke(app, ["restore", str(target)])
    assert refused.exit_code != 0  # replacing the database needs --yes
    _engine().dispose()  # the service is stopped before a restore
    restored = runner.invoke(app, ["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "audit trail intact (1 cases, 2 events)" in restored.output
    assert CaseService(ctx).get(number).state == "transferred"  # the moment of the backup

    with _engine().begin() as conn:  # someone with the database file edits history
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = '别人' WHERE seq = 2"))
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1
    assert f"{number}: event 2 (transfer) was altered" in tampered.output.replace("\n", " ")
