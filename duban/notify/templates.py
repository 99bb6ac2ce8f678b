"""Notification templates (config/notifications.toml): Jinja2 text, Chinese, compiled once.

Templates are data an office may change (in $DUBAN_CONFIG_DIR/notifications.toml, merged
template by template), so a broken one fails at start with the file and key named, not when the
first reminder is due at night.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError

from duban.config.policy import _read  # the one reader of packaged + override TOML
from duban.errors import ConfigError
from duban.shown import finalize

FILE = "notifications.toml"
# The table naming which action sends which notice to the complainant (action = kind).
CITIZEN_NOTICES = "citizen_notices"


@dataclass(frozen=True)
class SmsTemplate:
    """A text message as the provider knows it: its approved template code and parameters."""

    code: str
    params: dict[str, Template]  # parameter name -> Jinja expression over the notice's context
    text: Template  # the provider's text, kept so the outbox records what was sent


@dataclass(frozen=True)
class MailTemplate:
    subject: Template
    body: Template
    sms: SmsTemplate | None = None


@dataclass(frozen=True)
class Templates:
    source: str
    by_kind: dict[str, MailTemplate]
    # action -> notice kind for the complainant (duban/services/notices.py)
    citizen_notices: dict[str, str] = field(default_factory=dict)

    def render_sms(self, kind: str, context: dict[str, Any], *,
                   max_chars: int) -> tuple[str, dict[str, str], str]:
        """The template code, its parameters (each cut to `max_chars`) and the text they make."""
        template = self.by_kind.get(kind)
        if template is None or template.sms is None:
            raise ConfigError(source=self.source, key=kind, message="no SMS template for this notice")
        try:
            params = {name: _cut(" ".join(expr.render(context).split()), max_chars)
                      for name, expr in template.sms.params.items()}
            text = template.sms.text.render(params)
        except TemplateError as exc:
            raise ConfigError(source=self.source, key=kind, message=str(exc)) from exc
        return template.sms.code, params, text

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


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _sms(env: Environment, source: str, kind: str, table: dict[str, Any]) -> SmsTemplate | None:
    keys = {"sms_template", "sms_params", "sms"} & set(table)
    if not keys:
        return None
    if len(keys) < 3 or not isinstance(table["sms_params"], dict):
        raise ConfigError(source=source, key=kind,
                          message="an SMS needs `sms_template`, `sms_params` (a table) and `sms`")
    return SmsTemplate(str(table["sms_template"]),
                       {name: env.from_string(str(expr)) for name, expr in table["sms_params"].items()},
                       env.from_string(table["sms"]))


def load_templates(override_dir: Path | None = None) -> Templates:
    data, source = _read(FILE, override_dir)
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                      finalize=finalize)  # a title's controls and bidi overrides never reach a mail
    notices = data.pop(CITIZEN_NOTICES, {})
    compiled: dict[str, MailTemplate] = {}
    for kind, table in data.items():
        if not isinstance(table, dict) or not {"subject", "body"} <= set(table):
            raise ConfigError(source=source, key=kind, message="needs `subject` and `body`")
        try:
            compiled[kind] = MailTemplate(env.from_string(table["subject"]),
                                          env.from_string(table["body"]), _sms(env, source, kind, table))
        except TemplateError as exc:
            raise ConfigError(source=source, key=kind, message=str(exc)) from exc
    if not isinstance(notices, dict):
        raise ConfigError(source=source, key=CITIZEN_NOTICES, message="a table of action = notice kind")
    for action, kind in notices.items():
        template = compiled.get(kind) if isinstance(kind, str) else None
        if template is None or template.sms is None:
            raise ConfigError(source=source, key=f"{CITIZEN_NOTICES}.{action}",
                              message=f"{kind!r} is no notice template with an SMS (无此告知模板)")
    return Templates(source, compiled, dict(notices))


@lru_cache(maxsize=1)
def packaged_templates() -> Templates:
    """The packaged templates, compiled once a process: a context made without settings (tests,
    simulations, benches make thousands) would otherwise compile 150 Jinja templates, 60 ms."""
    return load_templates(None)
