"""`duban privacy redact`: every twin recomputed with the current rules, counts printed (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from duban.config.settings import get_settings
from duban.db import get_engine
from duban.services import CaseService
from duban.services.redaction import get_redactor
from tests.cli_runner import run
from tests.factories import CLERK, complaint, world


def _engine() -> Engine:
    return get_engine(get_settings().resolved_database_url)


@pytest.fixture
def database(data_dir: Path) -> Engine:
    run("db", "upgrade")
    return _engine()


def test_the_command_fills_twins_prints_counts_and_a_second_run_writes_nothing(database: Engine) -> None:
    ctx = world(database)
    CaseService(ctx).register(complaint(title="李建国反映工程款", complainant_name="李建国"), actor=CLERK)
    with database.begin() as conn:
        conn.execute(text("UPDATE cases SET title_redacted = '', summary_redacted = ''"))
    first = run("privacy", "redact", "--chunk-size", "1")
    assert "cases：有文本的行 1，已重写 1" in first
    assert "已重写的脱敏文本：1" in first
    with database.connect() as conn:
        assert conn.execute(text("SELECT title_redacted FROM cases")).scalar() == "（保密）反映工程款"
    assert "已重写的脱敏文本：0" in run("privacy", "redact")


def test_a_word_added_to_the_office_s_list_reaches_stored_texts_after_the_command(
        database: Engine, tmp_path: Path, settings_env) -> None:
    ctx = world(database)
    CaseService(ctx).register(complaint(title="某甲反映工程款", summary="由靳某某代为反映"), actor=CLERK)
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)  # the audit key may be there already
    (config / "privacy.toml").write_text('honorifics = ["某某"]\n', encoding="utf-8")
    settings_env(DUBAN_CONFIG_DIR=str(config))
    get_redactor.cache_clear()
    try:
        assert "已重写的脱敏文本：1" in run("privacy", "redact")
    finally:
        get_redactor.cache_clear()
    with _engine().connect() as conn:
        assert conn.execute(text("SELECT summary_redacted FROM cases")).scalar() == "由（保密）代为反映"


def test_the_check_names_a_twin_edited_in_the_database_and_writes_nothing(database: Engine) -> None:
    """A twin is derived, not sealed in the audit trail: set to its raw text by someone with the
    database in hand, it shows the complainant to units until the check (or a rewrite) finds it."""
    from typer.testing import CliRunner

    from duban.cli import app

    ctx = world(database)
    CaseService(ctx).register(complaint(title="李建国反映工程款", complainant_name="李建国"), actor=CLERK)
    assert "与规则不符的脱敏文本：0" in run("privacy", "redact", "--check")
    with database.begin() as conn:
        conn.execute(text("UPDATE cases SET title_redacted = title"))
    checked = CliRunner().invoke(app, ["privacy", "redact", "--check"], env={"COLUMNS": "200"})
    assert checked.exit_code == 1, checked.output
    assert "cases：有文本的行 1，与规则不符 1" in checked.output
    assert "与规则不符的脱敏文本：1" in checked.output
    with database.connect() as conn:  # nothing written
        assert conn.execute(text("SELECT title_redacted FROM cases")).scalar() == "李建国反映工程款"
