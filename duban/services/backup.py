"""Backups: SQLite through its online backup API; PostgreSQL through pg_dump / pg_restore."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from duban.errors import DubanError


class BackupError(DubanError):
    code = "backup_error"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a database file")
    return Path(database)


def backup(engine: Engine, target: Path) -> Path:
    """Write a consistent copy while the service keeps running."""
    url = engine.url.render_as_string(hide_password=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        src = sqlite3.connect(_sqlite_path(url))
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)  # pages copied under SQLite's own locking: consistent while live
        finally:
            src.close()
            dst.close()
        return target
    if engine.dialect.name == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump is not installed (apt-get install postgresql-client)")
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run([pg_dump, "--format=custom", f"--file={target}", libpq], check=True)
        return target
    raise BackupError(f"no backup method for {engine.dialect.name}")


def restore(url: str, source: Path) -> None:
    """Replace the database with a backup. Stop the service first: this is not an online step."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    if make_url(url).get_backend_name() == "sqlite":
        check = sqlite3.connect(source)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} fails SQLite's integrity check")
        finally:
            check.close()
        path = _sqlite_path(url)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        src = sqlite3.connect(source)
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is not installed (apt-get install postgresql-client)")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner", f"--dbname={libpq}", str(source)],
                   check=True)
