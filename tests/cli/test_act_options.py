"""`duban case act` takes every field of every action's form, and the help shows what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from duban.cli import app
from duban.config.cli_help import load_cli_help
from duban.db import create_all, get_engine
from duban.services.forms import FORMS
from duban.services.orgs import install_orgs
from tests.cli_runner import run, runner
from tests.factories import ORGS


def _commands() -> list[tuple[list[str], Any]]:
    """Every command under `duban`, with the words that run it (typer's own click commands)."""
    found: list[tuple[list[str], Any]] = []

    def walk(words: list[str], command: Any) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk([*words, name], sub)
        else:
            found.append((words, command))

    walk([], typer.main.get_command(app))
    return found


def _act() -> Any:
    return next(command for words, command in _commands() if words == ["case", "act"])


def test_every_field_of_every_action_s_form_is_an_option_of_case_act() -> None:
    options = {param.name for param in _act().params}
    missing = {f"{action}: {name}" for action, form in FORMS.items() for name in form.model_fields
               if name not in options}
    assert not missing, sorted(missing)


def _flat(text: str) -> str:
    return re.sub(r"[\s│]+", " ", text)


def test_help_texts_show_their_bracketed_policy_names() -> None:
    """Rich reads `[extension]` as a style and drops it unless escaped: every bracket a command's
    or an option's help holds (config/cli_help.toml, duban.cli.helptexts) is on the screen."""
    texts = load_cli_help().texts
    commands = _commands()
    assert len(commands) > 30
    for words, _ in commands:
        path = " ".join(words)
        helps = [text for key, text in texts.items() if key == path or key.startswith(f"{path} ")]
        wanted = [m for h in helps for m in re.findall(r"\[[\w.]+\]", h)]
        if not wanted:
            continue
        result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, result.output
        shown = _flat(result.output)
        for bracketed in wanted:
            assert bracketed in shown, (words, bracketed)
    shown = _flat(runner.invoke(app, ["case", "act", "--help"], env={"COLUMNS": "400"}).output)
    assert "policy.toml 的 [extension]" in shown and "policy.toml 的 [intake.decline_reasons]" in shown


def test_a_callback_is_recorded_from_the_command_line(data_dir: Path) -> None:
    create_all(get_engine())
    install_orgs(get_engine(), ORGS)
    run("case", "create", "--office", "GS", "--title", "城关区供水中断", "--complainant", "王某",
        "--phone", "19900000001", "--received", "2023-09-27 09:00")
    run("case", "act", "GS-2023-00001", "transfer", "--unit", "GS-LZ-CG-GOV")
    run("case", "act", "GS-2023-00001", "submit_report", "--text", "已恢复供水", "--finding", "true",
        "--actions-taken", "抢修管道，恢复供水", "--as", "unit:GS-LZ-CG-GOV")
    run("case", "act", "GS-2023-00001", "approve", "--as", "supervisor")
    out = run("case", "act", "GS-2023-00001", "record_callback", "--method", "phone",
              "--result", "satisfied", "--as", "supervisor")
    assert "GS-2023-00001" in out
    shown = run("case", "show", "GS-2023-00001")
    assert "回访" in shown
