"""`duban case act --attach`, `duban case files` and `duban case file`: attachments on the command
line, read as `--as` may see them."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from duban.cli import app
from duban.config.settings import get_settings
from duban.db import create_all, get_engine
from tests import filesamples as s
from tests.factories import transferred, world

runner = CliRunner()


def _run(*args: str, ok: bool = True) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_a_unit_attaches_a_file_to_its_report_and_the_office_writes_it_out(data_dir: Path) -> None:
    engine = get_engine(get_settings().resolved_database_url)
    create_all(engine)
    number = transferred(world(engine), subject_org_code=None)
    scan = data_dir / "整改报告.pdf"
    scan.write_bytes(s.PDF)
    _run("case", "act", number, "submit_report", "--text", "已整改", "--finding", "true",
         "--actions-taken", "已核实", "--as", "unit:GS-LZ-CG-GOV", "--attach", str(scan))
    listed = _run("case", "files", number)
    assert "整改报告.pdf" in listed and "application/pdf" in listed
    out = data_dir / "out.pdf"
    _run("case", "file", number, "1", "--out", str(out))
    assert out.read_bytes() == s.PDF and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "整改报告" not in _run("case", "files", number, "--as", "unit:GS-LZ-CG-SWJ", ok=False)
    exe = data_dir / "伪装.pdf"
    exe.write_bytes(s.EXE)
    refused = _run("case", "act", number, "report_progress", "--text", "x", "--as", "unit:GS-LZ-CG-GOV",
                   "--attach", str(exe), ok=False)
    assert "附件类型不受理" in refused
