"""What the commands print reads in Chinese, and its words are in config/cli_output.toml (or labels):
each text there is printed by a command with exactly the {names} it holds, none is left over, no
command prints a word of its own, and the commands run on a small database print no English
sentence (tests.english: codes, file names and table names pass)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

import duban.cli
from duban.cli import app
from duban.config.cli_output import load_cli_output, placeholders
from duban.config.settings import get_settings
from duban.db import get_engine
from duban.errors import ConfigError
from duban.models import CallbackTask, Case, Notification
from tests.cli_runner import run, runner
from tests.english import english
from tests.factories import transferred, world

CLI = Path(duban.cli.__file__).parent
OUTPUT = load_cli_output().root
CJK = re.compile(r"[\u3400-\u9fff]")
# The developers' figures (docs/bench.md), not an office's words (as tests/test_words_in_config.py).
OWN_WORDS = sorted(p for p in CLI.glob("*.py") if p.name != "bench.py")
# Calls that put text in front of a person: console.print, typer.echo, a table's row or title...
SHOWING = {"print", "echo", "out", "add_row", "add_column", "assemble", "Table", "Text", "row"}


def calls(name: str) -> Iterator[tuple[str, ast.Call]]:
    """Every call of the function `name` in duban/cli, with where it is."""
    for path in OWN_WORDS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(called, "id", getattr(called, "attr", "")) == name:
                yield f"{path.name}:{node.lineno}", node


def keys_of(node: ast.expr) -> list[str]:
    """The text keys an argument names: a constant, either branch of a conditional ([] for a name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return keys_of(node.body) + keys_of(node.orelse)
    return []


def literal_parts(node: ast.expr) -> Iterator[str]:
    """The text a shown argument writes itself, not what it reads from config or data."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            yield from literal_parts(part)
    elif isinstance(node, ast.BinOp):
        yield from literal_parts(node.left)
        yield from literal_parts(node.right)
    elif isinstance(node, ast.FormattedValue):  # f"{before or '(empty)'}"
        yield from literal_parts(node.value)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from literal_parts(value)
    elif isinstance(node, ast.IfExp):
        yield from literal_parts(node.body)
        yield from literal_parts(node.orelse)
    elif isinstance(node, ast.Tuple) and node.elts:  # Text.assemble's (text, style)
        yield from literal_parts(node.elts[0])


def test_every_text_a_command_prints_is_in_config_with_the_names_it_fills_in() -> None:
    found = []
    for where, call in calls("printed"):
        given = {k.arg for k in call.keywords}
        for key in keys_of(call.args[0]):
            section, _, name = key.partition(".")
            text = OUTPUT.get(section, {}).get(name)
            if text is None or placeholders(text) != given:
                found.append((where, key, text, sorted(given)))
    for where, call in calls("printed_of"):
        if keys_of(call.args[0])[0] not in OUTPUT:
            found.append((where, keys_of(call.args[0])))
    assert not found, found


def test_config_holds_no_text_that_no_command_prints() -> None:
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in OWN_WORDS]
    literals = {node.value for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    maps = {keys_of(call.args[0])[0] for _, call in calls("printed_of")}
    left = [f"{section}.{name}" for section, texts in OUTPUT.items() if section not in maps
            for name in texts if f"{section}.{name}" not in literals]
    assert not left, left


def test_every_text_in_config_is_chinese() -> None:
    found = {f"{section}.{name}": text for section, texts in OUTPUT.items() for name, text in texts.items()
             if not CJK.search(text) or english(re.sub(r"\{\w+\}", "", text))}
    assert not found, found


def test_no_command_prints_words_of_its_own() -> None:
    """A command's words come from config: the text it writes itself is punctuation around them."""
    found = []
    for name in SHOWING:
        for where, call in calls(name):
            shown = [*call.args, *(k.value for k in call.keywords if k.arg == "title")]
            found += [(where, text) for arg in shown for text in literal_parts(arg)
                      if re.search(r"[A-Za-z]{2,}", text) or CJK.search(text)]
    assert not found, found


def test_an_office_may_reword_a_text_but_not_with_a_name_the_command_does_not_fill_in(tmp_path: Path) -> None:
    office = tmp_path / "cli_output.toml"
    office.write_text('[audit]\nintact = "审计记录完好（{cases}件）"\n', encoding="utf-8")
    reworded = load_cli_output(tmp_path)
    assert reworded.text("audit.intact", cases=1, events=2, against="", accounts="") == "审计记录完好（1件）"
    assert reworded.text("audit.accounts", events=2) == "；账号记录：2条事件"  # the rest as packaged
    for wrong, key in (('[audit]\nintact = "完好{case}"\n', "audit.intact"),
                       ('[audit]\nintact = "完好{0}"\n', "audit"),
                       ('[audit]\nintacto = "完好"\n', "audit.intacto")):
        office.write_text(wrong, encoding="utf-8")
        with pytest.raises(ConfigError) as refused:
            load_cli_output(tmp_path)
        assert key in str(refused.value) and "cli_output.toml" in str(refused.value)


def chinese(output: str, *said: str) -> str:
    """`output`, after checking that it says each of `said` and holds no English sentence."""
    flat = output.replace("\n", "")  # a long line wrapped at 200 columns
    for words in said:
        assert words in flat, (words, output)
    assert not english(output), english(output)
    return output


@pytest.fixture
def database(data_dir: Path) -> Path:
    """The data folder, migrated, with one transferred case in it, wide output."""
    chinese(run("db", "upgrade"), "（空库） → ")
    transferred(world(get_engine(get_settings().resolved_database_url)), complainant_name="李建国")
    return data_dir


def failing(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    return result.output


def test_the_audit_commands_print_chinese(database: Path, tmp_path: Path) -> None:
    chinese(run("audit", "verify"), "审计记录完整：1件案件，2条事件；账号记录：0条事件")
    chinese(run("audit", "checkpoint"), "检查点1：1件案件，2条事件，根哈希 ", "checkpoints.jsonl")
    chinese(run("audit", "verify", "--case", "GS-2023-00001"),
            "审计记录完整：1件案件，2条事件，已与检查点1比对")
    chinese(run("audit", "rotate-key"), "已启用", "仍保留，用于核验此前的事件")
    chinese(run("audit", "export", "--case", "GS-2023-00001", "-o", str(tmp_path / "case.json")),
            f"案件 GS-2023-00001 的审计记录：2条事件已写入 {tmp_path / 'case.json'}")
    chinese(run("audit", "export", "--accounts", "-o", str(tmp_path / "accounts.json")),
            "账号记录：0条事件已写入 ")


def test_backup_and_restore_print_chinese(database: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup" / "duban.db"
    chinese(run("backup", str(target)), f"备份已写入 {target}（审计检查点1）；0个附件文件在 {target}.files")
    get_engine(get_settings().resolved_database_url).dispose()  # the service is stopped before a restore
    chinese(run("restore", str(target), "--yes"),
            f"已从 {target} 恢复；审计记录完整（1件案件，2条事件），已与检查点1比对",
            f"已从 {target}.files 放回0个附件文件")


def test_privacy_redact_prints_chinese_with_the_tables_named(database: Path) -> None:
    chinese(run("privacy", "redact"), "cases：有文本的行 1，已重写 0", "已重写的脱敏文本：0")
    chinese(run("privacy", "redact", "--check"), "audit_events：有文本的行 ", "与规则不符的脱敏文本：0")


def test_the_calendar_commands_print_chinese(database: Path) -> None:
    local = database / "config" / "calendar" / "local"
    local.mkdir(parents=True)
    (local / "gn.toml").write_text('name = "甘南州"\nregions = ["GS-GN"]\n'
                                   'holidays = [{start = 2023-06-12}]\n', encoding="utf-8")
    chinese(run("calendar", "years"), "地方假日：甘南州 GS-GN（1天）")
    chinese(run("calendar", "is-workday", "2023-10-07"), "2023-10-07 是工作日")
    chinese(failing("calendar", "is-workday", "2023-10-03"), "2023-10-03 不是工作日")
    chinese(run("calendar", "recompute"), "0个未办结案件的期限有变化")
    chinese(run("db", "current"))


def test_the_case_commands_print_chinese(database: Path) -> None:
    chinese(run("case", "show", "GS-2023-00001"), "状态 已转办", "反映人 李建国", "退回 0 次", "可执行操作")
    chinese(run("case", "act", "GS-2023-00001", "sign_for", "--as", "unit:GS-LZ-CG-GOV"), "GS-2023-00001: ")


def test_the_queues_print_their_status_words_in_chinese(database: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    with Session(get_engine(get_settings().resolved_database_url)) as session:
        case_id = session.exec(select(Case.id)).one() or 0
        session.add(CallbackTask(case_id=case_id, kind="callback", episode="verified-1", reason="sampled",
                                 queued_at=now))
        session.add(CallbackTask(case_id=case_id, kind="revisit", episode="closed-1", reason="real_name",
                                 queued_at=now))
        session.add(Notification(kind="remind", audience="unit", to_address="gone@gs.example",
                                 subject="【催办】测试", body="正文", message_id="<t2@duban.local>",
                                 status="sending", attempts=1, next_attempt_at=now, created_at=now))
        session.commit()
    chinese(run("callbacks", "list"), "抽样抽中", "实名反映，全部回访")
    chinese(run("notify", "list"), "发送中")


def test_the_report_files_are_named_in_chinese(database: Path, tmp_path: Path) -> None:
    xlsx, html = tmp_path / "r.xlsx", tmp_path / "r.html"
    chinese(run("report", "-p", "2023-09", "--xlsx", str(xlsx), "--html", str(html)),
            f"工作簿已写入 {xlsx}", f"网页已写入 {html}")
    chinese(run("board", "--html", str(tmp_path / "b.html")), f"网页已写入 {tmp_path / 'b.html'}")
