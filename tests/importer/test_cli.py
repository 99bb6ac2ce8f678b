"""`duban import` and `duban export` on the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from duban.cli import app
from tests.cli_runner import runner
from tests.factories import world
from tests.importer.ledger import row, xlsx


@pytest.fixture
def database(engine: Engine, settings_env: Callable[..., None]) -> Iterator[Engine]:
    world(engine)
    settings_env(DUBAN_DATABASE_URL=engine.url.render_as_string(hide_password=False))
    yield engine


def test_import_reports_counts_and_bad_rows_and_writes_the_error_file(
        database: Engine, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "ledger.xlsx", [row(1), row(2, 渠道="飞鸽传书"), row(3)])
    result = runner.invoke(app, ["import", str(path), "--errors", str(tmp_path / "errors.csv")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "共3行，新登记2件" in result.output and "未导入1行" in result.output
    assert "飞鸽传书" not in result.output and "渠道" in result.output  # named, not repeated
    assert "渠道" in (tmp_path / "errors.csv").read_text(encoding="utf-8-sig")
    again = runner.invoke(app, ["import", str(path)], env={"COLUMNS": "200"})
    assert "新登记0件" in again.output and "此前已导入2件" in again.output


def test_export_as_a_unit_writes_its_own_cases_only(database: Engine, tmp_path: Path) -> None:
    path = xlsx(tmp_path / "ledger.xlsx", [row(1), row(2)])
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    result = runner.invoke(app, ["export", str(tmp_path / "all.csv")], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "：2件" in result.output
    assert "反映人1" in (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    result = runner.invoke(app, ["export", str(tmp_path / "unit.csv"), "--as", "unit:GS-LZ-CG-GOV"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "：0件" in result.output
