"""Traditional Chinese characters read as their simplified forms (OpenCC's t2s table).

People write a name the way their keyboard or their letterhead does: 王建軍 is 王建军, 蘭州市城關區
住建局 is 兰州市城关区住建局. Wherever a text is compared with a name it must mean (the redactor's
identities, the orgs a complaint is about), both are read simplified. What is stored and shown
stays as it was written.
"""

from __future__ import annotations

from functools import cache

import opencc

_HAN_LOW, _HAN_HIGH = "\u3400", "\u9fff"


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` with its traditional characters (and phrases) in simplified form."""
    if not any(_HAN_LOW <= c <= _HAN_HIGH for c in text):
        return text
    return str(_converter().convert(text))


def simplified_char(ch: str, keep: frozenset[str] | dict[str, str] = frozenset()) -> str:
    """One character's simplified form where that is one character (a span of a text then maps
    back to what was written), else the character itself; `keep`: characters left as they are."""
    if not _HAN_LOW <= ch <= _HAN_HIGH or ch in keep:
        return ch
    simple = str(_converter().convert(ch))
    return simple if len(simple) == 1 else ch
