"""Which database a checkpoint is of: one name for one database, however its URL is written.

Checkpoints are compared only with the database they were taken of, so two spellings of one
database must give one name, or a database opened through a symlink, a doubled slash or another
driver would be compared with nothing. A SQLite file is named by its real path (symlinks
resolved, `.` and `..` and repeated slashes gone); a server database by host, port and database
name (the driver, the role and the password say who connects, not what is connected to; the
loopback names and a local socket all mean this host). A copy at another path is another
database by this name: verify says so rather than passing it (integrity.verify).

Why not an identity stored in the database itself (a random id in a table of its own)? It would
follow a database that was moved, but whoever edits the database edits it too: they could point
verify at another database's checkpoints, or at none. The name comes from where the service
opens the database, which editing the file does not change.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import URL, make_url

_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1", "[::1]"}
_PG_PORT = 5432


def database_name(url: URL | str) -> str:
    """The name checkpoints record for the database at `url` (also a name written by an older
    version, which was the URL as written: it reads back as the same database)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:  # sqlalchemy's ArgumentError: not a URL at all, compared as it is
        return str(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return parsed.render_as_string(hide_password=True)
        return "sqlite:///" + os.path.normpath(os.path.realpath(os.path.expanduser(path)))
    if backend == "postgresql":
        host = parsed.host or str(parsed.query.get("host", "") or "")
        host = host.lower()
        if host in _LOCAL_HOSTS or host.startswith("/"):  # a socket is this host's server
            host = "localhost"
        return f"postgresql://{host}:{parsed.port or _PG_PORT}/{parsed.database or ''}"
    return parsed.set(password=None).render_as_string(hide_password=True)


def same_database(recorded: object, name: str) -> bool:
    """Whether a checkpoint line's `db` (in any spelling a version wrote) is the database `name`."""
    return isinstance(recorded, str) and (recorded == name or database_name(recorded) == name)
