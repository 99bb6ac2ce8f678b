"""What an account's names may be: the user name people sign in with and the display name pages
show for them in every timeline, report and document.

A user name is plain ASCII (letters, digits, ".", "_", "-") and taken once whatever its case:
"Admin" beside "admin" would let a second account pass for the first in every list and record.
A display name is refused, not silently cut, when it is too long or holds a character no one
types as a name: a control character (a bell, a terminal's ESC) or a format character such as
U+202E, which turns the text after it right to left, so a timeline would show a name reversed.
"""

from __future__ import annotations

import re
import unicodedata

from duban.errors import InvalidActionInput

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")
DISPLAY_NAME_MAX = 60  # users.display_name is String(60)


def _bad(field: str, message: str, kind: str, limits: dict[str, int] | None = None) -> InvalidActionInput:
    return InvalidActionInput(action="user", field=field, message=message, kind=kind, limits=limits)


def check_username(username: str) -> str:
    """The user name as given, if it is one (fullmatch: "wang\\n" is not "wang")."""
    if USERNAME.fullmatch(username) is None:
        raise _bad("username", "1–60 letters, digits, '.', '_' or '-', starting with a letter or digit",
                   "username_format")
    return username


def _typed(ch: str) -> bool:
    """Not a control, format (bidi overrides, zero-width), private or unassigned character, nor a
    line or paragraph separator: what a person types as a name."""
    kind = unicodedata.category(ch)
    return kind[0] != "C" and kind not in ("Zl", "Zp")


def clean_display_name(name: str) -> str:
    """The display name without blanks around it; InvalidActionInput if it holds what `_typed`
    refuses or is longer than DISPLAY_NAME_MAX."""
    name = name.strip()
    if not all(_typed(ch) for ch in name):
        raise _bad("display_name", "holds a control or format character (such as a bidi override)",
                   "display_name_chars")
    if len(name) > DISPLAY_NAME_MAX:
        raise _bad("display_name", f"at most {DISPLAY_NAME_MAX} characters", "string_too_long",
                   {"max_length": DISPLAY_NAME_MAX})
    return name
