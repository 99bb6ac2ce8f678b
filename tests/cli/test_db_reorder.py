"""`duban db reorder`: PostgreSQL's search index rows drift from their cases' order as cases move
and deadlines come and go (each rewritten row goes to the table's end), and a common word's
count then asks its cases all over their index; the command lays them in order again. SQLite's
rows are kept in their key's order: nothing to do, and it says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from duban.cli.common import printed
from tests.cli_runner import run
from tests.factories import registered, reported, world
from tests.importer.test_index import stored_order


def test_db_reorder_lays_the_search_index_in_its_cases_order_again(
        engine: Engine, settings_env: Any, tmp_path: Path) -> None:
    ctx = world(engine)
    url = engine.url.render_as_string(hide_password=False)
    settings_env(DUBAN_DATA_DIR=str(tmp_path), DUBAN_DATABASE_URL=url)
    if engine.dialect.name == "sqlite":
        assert run("db", "reorder").strip() == printed("db.in_order")
        return
    for i in range(6):
        (reported if i < 3 else registered)(ctx, title=f"第{i}个小区供水中断")
    _drift(engine)
    drifted = stored_order(engine)
    assert drifted != sorted(drifted)
    out = run("db", "reorder")
    assert stored_order(engine) == sorted(drifted)
    assert "→ 1.00" in out and "重排" in out
    _drift(engine)
    with engine.begin() as conn:  # statistics of rows out of order, then no row at all
        conn.execute(text("ANALYZE case_search"))
        conn.execute(text("DELETE FROM case_search"))
    assert "1.00 → 1.00" in run("db", "reorder")  # an empty index lies in order


def _drift(engine: Engine) -> None:
    """The rows of every other case rewritten, as a move rewrites them: they go to the end."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE case_search SET open_text = open_text WHERE case_id % 2 = 1"))
