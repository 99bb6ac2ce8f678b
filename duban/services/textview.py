"""A normalized view of a text that remembers where each of its characters came from.

Identity hides behind forms: full-width digits (１３６), Chinese numerals (一三六〇), ideographic and
no-break spaces, dashes and dots between the digits, compatibility characters (①, ㈠). The
redactor matches on a folded view instead of the raw text, and cuts the raw text at the spans
the view maps back to, so a mask replaces exactly what was written.

Three views: `folded` (NFKC per character, traditional characters as simplified ones (軍 as 军, 號 as
号: OpenCC's table), every digit ASCII, every separator one canonical character) for patterns,
and `skeleton` (folded without separators) for the literal identities of a case (a name written
"李 四" or "李·四", a phone written any way), and `lettered` (folded with the Chinese numerals as
written) for names: 张三 is a name even where a phone number follows it (张三 13912345678), which
makes its 三 part of a run of digits in `folded`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from duban.simplified import simplified_char

# Written as digits in phone numbers read out or typed by hand (幺 is "one" read out). Folded to
# digits only in a run of at least NUMERAL_RUN of them (separators between allowed), or where
# numerals and digits mixed make a run of at least MIXED_RUN (幺38 9311 2345, 1389三11二345, the
# shortest a phone number can be): a lone 一 is a word ("13609318888一直没人接": the redactor then
# tries the number without it, redaction's `_glued_numbers`), and 伍 and 陆 are surnames.
NUMERAL_RUN = 4
MIXED_RUN = 7
NUMERALS = {
    "〇": "0", "零": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4", "五": "5",
    "六": "6", "七": "7", "八": "8", "九": "9",
    "壹": "1", "贰": "2", "貳": "2", "叁": "3", "參": "3", "肆": "4", "伍": "5", "陆": "6",
    "陸": "6", "柒": "7", "捌": "8", "玖": "9",
}
# Canonical separators in the folded view; the characters each one stands for (after NFKC).
SPACE, DASH, DOT, MIDDOT, SLASH, UNDERSCORE = " ", "-", ".", "·", "/", "_"
SEPARATORS = SPACE + DASH + DOT + MIDDOT + SLASH + UNDERSCORE
_FOLD_TO = {
    DASH: "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\u2e3a\u2e3b\u30fc\uff70",
    DOT: ".\u2024",
    MIDDOT: "\u00b7\u2027\u2219\u22c5\u30fb\u2022\u0387\u16eb\u2e31",
    SLASH: "/\u2044\u2215\u29f8\\",
    UNDERSCORE: "_",
}
# Not removed by NFKC, yet invisible or blank: folded to a space.
_BLANKS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u3164\u115f\u1160\uffa0"
# Format and combining characters: a right-to-left mark or an accent between two digits hides nothing.
_INVISIBLE = frozenset({"Cf", "Cc", "Mn", "Me"})
_CANONICAL = {c: canon for canon, chars in _FOLD_TO.items() for c in chars}

_CACHE_MAX = 20_000  # any text may hold any character: the cache must not grow with them


class _FoldTable(dict[int, str]):
    """Code point -> folded text, filled as characters are met: `str.translate` folds a whole
    text at C speed once its characters are known."""

    def __missing__(self, code: int) -> str:
        folded = _fold_uncached(chr(code))
        if len(self) < _CACHE_MAX:
            self[code] = folded
        return folded


_TABLE = _FoldTable()


def fold_char(c: str) -> str:
    """What one raw character becomes in the folded view: never empty."""
    return _TABLE[ord(c)]


def _fold_uncached(c: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", c) or c:
        if ch not in NUMERALS:  # 參 is three, 参 a word
            ch = simplified_char(ch)
        if ch in _CANONICAL:
            out.append(_CANONICAL[ch])
        elif ch.isspace() or ch in _BLANKS or unicodedata.category(ch) in _INVISIBLE:
            out.append(SPACE)
        elif "0" <= ch <= "9":
            out.append(ch)
        else:
            try:
                out.append(str(unicodedata.decimal(ch)))
            except (TypeError, ValueError):
                out.append(ch)
    return "".join(out) or SPACE


@dataclass
class TextView:
    """`text` folded, with the raw index of every folded character (None when it is 1:1)."""

    text: str
    folded: str
    origin: list[int] | None
    # Where Chinese numerals became digits, as folded spans: a numeral at a run's edge may be a
    # word of the text around it (一直, 一个), glued to the number (redaction's `_glued_numbers`).
    numeral_runs: tuple[tuple[int, int], ...] = ()
    _skeleton: str | None = None
    _skeleton_index: list[int] | None = None
    _lettered: str | None = None

    @classmethod
    def of(cls, text: str) -> TextView:
        folded = text.translate(_TABLE)
        # Characters fold one to one (every fold is at least one character, so equal lengths
        # mean that), and no run of numerals to turn into digits: the common case, no lists.
        if (len(folded) == len(text) and len(_ANY_NUMERAL.findall(folded, 0)) < NUMERAL_RUN
                and not _NUMERAL_BESIDE_DIGIT.search(folded)):
            return cls(text, folded, None)
        pieces = [fold_char(c) for c in text]
        runs = _fold_numeral_runs(pieces)
        folded = "".join(pieces)
        if len(folded) == len(text):
            return cls(text, folded, None, tuple(runs))
        starts = [0]
        for piece in pieces:
            starts.append(starts[-1] + len(piece))
        origin = [i for i, piece in enumerate(pieces) for _ in piece]
        return cls(text, folded, origin, tuple((starts[i], starts[j]) for i, j in runs))

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span that folded [start, end) came from (end > start)."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1

    def folded_at(self, raw: int) -> int:
        """Where raw index `raw` (or the first character after it that folding kept) is folded."""
        return raw if self.origin is None else bisect.bisect_left(self.origin, raw)

    @property
    def skeleton(self) -> str:
        """The folded text without separators and in ASCII lower case ("LI Jianguo" is
        "lijianguo")."""
        if self._skeleton is None:
            self._skeleton = self.folded.translate(_SKELETON)
        return self._skeleton

    @property
    def lettered(self) -> str:
        """`folded` with each numeral that a run made a digit as written again: the same length
        and positions, so spans found in it map back as `folded`'s do."""
        if self._lettered is None:
            if not self.numeral_runs:
                self._lettered = self.folded
            else:
                chars = list(self.folded)
                for start, end in self.numeral_runs:
                    for at in range(start, end):
                        piece = fold_char(self.text[self.origin[at] if self.origin is not None else at])
                        if piece in NUMERALS:
                            chars[at] = piece
                self._lettered = "".join(chars)
        return self._lettered

    @property
    def lettered_skeleton(self) -> str:
        """`skeleton` of `lettered`: a registered name with a numeral in it (张三) is found here."""
        return self.skeleton if not self.numeral_runs else self.lettered.translate(_SKELETON)

    def raw_span_of_skeleton(self, start: int, end: int) -> tuple[int, int]:
        if self._skeleton_index is None:  # built only when a literal was found
            self._skeleton_index = [i for i, c in enumerate(self.folded) if c not in SEPARATORS]
        index = self._skeleton_index
        return self.raw_span(index[start], index[end - 1] + 1)


def skeleton_of(value: str) -> str:
    """A literal identity (a registered name, phone, address) as it appears in a skeleton."""
    return TextView.of(value).skeleton


_SKELETON = {**str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"),
             **{ord(c): None for c in SEPARATORS}}
_ANY_NUMERAL = re.compile("[" + "".join(NUMERALS) + "]")
_NUMERAL_RUNS = re.compile("n(?:s*+n)*+")
_MIXED_RUNS = re.compile("[nd](?:g*+[nd])*+")
_RUN_GLUE = frozenset(SEPARATORS + "()~")  # what may stand between the numerals of one number
_DIGITS = "0123456789"
_NUMERAL_CLASS = "[" + "".join(NUMERALS) + "]"
# A numeral beside a digit, separators between allowed (a mixed run may begin there).
_NUMERAL_BESIDE_DIGIT = re.compile(f"[0-9][{re.escape(SEPARATORS)}]*{_NUMERAL_CLASS}"
                                   f"|{_NUMERAL_CLASS}[{re.escape(SEPARATORS)}]*[0-9]")


def _fold_numeral_runs(pieces: list[str]) -> list[tuple[int, int]]:
    """Chinese numerals become digits where NUMERAL_RUN or more of them stand together, or where
    with digits among them they make a run of MIXED_RUN (separators only between them: "(一)136"
    is a list's number and a number); the runs holding a numeral, as spans of `pieces`."""
    kinds = "".join("n" if p in NUMERALS else "d" if p in _DIGITS else "g" if p in SEPARATORS
                    else "s" if p in _RUN_GLUE else "x" for p in pieces)
    runs = [run.span() for run in _NUMERAL_RUNS.finditer(kinds.replace("g", "s"))
            if run.group().count("n") >= NUMERAL_RUN]
    runs += [run.span() for run in _MIXED_RUNS.finditer(kinds)
             if "n" in run.group() and len(run.group().replace("g", "")) >= MIXED_RUN]
    runs = _union(runs)
    for start, end in runs:
        for i in range(start, end):
            if kinds[i] == "n":
                pieces[i] = NUMERALS[pieces[i]]
    return runs


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out
