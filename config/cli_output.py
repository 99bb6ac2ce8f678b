"""What the `duban` commands print (config/cli_output.toml), validated at start; duban.cli.common
`printed` and `printed_of` read it. The audit's findings (config/audit_findings.toml: what verify
names, wherever it is printed) are texts of the same shape."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import RootModel, field_validator

from duban.config.policy import _read, _validate
from duban.errors import ConfigError

NAME = "cli_output.toml"
AUDIT_NAME = "audit_findings.toml"


def placeholders(text: str) -> set[str]:
    """The {names} a text holds; ValueError if it holds a brace that is not one."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"may hold {{name}} placeholders only, not {{{name}}}")
        names.add(name)
    return names


class CliOutput(RootModel[dict[str, dict[str, str]]]):
    """The texts by section (a command or a group of them) and key: "audit.intact"."""

    @field_validator("root")
    @classmethod
    def _well_formed(cls, sections: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for section, texts in sections.items():
            for key, text in texts.items():
                try:
                    placeholders(text)
                except ValueError as exc:
                    raise ValueError(f"{section}.{key}: {exc}") from None
        return sections

    def text(self, key: str, /, **values: Any) -> str:
        """The text `key` ("section.name") with `values` in its {names}; KeyError if none is there."""
        section, _, name = key.partition(".")
        return self.root[section][name].format(**values)

    def of(self, section: str, code: str) -> str:
        """The word a section gives a code (an outbox status), or the code itself so a gap shows."""
        return self.root.get(section, {}).get(code, code)


def load_cli_output(override_dir: Path | None = None, *, name: str = NAME) -> CliOutput:
    """The packaged texts with an office's over them; an office's text may use the packaged one's
    {names} or fewer, never one the command does not fill in, and only keys the commands print."""
    packaged = _validate(CliOutput, *_read(name, None))
    data, source = _read(name, override_dir)
    config = _validate(CliOutput, data, source)
    assert isinstance(packaged, CliOutput) and isinstance(config, CliOutput)
    for section, texts in config.root.items():
        for key, text in texts.items():
            known = packaged.root.get(section, {}).get(key)
            if known is None:
                raise ConfigError(source=source, key=f"{section}.{key}",
                                  message="nothing prints this text (not among the packaged texts)")
            extra = placeholders(text) - placeholders(known)
            if extra:
                raise ConfigError(source=source, key=f"{section}.{key}",
                                  message=f"the command fills in only {sorted(placeholders(known))}, "
                                          f"not {sorted(extra)}")
    return config


@lru_cache(maxsize=1)
def get_cli_output() -> CliOutput:
    from duban.config.settings import get_settings

    return load_cli_output(get_settings().override_dir)


@lru_cache(maxsize=1)
def get_audit_texts() -> CliOutput:
    from duban.config.settings import get_settings

    return load_cli_output(get_settings().override_dir, name=AUDIT_NAME)
