"""`duban … --help` in Chinese, for every command in one place.

What a command's help says is in config/cli_help.toml, not in the code: [texts] holds a text per
command (its path: "case list", the root "duban"), per option (the path and the option's first long
name: "case list --as") and per argument (the path and its name: "case show number"); [typer] holds
Typer's own words (the usage line's heading, the panels' titles, "[default: …]", what --help says).
The docstrings and `help=` strings in duban/cli stay English: they document the code.

Typer builds the click commands from those anew each time the app runs; the root group
(duban.cli.usage.UsageInChinese) hands the built tree to `apply` before it reads the command line,
so the help a person asks for is the one in config. Typer's words and its highlighter are module
globals of typer.rich_utils, set for the process: `duban` is the only Typer app in it. Where config
has no text the English stays (tests/cli/test_help_texts.py names every such gap, and every text
left over for a command or an option that is gone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.markup import escape
from rich.text import Text
from typer import rich_utils
from typer._click.core import Context
from typer._click.formatting import HelpFormatter

from duban.config.cli_help import CliHelp, TyperWords

ROOT = "duban"
DEFAULT = "[default]"  # the key's suffix for a default said in words (show_default="…"), not a value


class UsageFormatter(HelpFormatter):
    """click's help formatter, with the usage line's heading in Chinese (click writes "Usage: ")."""

    heading = "Usage: "

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, self.heading if prefix is None else prefix)


class FoldingHighlighter(rich_utils.OptionHighlighter):
    """Typer's highlighter, whose texts fold where a line is too short: Rich wraps at spaces, which
    Chinese has none of, and would cut a long text in the options' and commands' tables with "…"."""

    def __call__(self, text: str | Text) -> Text:
        shown = super().__call__(text)
        shown.overflow = "fold"
        return shown


class HelpContext(Context):
    """click's context, formatting help with UsageFormatter (set on every command by `apply`)."""

    formatter_class = UsageFormatter


def key_of(path: str, param: Any) -> str:
    """The config key of an option ("case list --as") or an argument ("case show number")."""
    if param.param_type_name == "argument":
        return f"{path} {param.name}"
    names = [*param.opts, *param.secondary_opts]
    return f"{path} {next((n for n in names if n.startswith('--')), names[0])}"


def apply(root: Any, config: CliHelp) -> None:
    """Replace what `root` (the built `duban` group) and every command under it show in --help."""
    _typer_words(config.typer)
    _command(root, ROOT, config.texts, config.typer, parent=None)


def _typer_words(words: TyperWords) -> None:
    """Typer's words: typer.rich_utils's constants, which it reads at each --help."""
    rich_utils.ARGUMENTS_PANEL_TITLE = words.arguments
    rich_utils.OPTIONS_PANEL_TITLE = words.options
    rich_utils.COMMANDS_PANEL_TITLE = words.commands
    rich_utils.REQUIRED_LONG_STRING = words.required
    rich_utils.DEPRECATED_STRING = words.deprecated
    rich_utils.DEFAULT_STRING = words.default.format(value="{}")  # Typer fills in "{}"
    rich_utils.ENVVAR_STRING = words.env_var.format(value="{}")
    UsageFormatter.heading = words.usage
    if not isinstance(rich_utils.highlighter, FoldingHighlighter):
        rich_utils.highlighter = FoldingHighlighter()


def _command(command: Any, path: str, texts: Mapping[str, str], words: TyperWords,
             parent: Context | None) -> None:
    shown = _shown_by(command)
    if path in texts:
        command.help, command.short_help = shown(texts[path]), None
    if command.options_metavar:
        command.options_metavar = words.options_metavar
    if getattr(command, "subcommand_metavar", None):
        command.subcommand_metavar = words.subcommand_metavar
    for param in command.params:
        key = key_of(path, param)
        if key in texts:
            param.help = shown(texts[key])
        if isinstance(getattr(param, "show_default", None), str) and f"{key} {DEFAULT}" in texts:
            param.show_default = texts[f"{key} {DEFAULT}"]
    command.context_class = HelpContext
    # click makes the help option on first use, from the context's help option names: made here
    # as click would make it (a context per command, each the child of its group's).
    ctx = HelpContext(command, parent=parent, info_name=path.rpartition(" ")[2],
                      **command.context_settings)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.help = shown(words.help_option)
    for name, sub in (getattr(command, "commands", None) or {}).items():
        _command(sub, name if path == ROOT else f"{path} {name}", texts, words, parent=ctx)


def _shown_by(command: Any) -> Callable[[str], str]:
    """How a text reaches the screen as written: Rich reads "[bulk]" as a style unless escaped."""
    if getattr(command, "rich_markup_mode", None) == "rich":
        return escape
    return str
