"""Usage errors in Chinese, for every command in one place.

Typer (its vendored click) refuses a command line before the command runs: an unknown command or
option, a missing option, a value that is no integer. It says so in English ("Usage: …",
"Missing option '--office'.", "Input should be a valid integer"). `UsageInChinese` is the root
group's class: it runs the command line as Typer does, but shows such a refusal as labels [cli]
say it, naming the option as typed, and keeps the English for the log. A command refuses an
option of its own with `refuse()`, the same way.

What pydantic says of a value (typer coerces through it) is read by its error type, with the
templates the API uses (labels [errors]: "{label}须为整数", the label being the option).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from duban.cli import helptexts
from duban.config.cli_help import get_cli_help
from duban.config.policy import Labels, get_labels
from duban.present.problems import filled

log = logging.getLogger(__name__)


class Refused(typer.BadParameter):
    """A command's own refusal of an option, already in Chinese (labels [cli])."""


def refuse(key: str, option: str | None = None, **values: Any) -> NoReturn:
    """Refuse the command line with the labels [cli] message `key` (exit 2, like any usage error)."""
    message = filled(get_labels().cli.get(key, ""), option=option or "", **values)
    raise Refused(message, param_hint=option)


class UsageInChinese(TyperGroup):
    """The root group: a usage error anywhere below it is shown in Chinese (exit 2), and so is
    every command's --help (duban.cli.helptexts)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        helptexts.apply(self, get_cli_help())
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False,
                                windows_expand_args=windows_expand_args, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            sys.exit(exc.exit_code)  # the help is already shown, as Typer does
        except click_errors.ClickException as exc:
            if not standalone_mode:
                raise
            show(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            typer.echo(get_labels().cli.get("aborted", ""), err=True)
            sys.exit(1)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def show(exc: click_errors.ClickException) -> None:
    """Print `exc` as a person reads it: what is wrong, then where the usage is (stderr)."""
    log.info("usage error: %s", exc.format_message())
    labels = get_labels()
    typer.echo(f"{labels.cli.get('usage_error', '')}：{message(exc, labels)}", err=True)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        typer.echo(labels.cli.get("help_hint", "").format(command=ctx.command_path), err=True)


def message(exc: click_errors.ClickException, labels: Labels) -> str:
    """What is wrong, in Chinese: by the exception's type, never its English text."""
    cli = labels.cli
    if isinstance(exc, Refused):
        return exc.message
    if isinstance(exc, click_errors.MissingParameter):
        kind = "missing_argument" if _is_argument(exc.param) else "missing_option"
        return cli.get(kind, "").format(option=_option(exc))
    if isinstance(exc, click_errors.BadParameter):
        return _bad_value(exc, labels)
    if isinstance(exc, click_errors.NoSuchOption):
        said = cli.get("no_such_option", "").format(option=exc.option_name)
        if exc.possibilities:
            said += cli.get("did_you_mean", "").format(names="、".join(sorted(exc.possibilities)))
        return said
    if isinstance(exc, click_errors.BadOptionUsage):
        # Click's parser raises it for an option without its value, or a flag given one.
        kind = "takes_no_value" if "does not take" in exc.message else "needs_value"
        return cli.get(kind, "").format(option=exc.option_name)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and isinstance(ctx.command, TyperGroup):
        names = "、".join(ctx.command.list_commands(ctx))
        return cli.get("no_such_command", "").format(names=names)
    if ctx is not None:
        return cli.get("extra_arguments", "")
    return cli.get("invalid_value", "").format(option="")


def _bad_value(exc: click_errors.BadParameter, labels: Labels) -> str:
    """A value Typer could not take: pydantic's error type read with labels [errors]."""
    option = _option(exc)
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors()[0]
        template = labels.errors.get(str(first.get("type", "")))
        if template:
            limits = first.get("ctx")
            try:
                return template.format(label=option, **(limits if isinstance(limits, dict) else {}))
            except (KeyError, IndexError, ValueError):
                pass
    return labels.cli.get("invalid_value", "").format(option=option)


def _is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _option(exc: click_errors.BadParameter) -> str:
    """The option as typed (--page) or the argument as help shows it (NUMBER)."""
    if isinstance(exc.param_hint, str):
        return exc.param_hint
    param = exc.param
    if param is None:
        return ""
    if _is_argument(param):
        return str(param.name or "").upper()
    opts = [*param.opts, *param.secondary_opts]
    return max(opts, key=len) if opts else str(param.name or "")
