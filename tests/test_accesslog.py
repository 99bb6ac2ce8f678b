"""Access lines keep the path and drop the query, where a search for a caller's phone would be."""

from __future__ import annotations

import logging

from duban.accesslog import QueryCut


def test_an_access_line_loses_its_query_and_keeps_its_path() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/cases?text=13609318888&limit=5", "1.1", 200),
                               None)
    assert QueryCut().filter(record)
    line = record.getMessage()
    assert "13609318888" not in line and '"GET /api/cases?… HTTP/1.1" 200' in line


def test_a_line_without_a_query_is_left_alone() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/cases/GS-2023-00001", "1.1", 200), None)
    QueryCut().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /cases/GS-2023-00001 HTTP/1.1" 200'
