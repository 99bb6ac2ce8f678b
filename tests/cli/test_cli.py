"""The command line as an office would use it, on the embedded SQLite default."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from duban.cli import app
from duban.db import create_all, get_engine
from duban.schema import alembic_config, current_revision, upgrade
from duban.services.orgs import install_orgs
from tests.cli_runner import run, runner
from tests.factories import ORGS


def test_add_workdays_prints_the_official_answer() -> None:
    assert run("calendar", "add-workdays", "2023-09-27", "15").strip() == "2023-10-24"


def test_is_workday_knows_the_moved_saturday() -> None:
    assert "是工作日" in run("calendar", "is-workday", "2023-10-07")
    result = runner.invoke(app, ["calendar", "is-workday", "2023-10-03"])
    assert result.exit_code == 1 and "不是工作日" in result.output


def test_an_unpublished_year_is_marked_provisional() -> None:
    result = runner.invoke(app, ["calendar", "add-workdays", "2026-12-30", "3"])
    assert result.exit_code == 0
    assert "2027-01-04" in result.output and "暂定" in result.output and "尚未写入配置" in result.output


def test_an_office_runs_a_case_from_the_command_line(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    out = run("case", "create", "--office", "GS", "--title", "城关区供水中断", "--priority", "livelihood",
              "--category", "water", "--complainant", "王某", "--phone", "19900000001",
              "--subject", "城关区水务局", "--subject-org", "GS-LZ-CG-SWJ",
              "--received", "2023-09-27 09:00")
    assert "GS-2023-00001" in out
    assert (data_dir / "duban.db").exists()
    run("case", "act", "GS-2023-00001", "transfer", "--unit", "GS-LZ-CG-GOV")
    listing = run("case", "list")
    assert "GS-2023-00001" in listing and "已转办" in listing and "城关区人民政府" in listing
    refused = runner.invoke(app, ["case", "act", "GS-2023-00001", "approve", "--as", "supervisor"])
    assert refused.exit_code == 1 and "现在可执行：" in refused.output and "allowed" not in refused.output
    run("case", "act", "GS-2023-00001", "submit_report", "--text", "已恢复供水", "--finding", "true",
        "--actions-taken", "抢修管道，恢复供水", "--as", "unit:GS-LZ-CG-GOV")
    shown = run("case", "show", "GS-2023-00001")
    assert "提交办理报告" in shown and "王某" in shown
    as_unit = run("case", "show", "GS-2023-00001", "--as", "unit:GS-LZ-CG-GOV")
    assert "王某" not in as_unit and "19900000001" not in as_unit and "保密" in as_unit


def test_the_state_diagram_is_printed_from_the_definition() -> None:
    out = run("states", "diagram")
    assert out.startswith("stateDiagram-v2") and "received --> transferred : transfer" in out


def test_db_upgrade_brings_a_fresh_database_to_the_newest_migration(data_dir: Path) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None and head >= "0002"
    out = run("db", "upgrade")
    assert f"（空库） → {head}" in out
    assert run("db", "current").strip() == head
    assert f"{head} → {head}" in run("db", "upgrade")


def test_a_command_never_migrates_the_database_it_is_pointed_at(data_dir: Path) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    for before in (None, "0017"):
        if before is not None:
            upgrade(get_engine(), before)
        refused = runner.invoke(app, ["user", "list"], env={"COLUMNS": "200"})
        assert refused.exit_code == 1
        assert "duban db upgrade" in refused.output and f"本版本需要迁移{head}" in refused.output
        assert "migration" not in refused.output  # the English goes to the log
        assert current_revision(get_engine()) == before  # refused, and left as it was
    assert f"0017 → {head}" in run("db", "upgrade")
    assert runner.invoke(app, ["user", "list"]).exit_code == 0


def test_case_list_and_show_read_as_the_actor_named_by_as(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    run("case", "create", "--office", "GS", "--title", "王某某反映城关区供水中断", "--summary",
        "王某某（电话199 0000 0001）称已停水三天", "--complainant", "王某某", "--phone", "19900000001",
        "--subject", "城关区水务局", "--received", "2023-09-27 09:00")
    run("case", "act", "GS-2023-00001", "transfer", "--unit", "GS-LZ-CG-GOV")
    assert "王某某" in run("case", "list")  # no --as: the province office, which may see identity
    for who in ("unit:GS-LZ-CG-GOV", "leader:GS", "supervisor:GS", "dispatcher:GS-LZ-CG"):
        commands = (("case", "list"), ("case", "list", "--text", "王某"), ("case", "show", "GS-2023-00001"))
        for command in commands:
            result = runner.invoke(app, [*command, "--as", who], env={"COLUMNS": "200"})
            if command[1] == "show" and who == "leader:GS":
                assert result.exit_code == 0
            assert "王某某" not in result.output and "19900000001" not in result.output, (who, command)
            assert "199 0000 0001" not in result.output
    listed = runner.invoke(app, ["case", "list", "--as", "unit:GS-LZ-CG-GOV"], env={"COLUMNS": "200"}).output
    assert "GS-2023-00001" in listed and "（保密）反映城关区供水中断" in listed
    assert "GS-2023-00001" not in runner.invoke(app, ["case", "list", "--as", "unit:GS-LZ-CG-SWJ"]).output


def test_case_list_finds_what_people_type_and_refuses_a_search_in_chinese_naming_the_option(
        data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    run("case", "create", "--office", "GS", "--title", "小区ＱＱ群供暖不达标", "--complainant", "王某",
        "--phone", "19900000001", "--subject", "城关区住建局", "--received", "2023-09-27 09:00")
    for typed in ("QQ群", "ＱＱ群", "供暖 qq", "“供暖不达标”"):
        assert "GS-2023-00001" in run("case", "list", "--text", typed), typed
    for typed, said in (("供" * 101, "关键词不能超过100个字"), ("甲 乙 丙 丁 戊 己", "关键词最多5个词"),
                        ("供暖\x01", "关键词含有无效字符")):
        refused = runner.invoke(app, ["case", "list", "--text", typed], env={"COLUMNS": "200"})
        assert refused.exit_code == 2, refused.output
        assert "--text" in refused.output and said in refused.output, refused.output


def test_dates_outside_the_calendar_are_usage_errors_naming_the_option(data_dir: Path) -> None:
    for args, option in [(["calendar", "add-workdays", "2002-05-01", "3"], "START"),
                         (["calendar", "is-workday", "1999-12-31"], "DAY"),
                         (["calendar", "add-workdays", "2045-12-20", "30"], "N"),
                         (["case", "create", "--office", "GS", "--title", "补录", "--received", "2002-05-01"],
                          "--received"),
                         (["case", "create", "--office", "GS", "--title", "补录", "--received", "0001-01-01"],
                          "--received")]:
        result = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert result.exit_code == 2, (args, result.output)
        assert option in result.output and "Traceback" not in result.output, result.output


def test_a_board_as_of_a_time_outside_the_calendar_is_a_usage_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["board", "--at", "2003-06-01 09:00"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "--at" in result.output and "Traceback" not in result.output


def test_a_case_is_shown_and_listed_as_typed_never_as_markup_or_terminal_codes(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    # Rich's markup, a closing tag with nothing open, an escape sequence and a right-to-left override
    title = "供水[/]问题[red]红字\x1b[2J\u202e尾"
    run("case", "create", "--office", "GS", "--title", title, "--priority", "livelihood",
        "--category", "water", "--complainant", "王某", "--phone", "19900000001",
        "--received", "2023-09-27 09:00")
    for shown in (run("case", "show", "GS-2023-00001"), run("case", "list")):
        assert "\x1b" not in shown and "\u202e" not in shown
        assert "供水[/]问题[red]红字[2J尾"[:12] in shown
    assert "供水[/]问题[red]红字[2J尾" in run("case", "show", "GS-2023-00001")
