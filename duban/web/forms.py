"""Reading posted HTML forms: the values an action or a registration takes, and Chinese messages
for everything wrong with them (all fields at once, not just the first)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from duban.config.policy import Labels
from duban.errors import InvalidActionInput
from duban.present.problems import field_message
from duban.present.textcheck import (
    ASCII_INT_MESSAGE,
    BROKEN_TEXT,
    BROKEN_TEXT_MESSAGE,
    is_ascii_int,
    public_name,
)
from duban.present.uploads import sent_name
from duban.services.attachments import Upload
from duban.services.forms import FORMS

MAX_FIELD = 100_000  # characters; the models' own limits are far lower, this only bounds the work


async def posted_form(request: Request) -> dict[str, str]:
    """The submitted fields as strings (a dependency, so the routes themselves can stay sync)."""
    return _values(await request.form(max_files=0, max_fields=200))


async def posted_with_files(request: Request) -> tuple[dict[str, str], list[Upload]]:
    """The fields, and the files of a form that takes attachments (`files`), each read up to one
    byte past policy [attachments] max_bytes: the service refuses what is too large or too many,
    naming the limit (a body larger than the policy allows in all is refused by duban.app's
    BodyLimit before it is read)."""
    rule = request.app.state.ctx.policy.attachments
    form = await request.form(max_files=rule.max_files + 1, max_fields=200)
    uploads = []
    for value in form.getlist("files"):
        if isinstance(value, str) or (not value.filename and not value.size):
            continue  # a file input left empty
        uploads.append(Upload(name=sent_name(value), content=await value.read(rule.max_bytes + 1)))
    return _values(form), uploads


def _values(form: Any) -> dict[str, str]:
    values = {key: value[:MAX_FIELD] for key, value in form.items() if isinstance(value, str)}
    for key, value in values.items():
        if BROKEN_TEXT.search(key) or BROKEN_TEXT.search(value):  # refused, as in the API
            raise InvalidActionInput(action="form", field=public_name(BROKEN_TEXT.sub("", key), "form"),
                                     kind="broken_text", message=BROKEN_TEXT_MESSAGE)
    return values


def action_values(action: str, posted: dict[str, str]) -> dict[str, Any]:
    """An action's fields from the posted form. A field left empty is left out: an optional one
    takes its default, a required one is reported as missing ("请填写…")."""
    return {name: posted[name] for name in FORMS[action].model_fields if posted.get(name, "").strip()}


def input_message(labels: Labels, exc: InvalidActionInput) -> str:
    """What is wrong with one field, in Chinese (the English detail stays in the exception)."""
    return field_message(labels, field=exc.field, kind=exc.kind, message=exc.message, limits=exc.limits)


def field_errors(labels: Labels, model: type[BaseModel], values: dict[str, Any]) -> dict[str, list[str]]:
    """Every validation problem of `values`, per field, in Chinese (empty when all is well)."""
    try:
        model.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(name, []).append(field_message(
                labels, field=name, kind=err["type"], message=err["msg"], limits=err.get("ctx")))
        return errors
    return {}


def page_int(values: Any, name: str) -> int | None:
    """An integer a page reads from its query or form (`offset`, `version`): None when absent,
    422 naming the field unless it is written in ASCII digits ("²" or "١٢" are not numbers here)."""
    text = (values.get(name) or "").strip()
    if not text:
        return None
    if not is_ascii_int(text):
        raise InvalidActionInput(action="form", field=name, kind="ascii_digits", message=ASCII_INT_MESSAGE)
    return int(text)
