"""`duban audit verify` compares with the checkpoints however the database is named (SQLite):
through a symlink, a URL spelled another way, or a line written by an older version; and a copy
the checkpoint file does not know is a finding, not a pass."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import create_all, get_engine
from duban.services import checkpoints
from duban.services.dbname import database_name, same_database
from tests.cli.test_admin import _tamper
from tests.factories import transferred, world

runner = CliRunner()
GONE = "案件自检查点1之后缺失（当时有2条事件）"


def _engine() -> Engine:
    return get_engine(get_settings().resolved_database_url)


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def truncated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data folder whose database lost its last case (and that case's whole trail) after
    checkpoint 1 saw it."""
    data = tmp_path / "data"
    _settings(monkeypatch, DUBAN_DATA_DIR=str(data), COLUMNS="200")
    create_all(_engine())
    ctx = world(_engine())
    transferred(ctx, title="甲")
    transferred(ctx, title="乙")
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    _engine().dispose()
    _tamper(data / "duban.db", "PRAGMA foreign_keys = OFF", "DELETE FROM audit_events WHERE case_id = 2",
            "DELETE FROM cases WHERE id = 2")
    yield data
    _engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


def _verify(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", *args])
    _engine().dispose()
    return result.exit_code, result.output.replace("\n", " ")


def test_a_truncated_database_opened_through_a_symlinked_data_folder_is_named(
        truncated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = tmp_path / "link"
    link.symlink_to(truncated)
    _settings(monkeypatch, DUBAN_DATA_DIR=str(link))
    code, output = _verify()
    assert code == 1 and GONE in output, output


def test_a_truncated_database_named_with_a_doubled_slash_is_named(
        truncated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(monkeypatch, DUBAN_DATABASE_URL=f"sqlite:///{truncated}//./duban.db")
    code, output = _verify()
    assert code == 1 and GONE in output, output


def test_a_copy_the_checkpoints_do_not_know_is_a_finding_unless_said_to_be_another_database(
        truncated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "elsewhere" / "duban.db"
    copy.parent.mkdir()
    shutil.copyfile(truncated / "duban.db", copy)
    _settings(monkeypatch, DUBAN_DATABASE_URL=f"sqlite:///{copy}")
    code, output = _verify()
    assert code == 1, output
    assert f"有1个检查点，没有一个属于本数据库（sqlite:///{copy}）" in output
    assert "无法与之比对" in output
    code, output = _verify("--other-database")
    assert code == 0 and "审计记录完整：1件案件" in output, output


def test_a_checkpoint_line_with_the_old_spelling_of_the_database_is_still_compared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    link = tmp_path / "link"
    link.symlink_to(data, target_is_directory=True)
    _settings(monkeypatch, DUBAN_DATA_DIR=str(data), COLUMNS="200")
    data.mkdir()
    create_all(_engine())
    ctx = world(_engine())
    transferred(ctx, title="甲")
    transferred(ctx, title="乙")
    old = f"sqlite:///{link}//duban.db"  # how an older version wrote the URL it was given
    monkeypatch.setattr(checkpoints, "database_name", lambda engine: old)
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    monkeypatch.undo()
    _settings(monkeypatch, DUBAN_DATA_DIR=str(data), COLUMNS="200")
    assert '"db": "' + old + '"' in (data / "audit" / "checkpoints.jsonl").read_text()
    _engine().dispose()
    _tamper(data / "duban.db", "PRAGMA foreign_keys = OFF", "DELETE FROM audit_events WHERE case_id = 2",
            "DELETE FROM cases WHERE id = 2")
    try:
        code, output = _verify()
        assert code == 1 and GONE in output, output
    finally:
        _engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


def test_one_database_has_one_name_however_its_url_is_spelled(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    name = database_name(f"sqlite:///{tmp_path}/real/duban.db")
    for spelling in (f"sqlite:///{tmp_path}/link/duban.db", f"sqlite:////{tmp_path}//real/../real/duban.db",
                     f"sqlite+pysqlite:///{tmp_path}/real/duban.db"):
        assert database_name(spelling) == name and same_database(spelling, name)
    assert not same_database(f"sqlite:///{tmp_path}/other.db", name)
    assert not same_database(None, name)
    server = database_name("postgresql+psycopg://duban:secret@LOCALHOST/duban")
    assert server == "postgresql://localhost:5432/duban"
    assert database_name("postgresql://other@127.0.0.1:5432/duban") == server
    assert database_name("postgresql:///duban?host=/var/run/postgresql") == server
    assert database_name("postgresql://db.example:5433/duban") == "postgresql://db.example:5433/duban"
    assert database_name("postgresql://localhost/duban_copy") != server


def _copy(truncated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "elsewhere" / "duban.db"
    copy.parent.mkdir()
    shutil.copyfile(truncated / "duban.db", copy)
    _settings(monkeypatch, DUBAN_DATABASE_URL=f"sqlite:///{copy}")
    return copy


def test_a_copy_cut_short_cannot_start_a_clean_record_of_its_own(
        truncated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy(truncated, tmp_path, monkeypatch)
    made = runner.invoke(app, ["audit", "checkpoint"])
    assert made.exit_code == 0 and GONE in made.output, made.output  # compared with checkpoint 1
    code, output = _verify()
    assert code == 1 and f"{GONE}（检查点2发现）" in output, output


def test_another_database_checkpointed_as_such_starts_its_own_record(
        truncated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy(truncated, tmp_path, monkeypatch)
    made = runner.invoke(app, ["audit", "checkpoint", "--other-database"])
    assert made.exit_code == 0 and "告警" not in made.output, made.output
    code, output = _verify()
    assert code == 0 and "已与检查点2比对" in output, output


def test_a_database_moved_whole_continues_its_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    _settings(monkeypatch, DUBAN_DATA_DIR=str(data), COLUMNS="200")
    create_all(_engine())
    transferred(world(_engine()))
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    _engine().dispose()
    try:
        _copy(data, tmp_path, monkeypatch)
        made = runner.invoke(app, ["audit", "checkpoint"])
        assert made.exit_code == 0 and "告警" not in made.output, made.output
        code, output = _verify()
        assert code == 0 and "已与检查点2比对" in output, output
    finally:
        _engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


def test_a_signing_key_made_anew_is_not_the_published_one(truncated: Path) -> None:
    """The key, the checkpoint file and its heads deleted, a fresh checkpoint signs a record that
    begins with the truncated database: the published key (kept where the office keeps it) says
    the new key is not the office's."""
    place = checkpoints.Place.of()
    published = place.public_file.read_bytes()
    place.key_file.unlink()
    shutil.rmtree(place.folder)
    place.public_file.parent.mkdir(parents=True, exist_ok=True)
    place.public_file.write_bytes(published)
    made = runner.invoke(app, ["audit", "checkpoint"])
    # signed into the new line as an alarm
    assert made.exit_code == 0 and "检查点签名密钥与公布的公钥不一致" in made.output, made.output
    code, output = _verify()
    assert code == 1 and "检查点签名密钥与公布的公钥不一致" in output, output
