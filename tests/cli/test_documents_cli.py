"""`duban case issue-document` and `duban case documents`: numbered once, PDF on request, the
web's rules (who issues each kind, out of scope is not found)."""

from __future__ import annotations

import re
from pathlib import Path

from duban.cli import app
from duban.db import create_all, get_engine
from duban.services.orgs import install_orgs
from tests.cli_runner import run, runner
from tests.factories import ORGS

CASE = "GS-2023-00001"


def refused(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    return result.output


def test_an_office_issues_a_transfer_form_on_the_command_line(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    run("case", "create", "--office", "GS", "--title", "城关区供水中断", "--complainant", "王某",
        "--phone", "19900000001", "--received", "2023-09-27 09:00")
    run("case", "act", CASE, "transfer", "--unit", "GS-LZ-CG-GOV")
    pdf = data_dir / "jiaoban.pdf"
    out = run("case", "issue-document", CASE, "transfer_form", "--to", "GS-LZ-CG-GOV", "--pdf", str(pdf))
    number = re.search(r"[\u4e00-\u9fff]{2,6}〔\d{4}〕1号", out)
    assert number and "交办单" in out and "城关区人民政府" in out
    assert pdf.read_bytes().startswith(b"%PDF") and oct(pdf.stat().st_mode & 0o777) == "0o600"
    again = run("case", "issue-document", CASE, "transfer_form")
    assert number.group(0) in again  # the same document, the same number
    listed = run("case", "documents", CASE, "--as", "supervisor")
    assert listed.count(number.group(0)) == 1
    assert "不能执行“印发公文”" in refused("case", "issue-document", CASE, "work_reminder")
    wrong_unit = refused("case", "issue-document", CASE, "transfer_form", "--to", "GS-LZ-CG-SWJ")
    assert "发往单位须为该件的承办单位：城关区人民政府（GS-LZ-CG-GOV）" in wrong_unit
    hidden = refused("case", "documents", CASE, "--as", "unit:GS-LZ-CG-SWJ")
    missing = refused("case", "documents", "GS-2023-99999", "--as", "unit:GS-LZ-CG-SWJ")
    assert hidden.replace(CASE, "N") == missing.replace("GS-2023-99999", "N")
    assert "文件已存在" in refused("case", "issue-document", CASE, "transfer_form", "--pdf", str(pdf)).lower()
