"""Backups: SQLite through its online backup API; PostgreSQL through pg_dump / pg_restore.

A restore first verifies the backup in a scratch copy, against the checkpoints of the database
it will replace (as `duban audit verify` does): a backup cut short shows there as older than the
checkpoints, which a legitimately older backup also is, so both need the operator's word; the
checkpoint that recorded exactly the backup's heads, if any, tells them apart.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from duban.errors import DubanError, StoredFileLost
from duban.files import create_private, database_files, write_private
from duban.services.filestore import FileStore, LocalStore

if TYPE_CHECKING:
    from duban.services.chaincheck import Finding
    from duban.services.checkpoints import Place
    from duban.services.integrity import Report


class BackupError(DubanError):
    code = "backup_error"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is not a database file")
    return Path(database)


def backup(engine: Engine, target: Path, *, force: bool = False) -> Path:
    """Write a consistent copy while the service keeps running.

    The copy is created 0600; an existing `target` is FileExists unless `force`, and the
    database itself (by any name) is ProtectedFile (duban.files).
    """
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        source = _sqlite_path(url)

        def copy(out: Path) -> None:
            src = sqlite3.connect(source)
            dst = sqlite3.connect(out)
            try:
                with dst:
                    src.backup(dst)  # pages copied under SQLite's own locking: consistent while live
            finally:
                src.close()
                dst.close()

        return write_private(target, copy, force=force, protected=database_files(engine))
    if engine.dialect.name == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise BackupError("pg_dump is not installed (apt-get install postgresql-client)")
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        def dump(out: Path) -> None:
            subprocess.run([pg_dump, "--format=custom", f"--file={out}", libpq], check=True)

        return write_private(target, dump, force=force)
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
        create_private(path)  # a database restored where there was none is the owner's only too
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        _copy_sqlite(source, path)
        return
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is not installed (apt-get install postgresql-client)")
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run([pg_restore, "--clean", "--if-exists", "--no-owner", f"--dbname={libpq}", str(source)],
                   check=True)
    _regrant(url)


def _copy_sqlite(source: Path | str, target: Path | str) -> None:
    """SQLite's online backup of one file into another (pages copied under the source's lock)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _regrant(url: str) -> None:
    """Tables a restore re-creates get the schema's default privileges (UPDATE and DELETE for the
    application role), which the dump's grants do not take back: take them back again."""
    from duban.db import make_engine
    from duban.models.account import ACCOUNT_REVOKE
    from duban.models.audit import APP_ROLE_GRANTS

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in [*APP_ROLE_GRANTS, ACCOUNT_REVOKE]:  # the account record as the trail
                conn.execute(text(statement))
    finally:
        engine.dispose()


@dataclass
class RestoreCheck:
    """What verifying a backup against the checkpoints of the database it replaces found."""

    report: Report
    matching: dict[str, Any] | None = None  # the checkpoint that saw exactly the backup's heads
    restored: bool = False

    @property
    def findings(self) -> list[Finding]:
        return self.report.findings

    @property
    def older(self) -> list[Finding]:
        """Findings that say only that the backup is behind the last checkpoint."""
        from duban.services.integrity import OLDER

        return [f for f in self.findings if f.kind in OLDER]

    @property
    def broken(self) -> list[Finding]:
        from duban.services.integrity import OLDER

        return [f for f in self.findings if f.kind not in OLDER]


def _check(engine: Engine, url: str, place: Place | None, other_database: bool) -> RestoreCheck:
    from duban.services.checkpoints import heads, matching_checkpoint
    from duban.services.context import ServiceContext
    from duban.services.dbname import database_name
    from duban.services.integrity import verify

    name = database_name(url)
    report = verify(ServiceContext(engine=engine), place=place, as_database=name,
                    other_database=other_database)
    matching = matching_checkpoint(place, name, heads(engine)) if place is not None else None
    return RestoreCheck(report, matching)


def _verify_file(url: str, source: Path, place: Place | None = None,
                 other_database: bool = False) -> RestoreCheck:
    """Verify the audit trail a backup holds, in a scratch copy, before it replaces anything:
    against the checkpoints in `place` of the database at `url` (None: without checkpoints)."""
    from duban.db import make_engine

    if make_url(url).get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="duban-restore-") as folder:
            copy = Path(folder) / "check.db"
            _copy_sqlite(source, copy)
            engine = make_engine(f"sqlite:///{copy}")
            try:
                return _check(engine, url, place, other_database)
            finally:
                engine.dispose()
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is not installed (apt-get install postgresql-client)")
    parsed = make_url(url)
    scratch = f"{parsed.database}_restore_check"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        scratch_url = parsed.set(database=scratch)
        libpq = scratch_url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run([pg_restore, "--no-owner", f"--dbname={libpq}", str(source)], check=True,
                       stderr=subprocess.DEVNULL)
        engine = make_engine(scratch_url.render_as_string(hide_password=False))
        try:
            return _check(engine, url, place, other_database)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def restore_verified(url: str, source: Path, *, force: bool = False, accept_older: bool = False,
                     place: Place | None = None, other_database: bool = False) -> RestoreCheck:
    """Restore `source` only if its audit trail verifies against the checkpoints in `place` of
    the database at `url`; one older than they say only with `accept_older`, anything with
    `force`. What the check found, and whether it was restored."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    check = _verify_file(url, source, place, other_database)
    if not force and (check.broken or (check.older and not accept_older)):
        return check
    restore(url, source)
    check.restored = True
    return check


# -- attachments: their bytes live in the file store, outside the database -----------------------

def files_beside(backup_file: Path) -> Path:
    """The folder of a backup's attachments: `<backup>.files`, a local store of its own."""
    return backup_file.with_name(f"{backup_file.name}.files")


def _attachment_keys(engine: Engine) -> list[str]:
    from sqlmodel import Session, select

    from duban.models import Attachment

    with Session(engine) as session:
        return sorted(set(session.exec(select(Attachment.sha256))))


def backup_files(engine: Engine, store: FileStore, backup_file: Path) -> int:
    """Copy every attached file the database names into the backup's folder (after the database
    is backed up: attachments are only ever added, so the database read afterwards names every
    file the backup does). Each file is checked against its hash on the way out of the store, so a
    changed or missing file fails the backup (StoredFileLost) instead of being copied."""
    folder = LocalStore(files_beside(backup_file))
    keys = _attachment_keys(engine)
    for key in keys:
        if not folder.exists(key):
            folder.put(key, store.get(key))
    return len(keys)


def restore_files(engine: Engine, store: FileStore, backup_file: Path) -> tuple[int, list[str]]:
    """Put back the files the restored database names that the store lacks, from the backup's
    folder: (how many were put back, the keys found neither in the store nor in the backup)."""
    folder = LocalStore(files_beside(backup_file))
    put, missing = 0, []
    for key in _attachment_keys(engine):
        if store.exists(key):
            continue
        try:
            store.put(key, folder.get(key))
            put += 1
        except StoredFileLost:
            missing.append(key)
    return put, missing
