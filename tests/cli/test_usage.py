"""Every command's usage errors are Chinese (duban.cli.usage), walked over the registered commands."""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from duban.cli import app
from tests.cli_runner import runner

BAD_VALUES = {int: "x", float: "x", dt.datetime: "x", dt.date: "x"}
WORD = re.compile(r"[A-Za-z][A-Za-z-]+")


def commands(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) of every command `duban` has, groups included, as registered."""
    command = command or typer.main.get_command(app)
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from commands(sub, (*path, name))


NAMES = {name for path, _ in commands() for name in path}
LEAVES = [(path, cmd) for path, cmd in commands() if path and not getattr(cmd, "commands", None)]


def english(text: str, codes: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The ASCII words of `text` that are not identifiers: commands, --options, ARGUMENTS, codes."""
    text = re.sub(r"(?<![\w-])--?[A-Za-z][\w-]*", " ", text)
    return [w for w in WORD.findall(text) if w not in NAMES | codes and w != "duban" and not w.isupper()]


def refused(*args: str, codes: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"}, prog_name="duban")
    assert result.exit_code == 2, (args, result.output)
    assert not english(result.output, codes), (args, result.output)
    return result.output


def bad_value(param: Any) -> str | None:
    """A value the parameter's type refuses, if it is not plain text."""
    annotation = param.type_descriptor.annotation
    for kind in (annotation, *typing.get_args(annotation)):
        if kind in BAD_VALUES:
            return BAD_VALUES[kind]
    return None


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_says_its_usage_errors_in_chinese(path: tuple[str, ...], command: Any,
                                                         data_dir: Path) -> None:
    said = refused(*path, "--no-such-option")
    assert "没有选项 --no-such-option" in said and f"duban {' '.join(path)} --help" in said
    required = [p for p in command.params if p.required]
    if required:
        missing = refused(*path)
        assert "缺少" in missing
    for param in command.params:
        value = bad_value(param)
        if value is None:
            continue
        if param.param_type_name == "option":
            assert param.opts[-1] in refused(*path, param.opts[-1], value)
        elif param.nargs == 1:
            position = [p for p in command.params if p.param_type_name == "argument"].index(param)
            given = ["2023-03-24"] * position  # the arguments before it, a date takes them all
            refused(*path, *given, value)


def test_unknown_commands_options_and_values_name_what_was_typed(data_dir: Path) -> None:
    assert "可用的命令：create、list、show" in refused("case", "lst")
    assert "没有这个命令" in refused("nosuch")
    assert "是否要用 --as、--page" in refused("case", "list", "--pag", "2")
    assert "选项 --page 后面要写一个值" in refused("case", "list", "--page")
    assert "选项 --overdue 不带值" in refused("case", "list", "--overdue=yes")
    assert "--page不能小于1" in refused("case", "list", "--page", "0")
    assert "--limit不能大于500" in refused("case", "list", "--limit", "501")
    assert "--page须为整数" in refused("case", "list", "--page", "二")
    assert "多了不认识的参数" in refused("case", "show", "GS-2023-00001", "extra")
    assert "缺少选项 --office" in refused("case", "create", "--title", "供暖")
    assert "缺少参数 ACTION" in refused("case", "act", "GS-2023-00001")


def test_a_commands_own_refusals_are_chinese_too(data_dir: Path) -> None:
    assert "--format须为以下之一：mermaid、dot、svg" in refused(
        "states", "diagram", "--format", "png", codes={"mermaid", "dot", "svg"})
    assert "DAY须在工作日历覆盖的2004–2045年之内" in refused("calendar", "is-workday", "1999-12-31")
    assert "--since须为日期或时间" in refused("audit", "verify", "--since", "yesterday")
    assert "--to 不能早于 --from" in refused("simulate", "--from", "2023-03-01", "--to", "2023-02-01")
