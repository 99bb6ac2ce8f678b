"""Traditional Chinese characters read as their simplified forms (OpenCC's t2s table).

People write a name the way their keyboard or their letterhead does: 王建軍 is 王建军, 蘭州市城關區
住建局 is 兰州市城关区住建局. Wherever a text is compared with a name it must mean (the redactor's
identities, the orgs a complaint is about), both are read simplified. What is stored and shown
stays as it was written.

Character by character (a span of the text then maps back to what was written): the table is
OpenCC's conversion of each character of the CJK blocks on its own, made once a process (about
0.1 s), then applied by `str.translate`.
"""

from __future__ import annotations

import re
from functools import cache

import opencc

_HAN = range(0x3400, 0xA000)  # CJK Extension A and the Unified Ideographs


@cache
def _table() -> dict[int, str]:
    convert = opencc.OpenCC("t2s").convert
    table = {}
    for code in _HAN:
        simple = convert(chr(code))
        if len(simple) == 1 and simple != chr(code):
            table[code] = simple
    return table


@cache
def _traditional() -> re.Pattern[str]:
    return re.compile("[" + "".join(map(chr, sorted(_table()))) + "]")


def simplified(text: str) -> str:
    """`text` with each traditional character in its simplified form."""
    return text.translate(_table()) if _traditional().search(text) else text


def simplified_char(ch: str) -> str:
    """One character in its simplified form (itself when it has none)."""
    return _table().get(ord(ch), ch)
