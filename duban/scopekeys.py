"""What the search index keeps beside each text row: its case's regions, and (migration 0035) its
category, channel and month of receipt, and (0043) whether it has a deadline, and (0047) whether it
is finished.

A reader whose scope is a region (a city's or a county's office: every case whose office or unit
lies there, queries.scope_clauses) asks the index for a word's rows in that region, and the index
answers from the word's entries and the region's together: a common word in a city costs the
city's matches, not the province's (models/search.py). A list filtered by a category, a channel
or a few months of receipt asks the same way: 水 among the water cases costs the water cases'
matches, not every case's. A case's keys are every region its office and its unit lie in (each
dash-prefix of their codes, which is what scope.in_region asks of a code) and its category's,
channel's and month's. Org codes never change (the orgs are keyed by them), so a case's keys
change only when one of those columns does. A case without a deadline (neither a running one nor
one missed before a raise) shows no colour whatever the calendar says: a list of no colour
counts those of a word's matches by their key, and colours only those with one
(duban.services.reading). A list of one state, or of the open cases, asks for the rows of the
cases on its side of finished (closed or not accepted: states.definition.FINISHED_STATES, which
the callers pass as a yes or no): the province's transferred cases with a common word read the
open cases' matches, not the closed ones' too. A case crosses that line when it is closed, not
accepted, reinstated or reopened, and each of those also ends or starts a time limit, which
rewrites its rows' keys already (the deadline's key). A leaf: it imports nothing of ours.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

SQL_FUNCTION = "duban_scope"
# A key that is not a region is its kind and its value: an org code has no "=".
_CATEGORY, _CHANNEL, _MONTH = "category=", "channel=", "month="
# A case without a deadline holds the first, one with a deadline the second: together they part
# a word's rows in two, each read once.
UNDATED, DATED = "deadline=none", "deadline=set"
# A finished case holds the first, any other the second.
FINISHED, OPEN = "state=finished", "state=open"


def keys(*codes: str | None) -> list[str]:
    """Every region the orgs `codes` lie in: each code's dash-prefixes (GS, GS-LZ, GS-LZ-CG)."""
    out: set[str] = set()
    for code in codes:
        if code:
            parts = code.split("-")
            out.update("-".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(out)


def case_keys(office: str | None, unit: str | None, category: str | None, channel: str | None,
              month: str | None, undated: bool | None = None, finished: bool | None = None) -> list[str]:
    """Every key of a case: its regions (`keys`), then its category's, channel's and month's
    (`month`: YYYYMM of its receipt in Asia/Shanghai, as the triggers work it out), and UNDATED
    when it has no deadline, else DATED (`undated` None: neither, as before migration 0043), and
    FINISHED when it is finished, else OPEN (`finished` None: neither, as before 0047)."""
    named = [category_key(category) if category else None, channel_key(channel) if channel else None,
             _MONTH + month if month else None, None if undated is None else UNDATED if undated else DATED,
             None if finished is None else FINISHED if finished else OPEN]
    return keys(office, unit) + [k for k in named if k]


def category_key(category: str) -> str:
    return _CATEGORY + category


def channel_key(channel: str) -> str:
    return _CHANNEL + channel


def month_keys(first: dt.date, last: dt.date) -> list[str]:
    """The keys of every month from `first`'s to `last`'s, both included."""
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{_MONTH}{year:04d}{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def token(key: str) -> str:
    """SQLite: the index token of a key, "k" and the key in hex (one ASCII word, never a gram's
    token, which is hex digits and "z": duban.grams)."""
    return "k" + key.encode().hex()


@lru_cache(maxsize=4096)
def tokens(*codes: str | None) -> str:
    """SQLite: the tokens of every region the orgs `codes` lie in (the SQL function the triggers
    of migrations 0030 to 0034 call on every row they write: a case's office and unit are one of
    a few thousand pairs)."""
    return " ".join(token(k) for k in keys(*codes))


@lru_cache(maxsize=16384)
def case_tokens(office: str | None, unit: str | None, category: str | None, channel: str | None,
                month: str | None, undated: int | None = None, finished: int | None = None) -> str:
    """SQLite: the tokens of every key of a case (`case_keys`): the SQL function the index's
    triggers call on every row they write, with seven arguments (five before migration 0043, six
    before 0047: `undated` and `finished` are SQLite's 1 or 0)."""
    dated = None if undated is None else bool(undated)
    ended = None if finished is None else bool(finished)
    return " ".join(token(k) for k in case_keys(office, unit, category, channel, month, dated, ended))
