"""The 1- and 2-character pieces of a text, for the search index of short queries.

Chinese users type one or two characters as a word (水, 噪音, 供暖): too short for a trigram index.
A text's unigrams and bigrams answer them exactly: a text contains a 1- or 2-character query
exactly when the query is one of its grams. On SQLite the grams are written, as hex tokens, into
an FTS5 table through the SQL function `duban_grams` that duban.db registers on every connection
(models/search.py); PostgreSQL computes the same grams in SQL for a GIN index.

ASCII letters are folded to lower case and nothing else, as SQLite's LIKE and lower() do. A leaf:
it imports nothing of ours.
"""

from __future__ import annotations

from functools import lru_cache

SQL_FUNCTION = "duban_grams"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# The full-width forms of ASCII (ＱＱ, １３８, ＧＳ－２０２３) and the half-width ones they stand for,
# as the search index holds its documents and reads its queries (models/search.py,
# duban.services.search.words), but for the punctuation Chinese texts write full-width themselves
# (a search for "（保密）" means those brackets); and the invisible characters a text pasted from a
# web page or a chat brings along inside its words (zero-width space, non-joiner and joiner, word
# joiner, byte-order mark, soft hyphen), left out.
NATIVE_WIDE = "！（），：；？～"
WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F) if chr(c) not in NATIVE_WIDE)
NARROW = "".join(chr(ord(c) - 0xFEE0) for c in WIDE)
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
NARROWED = str.maketrans(WIDE, NARROW, INVISIBLE)
NARROW_FUNCTION = "duban_narrow"  # SQLite: `narrow`; PostgreSQL: translate() of WIDE + INVISIBLE


def fold(text: str) -> str:
    """`text` with ASCII letters in lower case (SQLite's lower())."""
    return text.translate(_ASCII_LOWER)


def narrow(text: str | None) -> str | None:
    """`text` with the full-width forms of ASCII in WIDE as half-width, without INVISIBLE."""
    return text.translate(NARROWED) if text else text


def typed_code(text: str | None) -> str:
    """A code (an org's, a case number) as a person types or pastes it: full width folded as the
    index folds it (ＧＳ－ＬＺ is GS-LZ), blanks around it dropped, upper case as codes are given.
    The one way every face reads a typed code: bulk numbers, 改派's unit, a form's org codes."""
    return (narrow(text) or "").strip().upper()


def token(gram: str) -> str:
    """The index token of a 1- or 2-character gram: the code points in hex, joined by "z" (any
    character, one ASCII word the tokenizer keeps whole)."""
    return "z".join(format(ord(c), "x") for c in fold(gram))


class _Hex(dict[str, str]):
    """A character's code point in hex, each worked out once (at most one entry per character)."""

    def __missing__(self, char: str) -> str:
        self[char] = hexed = format(ord(char), "x")
        return hexed


_hex = _Hex().__getitem__


def _pieces(text: str | None) -> set[str]:
    # Every document of every write passes here (the index's triggers): a dict lookup a
    # character and C-level loops, rather than format(ord()) and a Python loop.
    if not text:
        return set()
    points = list(map(_hex, fold(text)))
    pieces = set(points)
    pieces.update(map("z".join, zip(points, points[1:], strict=False)))
    return pieces


@lru_cache(maxsize=64)
def grams(text: str | None, without: str | None = None) -> str:
    """Every distinct unigram and bigram of `text` as tokens, less those of `without` (the raw
    document's index holds only what its redacted twin lacks: mostly a name and a phone). The
    index's delete command must be given the tokens that were inserted: the same set for the
    same texts, in any order. (The last few are kept: a case that moves unindexes and indexes
    each of its rows again, the same documents twice in a row.)"""
    pieces = _pieces(text)
    if without:
        pieces -= _pieces(without)
    return " ".join(pieces)
