"""Files that hold identity: readable by their owner only, never written over by surprise.

The database, its -wal and -shm, backups, exports, reports and key files carry complainants'
names and phones. So:

- they are created 0600 and the data folder 0700, whatever the umask (`os.open` with a mode,
  then `fchmod`, since a umask can only take bits away and an odd one like 0o177 takes too many);
- an output file is written beside its target under a temporary name and then linked into
  place: without `force` an existing target is an error (`os.link` refuses atomically, even if
  the name appeared a moment ago), with `force` it is replaced by a rename, which changes the
  name, never the inode (a hard link or symlink to another file leaves that file alone);
- the database is never a target, even with `force`: compared by inode (`os.path.samefile`) and by
  resolved path, so a symlink, a relative path or a hard link to it is caught.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.engine import Engine

from duban.errors import FileExists, ProtectedFile

FILE_MODE = 0o600
DIR_MODE = 0o700
# SQLite's companions of a database file (db.py adds the writer lock).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".writer-lock", ".sessions")


def private_dir(path: str | Path, *, tighten: bool = False) -> Path:
    """Make `path` (and missing parents) a folder; a folder made here, or with `tighten`, is 0700.

    `tighten` is for Duban's own data folder: one that already exists is narrowed too, when it
    belongs to this user. Other existing folders (say /tmp) are left as they are.
    """
    path = Path(path)
    made = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    if made or tighten:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) != DIR_MODE and info.st_uid == os.geteuid():
            os.chmod(path, DIR_MODE)
    return path


def create_private(path: str | Path) -> bool:
    """Create an empty file 0600 if there is none; whether it was created here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def sqlite_file(engine_or_url: Engine | str) -> Path | None:
    """The SQLite database file behind an engine or URL, or None (PostgreSQL, memory)."""
    from sqlalchemy.engine import make_url

    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def database_files(engine_or_url: Engine | str) -> list[Path]:
    """The database file and its companions: what no output may ever be written over."""
    db = sqlite_file(engine_or_url)
    if db is None:
        return []
    return [db, *(Path(f"{db}{suffix}") for suffix in SQLITE_COMPANIONS)]


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        if os.path.samefile(a, b):
            return True
    return os.path.realpath(a) == os.path.realpath(b)


def refuse_protected(target: Path, protected: Iterable[Path]) -> None:
    """ProtectedFile when `target` is (a link to, another name of) one of `protected`."""
    for path in protected:
        if _same(target, path):
            raise ProtectedFile(target, "the database (or one of its -wal, -shm, lock files)")


def refuse_output(target: str | Path, *, force: bool = False, protected: Iterable[Path] = ()) -> None:
    """The checks of `write_private`, for a caller that wants to fail before long work."""
    target = Path(target)
    refuse_protected(target, protected)
    if target.is_dir() or ((target.exists() or target.is_symlink()) and not force):
        raise FileExists(target)


def write_private(target: str | Path, write: Callable[[Path], object], *, force: bool = False,
                  protected: Iterable[Path] = ()) -> Path:
    """Run `write(tmp)` on a new 0600 file beside `target`, then put it in place.

    FileExists if `target` exists and not `force`; ProtectedFile if it is one of `protected`
    (the database), force or not. Nothing is left behind when `write` fails.
    """
    target = Path(target)
    refuse_output(target, force=force, protected=protected)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        private_dir(folder)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)  # mkstemp: 0600
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)  # a writer that replaced the file (a browser, pg_dump) may widen it
        refuse_protected(target, protected)  # again: the name may have been pointed elsewhere meanwhile
        if force:
            os.replace(tmp, target)
        else:
            _publish_new(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _publish_new(tmp: Path, target: Path) -> None:
    """Put `tmp` at `target` only if no file has that name: atomically, by a hard link."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExists(target) from None
    except OSError:  # a file system without hard links: claim the name, then rename onto it
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE))
        except FileExistsError:
            raise FileExists(target) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def write_private_text(target: str | Path, text: str, *, force: bool = False,
                       protected: Iterable[Path] = ()) -> Path:
    return write_private(target, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force,
                         protected=protected)
