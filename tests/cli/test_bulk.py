"""`duban case bulk`: one outcome per case, printed; exit 1 when a case was refused or not found."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from duban.cli import app
from duban.db import create_all, get_engine
from duban.services.orgs import install_orgs
from tests.cli_runner import run, runner
from tests.factories import ORGS


def test_an_office_urges_and_exports_several_cases_from_the_command_line(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    for title in ("城关区供水中断", "城关区道路破损"):
        run("case", "create", "--office", "GS", "--title", title, "--complainant", "王某",
            "--phone", "19900000001", "--received", "2023-09-27 09:00")
    run("case", "act", "GS-2023-00001", "transfer", "--unit", "GS-LZ-CG-GOV")
    urged = runner.invoke(app, ["case", "bulk", "remind", "GS-2023-00001", "GS-2023-00002",
                                "GS-2023-99999", "--note", "请抓紧", "--as", "supervisor"],
                          env={"COLUMNS": "200"})
    assert urged.exit_code == 1, urged.output  # one refused, one not found
    lines = {line.split()[1]: line for line in urged.output.splitlines() if "GS-2023-" in line}
    assert "已完成" in lines["GS-2023-00001"]
    assert "未执行" in lines["GS-2023-00002"] and "不能执行“催办”" in lines["GS-2023-00002"]
    assert "未找到" in lines["GS-2023-99999"]
    again = run("case", "bulk", "remind", "GS-2023-00001", "--as", "supervisor")
    assert "无需重复 1" in again and "已催办过" in again
    out = data_dir / "selected.xlsx"
    run("case", "bulk", "export", "GS-2023-00001", "GS-2023-00002", "--out", str(out), "--as", "supervisor")
    text = str([list(ws.iter_rows(values_only=True)) for ws in load_workbook(out, read_only=True).worksheets])
    assert "城关区供水中断" in text and "城关区道路破损" in text and "王某" not in text
    assert oct(out.stat().st_mode & 0o777) == "0o600"
