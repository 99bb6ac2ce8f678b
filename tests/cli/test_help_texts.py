"""Every `duban … --help` reads in Chinese (duban.cli.helptexts): each command, option and argument
has its text in config/cli_help.toml, none there is left over, and the help shows the texts with
none of Typer's English words and no English sentence, walked over the registered commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from duban.cli import app
from duban.config.cli_help import load_cli_help
from duban.errors import ConfigError
from tests.cli_runner import runner
from tests.english import WORD, english

HELP = load_cli_help()
TEXTS = HELP.texts
CJK = re.compile(r"[\u3400-\u9fff]")
# What Typer and click write in English unless told otherwise.
TYPER_ENGLISH = ("Usage", "Options", "Arguments", "Commands", "Show this message", "[default:",
                 "[required]", "[env var:", "(deprecated)", "[OPTIONS]", "COMMAND", "[ARGS]")


def commands(command: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) of every command `duban` has, the root and the groups included."""
    command = command or typer.main.get_command(app)
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from commands(sub, (*path, name))


COMMANDS = list(commands())


def command_key(path: tuple[str, ...]) -> str:
    return " ".join(path) or "duban"


def param_key(path: tuple[str, ...], param: Any) -> str:
    """The key of an option ("case list --as": its first long name) or an argument ("case show number")."""
    if param.param_type_name == "argument":
        return f"{command_key(path)} {param.name}"
    names = [*param.opts, *param.secondary_opts]
    return f"{command_key(path)} {next((n for n in names if n.startswith('--')), names[0])}"


def wanted() -> dict[str, str]:
    """Every key the commands need in [texts], with what it is for (to name a gap)."""
    keys: dict[str, str] = {}
    for path, command in COMMANDS:
        line = " ".join(("duban", *path))
        keys[command_key(path)] = f"the command `{line}`"
        for param in command.params:
            key = param_key(path, param)
            keys[key] = f"the {param.param_type_name} {param.name} of `{line}`"
            if isinstance(getattr(param, "show_default", None), str):  # a default described in words
                keys[f"{key} [default]"] = f"the default of {keys[key]}"
    return keys


WANTED = wanted()


def squeezed(text: str) -> str:
    """`text` without white space and box lines: Rich wraps a long help over several lines."""
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


def test_the_english_check_finds_english_sentences_and_lets_codes_pass() -> None:
    assert english("│ --help  <bool>  Show this message and exit. │") == ["Show this message and exit."]
    assert english("Email notifications (the outbox).") == ["Email notifications (the outbox)."]
    assert english("Run one deadline-sweep now") == ["Run one deadline-sweep now"]
    assert not english("以 Prefect 流程 deadline-sweep 运行：record_callback、GS-LZ、policy.toml 的 [bulk]")
    assert not english("用法：duban case list [选项]  见 `duban audit verify --all` 和 JSON API")


def test_every_command_option_and_argument_has_its_chinese_help_in_config() -> None:
    assert len(WANTED) > 200
    missing = [f"{key!r} ({what})" for key, what in WANTED.items() if key not in TEXTS]
    assert not missing, "config/cli_help.toml [texts] has no text for:\n" + "\n".join(missing)


def test_config_holds_no_help_for_a_command_or_option_that_is_gone() -> None:
    left_over = sorted(set(TEXTS) - set(WANTED))
    assert not left_over, f"config/cli_help.toml [texts] has texts for what `duban` lacks: {left_over}"


def test_every_help_text_in_config_is_chinese() -> None:
    foreign = {key: text for key, text in TEXTS.items() if not CJK.search(text) or english(text)}
    assert not foreign, foreign
    words = {key: word.format(value="") for key, word in HELP.typer.model_dump().items()}
    assert not [word for word in words.values() if not CJK.search(word) or WORD.search(word)], words


def test_an_office_may_reword_a_help_and_a_default_without_its_value_is_refused(tmp_path: Path) -> None:
    override = tmp_path / "cli_help.toml"
    override.write_text('[texts]\n"case list" = "列出本办的案件。"\n', encoding="utf-8")
    reworded = load_cli_help(tmp_path)
    assert reworded.texts["case list"] == "列出本办的案件。"
    assert reworded.texts["case show"] == TEXTS["case show"]  # the other texts stay
    override.write_text('[typer]\ndefault = "[默认值]"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_cli_help(tmp_path)
    assert refused.value.key == "typer.default" and str(override) in refused.value.source


def test_the_bench_parts_named_in_the_help_are_the_parts_it_runs() -> None:
    from duban.cli.bench import PARTS

    named = re.split(r"[、，,：:\s]+", TEXTS["bench --only"].rsplit("：", 1)[-1].strip())
    assert sorted(named) == sorted(part.name for part in PARTS)


def shown_texts(path: tuple[str, ...], command: Any) -> list[str]:
    """The texts `duban … --help` shows: the command's, its options' and arguments', the first
    paragraph of each command a group lists, and Typer's own words."""
    texts = [TEXTS[command_key(path)], HELP.typer.help_option, HELP.typer.options]
    texts += [TEXTS[param_key(path, param)] for param in command.params]
    for name in getattr(command, "commands", None) or {}:
        texts.append(TEXTS[command_key((*path, name))].split("\n\n")[0])
    return texts


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[command_key(p) for p, _ in COMMANDS])
def test_every_help_reads_in_chinese(path: tuple[str, ...], command: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}, prog_name="duban")
    assert result.exit_code == 0, result.output
    shown = result.output
    flat = squeezed(shown)
    for text in shown_texts(path, command):
        assert squeezed(text) in flat, (text, shown)
    assert f"{HELP.typer.usage}duban" in flat, shown
    assert not [word for word in TYPER_ENGLISH if word in shown], shown
    assert not english(shown), shown


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[command_key(p) for p, _ in COMMANDS])
def test_no_help_is_cut_short_on_a_narrow_terminal(path: tuple[str, ...], command: Any) -> None:
    """Rich wraps at spaces, which Chinese has none of, and cut a long text with "…" where it did
    not fit (duban.cli.helptexts.FoldingHighlighter). Wrapped in a narrow table, a text may share
    its lines with the columns beside it: each of its characters is there, in order."""
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="duban")
    assert result.exit_code == 0, result.output
    shown = result.output
    assert "…" not in shown, shown
    for text in shown_texts(path, command):
        rest = iter(squeezed(shown))
        assert all(character in rest for character in squeezed(text)), (text, shown)
