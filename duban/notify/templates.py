"""Notification templates (config/notifications.toml): Jinja2 text, Chinese, compiled once.

Templates are data an office may change (in $DUBAN_CONFIG_DIR/notifications.toml, merged
template by template), so a broken one fails at start with the file and key named, not when the
first reminder is due at night.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError

from duban.config.policy import _read  # the one reader of packaged + override TOML
from duban.errors import ConfigError

FILE = "notifications.toml"


@dataclass(frozen=True)
class MailTemplate:
    subject: Template
    body: Template


@dataclass(frozen=True)
class Templates:
    source: str
    by_kind: dict[str, MailTemplate]

    def render(self, kind: str, context: dict[str, Any]) -> tuple[str, str]:
        """Subject (one line) and body for a notification of this kind."""
        template = self.by_kind.get(kind)
        if template is None:
            raise ConfigError(source=self.source, key=kind, message="no such notification template")
        try:
            subject = " ".join(template.subject.render(context).split())
            body = template.body.render(context)
        except TemplateError as exc:
            raise ConfigError(source=self.source, key=kind, message=str(exc)) from exc
        return subject, body


def load_templates(override_dir: Path | None = None) -> Templates:
    data, source = _read(FILE, override_dir)
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    compiled: dict[str, MailTemplate] = {}
    for kind, table in data.items():
        if not isinstance(table, dict) or not {"subject", "body"} <= set(table):
            raise ConfigError(source=source, key=kind, message="needs `subject` and `body`")
        try:
            compiled[kind] = MailTemplate(env.from_string(table["subject"]),
                                          env.from_string(table["body"]))
        except TemplateError as exc:
            raise ConfigError(source=source, key=kind, message=str(exc)) from exc
    return Templates(source, compiled)


@lru_cache(maxsize=4)
def templates_for(override_dir: Path | None) -> Templates:
    return load_templates(override_dir)
