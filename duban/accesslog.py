"""Access logs without query strings: a search for a caller's phone or name must not land in them.

uvicorn logs "GET /api/cases?text=13609318888" at INFO for every request. Logs are kept longer and
read more widely than the database, so the query is cut to "?…" before the line is written; the
path (case numbers, routes) stays for the operator.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class QueryCut(logging.Filter):
    """Rewrites uvicorn's access record (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def install() -> None:
    """Once per process (each uvicorn worker builds the app, and so calls this)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, QueryCut) for f in logger.filters):
        logger.addFilter(QueryCut())
