"""What `duban … --help` says (config/cli_help.toml), validated at start; duban.cli.helptexts
puts it in place of the English the code keeps."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from duban.config.policy import _read, _validate


class TyperWords(BaseModel):
    """Typer's own words in every help (typer.rich_utils, click's usage line)."""

    usage: str  # the usage line's heading
    options_metavar: str  # [OPTIONS] in the usage line
    subcommand_metavar: str  # COMMAND [ARGS]... in a group's usage line
    arguments: str  # the panels' titles
    options: str
    commands: str
    default: str  # [default: {value}]
    required: str
    env_var: str  # [env var: {value}]
    deprecated: str
    help_option: str  # what --help says of itself

    @field_validator("default", "env_var")
    @classmethod
    def _holds_the_value(cls, text: str) -> str:
        try:
            text.format(value="")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may hold no braces but {value}") from None
        if "{value}" not in text:
            raise ValueError("must hold {value}, where the value goes")
        return text


class CliHelp(BaseModel):
    typer: TyperWords
    # A command's text by its path ("case list", the root "duban"), an option's by the path and its
    # first long name ("case list --as"), an argument's by the path and its name ("case show number").
    texts: dict[str, str] = Field(default_factory=dict)


def load_cli_help(override_dir: Path | None = None) -> CliHelp:
    data, source = _read("cli_help.toml", override_dir)
    config = _validate(CliHelp, data, source)
    assert isinstance(config, CliHelp)
    return config


@lru_cache(maxsize=1)
def get_cli_help() -> CliHelp:
    from duban.config.settings import get_settings

    return load_cli_help(get_settings().override_dir)
