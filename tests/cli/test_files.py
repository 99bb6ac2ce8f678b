"""Files holding identity are the owner's only, and no command writes over a file by surprise.

The database never, whatever name it is given (a symlink, a relative path, a hard link).
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import create_all, get_engine
from duban.errors import FileExists, ProtectedFile
from duban.files import write_private
from duban.services.users import secret_key
from tests.factories import transferred, world

runner = CliRunner()


def _engine() -> Engine:
    return get_engine(get_settings().resolved_database_url)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022])
def data_dir(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data folder with a case in it, under a permissive umask (0 and the usual 022)."""
    old = os.umask(request.param)
    monkeypatch.setenv("DUBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        create_all(_engine())
        transferred(world(_engine()), subject_org_code=None)
        yield tmp_path / "data"
    finally:
        os.umask(old)
        _engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


def _cases(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from cases").fetchone()[0])


def _invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_the_data_folder_database_wal_shm_and_key_are_private_whatever_the_umask(data_dir: Path) -> None:
    assert _invoke("user", "list").exit_code == 0
    db = data_dir / "duban.db"
    assert Path(f"{db}-wal").exists() and Path(f"{db}-shm").exists()  # WAL mode, connection open
    assert _mode(data_dir) == 0o700
    assert {p.name: _mode(p) for p in data_dir.glob("duban.db*")} == {
        p.name: 0o600 for p in data_dir.glob("duban.db*")}
    secret_key(get_settings())
    assert _mode(data_dir / "secret_key") == 0o600


def test_an_existing_data_folder_is_narrowed_to_its_owner(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    monkeypatch.setenv("DUBAN_DATA_DIR", str(folder))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        assert _invoke("db", "upgrade").exit_code == 0  # the first command: it makes the database
        assert _mode(folder) == 0o700 and _mode(folder / "duban.db") == 0o600
        os.chmod(folder, 0o755)
        assert _invoke("user", "list").exit_code == 0
        assert _mode(folder) == 0o700
    finally:
        _engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


def test_exports_backups_and_reports_are_created_for_the_owner_only(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args in (["export", str(out / "cases.xlsx")], ["export", str(out / "cases.csv")],
                 ["backup", str(out / "backup.db")],
                 ["report", "-p", "2023-03", "--xlsx", str(out / "r.xlsx"), "--html", str(out / "r.html")],
                 ["board", "--html", str(out / "board.html")]):
        result = _invoke(*args)
        assert result.exit_code == 0, result.output
    assert {p.name: _mode(p) for p in out.iterdir()} == {
        name: 0o600 for name in ("cases.xlsx", "cases.csv", "backup.db", "r.xlsx", "r.html", "board.html")}
    assert _mode(out) == 0o700  # a folder made for the file


@pytest.mark.parametrize("command", [["export"], ["backup"], ["report", "-p", "2023-03", "--xlsx"],
                                     ["board", "--html"]])
def test_an_existing_file_is_kept_unless_forced(data_dir: Path, tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / "mine.xlsx"
    target.write_text("someone's own work", encoding="utf-8")
    refused = _invoke(*command, str(target))
    assert refused.exit_code == 1 and "--force" in refused.output
    assert target.read_text(encoding="utf-8") == "someone's own work"
    forced = _invoke(*command, str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_bytes() != b"someone's own work" and _mode(target) == 0o600


def test_the_database_is_never_written_over_by_any_name_even_with_force(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = data_dir / "duban.db"
    (tmp_path / "link.xlsx").symlink_to(db)
    os.link(db, tmp_path / "hard.csv")
    monkeypatch.chdir(data_dir / "..")
    names = [str(db), "data/duban.db", "data/../data/./duban.db", str(tmp_path / "link.xlsx"),
             str(tmp_path / "hard.csv"), f"{db}-wal", f"{db}-shm"]
    before = db.stat().st_size, _cases(db)
    for name in names:
        for command in (["export", name, "--force"], ["backup", name, "--force"],
                        ["report", "-p", "2023-03", "--html", name, "--force"]):
            result = _invoke(*command)
            assert result.exit_code == 1, (command, result.output)
            assert "任何情况下都不能覆盖" in result.output, result.output
    assert (db.stat().st_size, _cases(db)) == before
    assert (tmp_path / "link.xlsx").is_symlink()


def test_forcing_replaces_the_name_not_the_file_it_was_linked_to(tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("keep me", encoding="utf-8")
    os.link(other, tmp_path / "alias.txt")
    write_private(tmp_path / "alias.txt", lambda p: p.write_text("new", encoding="utf-8"), force=True)
    assert other.read_text(encoding="utf-8") == "keep me"
    assert (tmp_path / "alias.txt").read_text(encoding="utf-8") == "new"


def test_a_failed_write_leaves_nothing_behind_and_names_the_errors(tmp_path: Path) -> None:
    def broken(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_private(tmp_path / "x.csv", broken)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "x.csv").write_text("", encoding="utf-8")
    with pytest.raises(FileExists, match="--force"):
        write_private(tmp_path / "x.csv", lambda p: None)
    with pytest.raises(ProtectedFile, match="never written over"):
        write_private(tmp_path / "y.csv", lambda p: None, protected=[tmp_path / "y.csv"], force=True)
