"""Text as a person is shown it: what anyone typed, pasted or imported, on a page, in a mail or a
printed document, without the characters that act on the text around them rather than show.

Those are the control characters but tab and line breaks (a bell, an escape sequence's ESC: boxes
on paper, garbage in a mail client) and the bidi embeddings, overrides and isolates: U+202E in a
title sets the text after it right to left, in the title and in what follows it on the same line
(a case number or a sum would read reversed, a file name's extension hidden). The stored texts
keep them as received (they are the record); only what is shown drops them. A leaf: it imports
nothing of ours.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

UNSHOWN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` without UNSHOWN."""
    return UNSHOWN.sub("", text)


def finalize(value: Any) -> Any:
    """Jinja's `finalize`: every value a template prints passes here first. Markup (HTML a module
    of ours built and escaped already) stays Markup, or it would be escaped a second time."""
    if isinstance(value, str) and UNSHOWN.search(value):
        return Markup(shown(value)) if isinstance(value, Markup) else shown(value)
    return value
