"""A phone number as one string of digits, however it was typed: 139-1234-5678, (0931) 888 1234,
+86 139 1234 5678 are 13912345678 and 09318881234. A leaf: it imports nothing of ours.

Complainants' phones are stored so (models.case.CaseCreate), and a search that is a phone number
is read so (services.search.words): a dispatcher who types the number as the caller said it finds
the case whichever way the clerk typed it. Only what is surely a Chinese phone is rewritten: a
mobile (11 digits from 13 to 19, after +86, 0086 or 86 or none) or a landline with its area code
(0 and 9 to 11 more digits, or after +86 without its 0); anything else (a number abroad, a date, a
case number) stays as typed.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().·（）]+")
_TYPED = re.compile(r"[(（]?\+?[0-9][0-9\s\-().·（）]*")
_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_LANDLINE = re.compile(r"(?:\+86|0086|86)?(0[1-9][0-9]{8,10})")
_LANDLINE_FROM_ABROAD = re.compile(r"(?:\+86|0086)([1-9][0-9]{8,10})")  # +86 931 8881234: its 0 dropped


def canonical(typed: str) -> str | None:
    """The digits of `typed` when it is a Chinese phone number and nothing else, else None."""
    if not _TYPED.fullmatch(typed.strip()):
        return None
    bare = _SEPARATORS.sub("", typed)
    for form in (_MOBILE, _LANDLINE):
        found = form.fullmatch(bare)
        if found:
            return found.group(1)
    found = _LANDLINE_FROM_ABROAD.fullmatch(bare)
    return "0" + found.group(1) if found else None


def stored(typed: str) -> str:
    """A phone as it is stored: its digits when it is a Chinese phone number, else as typed."""
    return canonical(typed) or typed.strip()
