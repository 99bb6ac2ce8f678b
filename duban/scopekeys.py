"""The regions an org lies in, as the search index keeps them beside each text row.

A reader whose scope is a region (a city's or a county's office: every case whose office or unit
lies there, queries.scope_clauses) asks the index for a word's rows in that region, and the index
answers from the word's entries and the region's together: a common word in a city costs the
city's matches, not the province's (models/search.py). A case's keys are every region its office
and its unit lie in: each dash-prefix of their codes, which is what scope.in_region asks of a
code. Org codes never change (the orgs are keyed by them), so a case's keys change only when its
office or unit does. A leaf: it imports nothing of ours.
"""

from __future__ import annotations

from functools import lru_cache

SQL_FUNCTION = "duban_scope"


def keys(*codes: str | None) -> list[str]:
    """Every region the orgs `codes` lie in: each code's dash-prefixes (GS, GS-LZ, GS-LZ-CG)."""
    out: set[str] = set()
    for code in codes:
        if code:
            parts = code.split("-")
            out.update("-".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(out)


def token(key: str) -> str:
    """SQLite: the index token of a region, "k" and its code in hex (one ASCII word, never a gram's
    token, which is hex digits and "z": duban.grams)."""
    return "k" + key.encode().hex()


@lru_cache(maxsize=4096)
def tokens(*codes: str | None) -> str:
    """SQLite: the tokens of every region the orgs `codes` lie in (the SQL function the index's
    triggers call on every row they write: a case's office and unit are one of a few thousand
    pairs)."""
    return " ".join(token(k) for k in keys(*codes))
