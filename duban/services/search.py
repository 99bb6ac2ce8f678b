"""What a person asks of a case list: one filter model for the API, the pages and the CLI, and the
text search over the index of models/search.py.

`CaseQuery` is parsed the same way from every face: the API's query parameters, the list page's
form and the CLI's options all arrive as a mapping of names to strings (`CaseQuery.parse`), and
`to_params` writes it back (links, page numbers, saved filters). `narrow` turns it into the
reader's scope narrowed, never widened (`queries.CaseFilter`).

Search: a query of three characters or more is looked up in the trigram index (SQLite FTS5,
PostgreSQL pg_trgm); a shorter one (one or two Chinese characters are a word) in the index of the
same documents' unigrams and bigrams (duban.grams), where it is one token (`text_match`). Everyone
searches `open_text` (redacted); `raw_text` (raw texts, the complainant's name and phone) only for
the cases whose identity the reader may see.

A query is read as people type it (`words`): full-width letters and digits as half-width, pasted
invisible characters left out, words apart or quoted phrases each of which the case must hold (the
longest looked up in the index, each other one tested of the cases it finds; PostgreSQL's index
finds the rows holding them all: `matched_driven`), a control character refused.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy import column as sql_column
from sqlmodel import col

from duban import grams, phones, scopekeys
from duban.config.policy import get_labels
from duban.errors import InvalidActionInput
from duban.models import Case, Subject
from duban.models.base import UTCDateTime
from duban.models.search import CASE_SHIFT, EITHER_TEXT, GRAMS_TABLE, SEAM, SEARCH_TABLE
from duban.services.directory import OrgDirectory, OrgInfo
from duban.services.queries import CaseFilter
from duban.states.definition import FINISHED_STATES, CaseState

TRIGRAM = 3  # the shortest query the trigram index can look up
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Totals are counted exactly up to here; a list larger says "10000+" (a count of a million rows is
# work no reader needs, and the cost would grow with the table).
COUNT_CAP = 10_000
# A word found in more cases than this is paged by reading the cases in order and keeping its
# matches (`text_probe`), rather than by sorting every match.
WALK_ABOVE = COUNT_CAP

# Sortable columns: the name a face passes (`sort=received` or `sort=-received`) and its column.
SORTS: dict[str, Any] = {
    "number": col(Case.number),
    "received": col(Case.received_at),
    "deadline": col(Case.deadline_on),
    "state": col(Case.state),
    "priority": col(Case.priority_rank),
}

_CHOICES = {"state": "states", "disposition": "dispositions", "level": "levels", "warning": "warnings",
            "priority": "priorities", "category": "categories", "channel": "channels"}
_FLAGS = ("overdue", "open_only", "unsigned", "return_pending")
# Free-text and choice fields: trimmed, blank read as not given. Dates, numbers and flags are
# parsed as they are, so a blank one is refused over the API as its schema says; the list page's
# form sends blanks for what it leaves empty, and `parse` drops those first.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXTS = ("text", *_CHOICES, "unit", "subject", "sort")


class CaseQuery(BaseModel):
    """The filters, sort and page of a case list, as a person asks for them."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    text: str | None = Field(default=None, max_length=100, description="关键词：编号、标题、摘要、报告和备注")
    state: str | None = None
    disposition: str | None = None
    level: str | None = None
    warning: str | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    received_from: dt.date | None = Field(default=None, description="受理日期起（含）")
    received_to: dt.date | None = Field(default=None, description="受理日期止（含）")
    unit: str | None = Field(default=None, max_length=80, description="承办单位：名称或编码")
    subject: str | None = Field(default=None, max_length=120, description="被反映单位：名称")
    overdue: bool = False
    open_only: bool = Field(default=False, alias="open")
    unsigned: bool = False
    return_pending: bool = False
    sort: str | None = Field(default=None, description="number, received, deadline, state, priority; "
                                                        "a leading - sorts descending")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    # Rows by count rather than by page (the API's older paging): they win over page and per_page.
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0, le=1_000_000)

    @field_validator(*_TEXTS, mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("text", mode="after")
    @classmethod
    def _words(cls, value: str | None) -> str | None:
        """The words as `words` reads them, written back as one text (a phrase of several in
        quotes): what the list searched for is what its form and its links show."""
        if value is None:
            return None
        try:
            found = words(value)
        except InvalidActionInput as exc:
            raise PydanticCustomError(exc.kind, exc.message, exc.limits) from exc
        return " ".join(f'"{w}"' if " " in w else w for w in found) or None

    @field_validator(*_CHOICES, mode="after")
    @classmethod
    def _known(cls, value: str | None, info: Any) -> str | None:
        if value is not None and value not in getattr(get_labels(), _CHOICES[info.field_name]):
            raise ValueError("unknown choice")
        return value

    @field_validator("sort", mode="after")
    @classmethod
    def _sortable(cls, value: str | None) -> str | None:
        if value is not None and value.removeprefix("-") not in SORTS:
            raise ValueError("unknown sort column")
        return value

    @field_validator("received_from", "received_to", mode="before")
    @classmethod
    def _iso_day(cls, value: Any) -> Any:
        """A day as YYYY-MM-DD only: pydantic would also read a number as a Unix time."""
        if isinstance(value, str) and not _DAY.fullmatch(value.strip()):
            raise ValueError("a day as YYYY-MM-DD")
        return value.strip() if isinstance(value, str) else value

    @field_validator(*_FLAGS, mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        """Not given is off; anything else is parsed as a boolean (1/0, true/false, on/off, yes/no),
        and what is none of these is refused, never read as "off"."""
        return False if value is None else value

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> CaseQuery:
        """The query from a mapping of strings (query string, form, CLI options); a bad value is
        `InvalidActionInput` naming its field."""
        try:
            return cls.model_validate({k: v for k, v in params.items()
                                       if v is not None and not (isinstance(v, str) and not v.strip())})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "query"
            raise InvalidActionInput(action="list", field=field, kind=first["type"],
                                     message=f"{field}: {first['msg']}",
                                     limits=first.get("ctx")) from exc

    def to_params(self, **change: Any) -> dict[str, str]:
        """The query as the list page's address writes it (only what differs from the default)."""
        out: dict[str, str] = {}
        for name, value in {**self.model_dump(by_alias=True), **change}.items():
            default = type(self).model_fields[name if name != "open" else "open_only"].default
            if value is None or value == default or value is False:
                continue
            out[name] = "1" if value is True else str(value)
        return out

    @property
    def rows(self) -> tuple[int, int]:
        """(limit, offset) of the page asked for."""
        limit = self.limit or self.per_page
        return limit, self.offset if self.offset is not None else (self.page - 1) * limit


def orgs_named(orgs: OrgDirectory, typed: str) -> list[OrgInfo]:
    """The orgs a person means by a name or a code: the code, else every org of that exact name.

    Read from the directory as loaded: a filter is typed by anyone signed in, and a name or code
    that is no org must not make every request reload the orgs (`by_code` would)."""
    known = orgs.all()
    return [o for o in known if o.code == typed] or [o for o in known if o.name == typed]


def narrow(flt: CaseFilter, query: CaseQuery, orgs: OrgDirectory) -> CaseFilter:
    """The reader's scope `flt` narrowed by `query` (a unit asking for another's cases gets none)."""
    for name in ("state", "disposition", "level", "warning", "priority", "text"):
        setattr(flt, name, getattr(query, name))
    flt.overdue = True if query.overdue else None
    flt.open_only, flt.unsigned, flt.return_pending = query.open_only, query.unsigned, query.return_pending
    extra = flt.extra
    extra.update(category=query.category, channel=query.channel, received_from=query.received_from,
                 received_to=query.received_to, sort=query.sort)
    if query.unit:
        ids = [o.id for o in orgs_named(orgs, query.unit)]
        if not ids:
            raise InvalidActionInput(action="lookup", field="unit", kind="unknown_org_name",
                                     message="no office or unit has this name or code")
        if flt.unit_id is not None:  # a unit's scope: its own cases, or none
            ids = [i for i in ids if i == flt.unit_id]
        extra["unit_ids"] = ids or [-1]
    if query.subject:
        extra["subject"] = query.subject
        extra["subject_orgs"] = [o.id for o in orgs_named(orgs, query.subject)]
    flt.limit, flt.offset = query.rows
    return flt


def filter_clauses(flt: CaseFilter, today: dt.date, *, walked: bool = False) -> list[Any]:
    """Where-clauses of the filters `narrow` put in `flt.extra`. `walked` (SQLite, a list read by
    walking the work order, `UNINDEXED_WALK`): the receipt dates compared as `+received_at`, the
    same value, which no index answers, so that the planner walks the order rather than read the
    whole range by its receipt-time index and sort it (the province's 水 in six months, page 1:
    309 ms)."""
    extra, out = flt.extra, []
    received: Any = col(Case.received_at)
    if walked:
        received = type_coerce(literal_column(f"+{Case.__tablename__}.received_at"), UTCDateTime)
    if extra.get("category"):
        out.append(col(Case.category) == extra["category"])
    if extra.get("channel"):
        out.append(col(Case.channel) == extra["channel"])
    start, end = extra.get("received_from"), extra.get("received_to")
    if start:  # a date is a day in Asia/Shanghai (UTC+8, no summer time)
        out.append(received >= _shanghai_midnight(start))
    if end:
        out.append(received < _shanghai_midnight(end + dt.timedelta(days=1)))
    if extra.get("unit_ids") is not None:
        out.append(col(Case.unit_id).in_(extra["unit_ids"]))
    if extra.get("subject"):
        named = col(Subject.name) == extra["subject"]
        if extra.get("subject_orgs"):
            named = named | col(Subject.org_id).in_(extra["subject_orgs"])
        out.append(col(Case.subject_id).in_(select(col(Subject.id)).where(named)))
    return out


def narrowing(flt: CaseFilter, *, dates: bool = True) -> bool:
    """Whether a filter that may leave few cases is set: a complained-about unit, a handling unit,
    or (`dates`) a date range. (A category or a channel never does: each is one of a few large
    parts.)"""
    extra = flt.extra
    named = bool(extra.get("subject") or extra.get("unit_ids") is not None)
    return named or (dates and _dated(flt))


def bunched(flt: CaseFilter) -> bool:
    """Whether a filter keeps cases that lie bunched in the work order, not spread through it: a
    date range (a case's deadline follows its receipt: a recent range's cases lie late in it), a
    colour or lateness (by how far its deadline is)."""
    return _dated(flt) or bool(flt.warning) or flt.overdue is not None


def _dated(flt: CaseFilter) -> bool:
    """Whether the filter keeps a range of days of receipt."""
    return bool(flt.extra.get("received_from") or flt.extra.get("received_to"))


def _shanghai_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.timezone(dt.timedelta(hours=8))).astimezone(dt.UTC)


# The work order's first key, written as the work-order index has it (models/case.py: 'closed' a
# literal, not a parameter), or no database would see that the index serves it.
CLOSED_KEY = col(Case.state) == literal_column("'closed'")
# Where a list of closed cases in work order is told to start at the order's closed part
# (`state_clauses`). SQLite puts a compared state in place of the column wherever it stands, the
# order's first key too, which is then a constant no index seeks: a closed list's page walked
# every open case first (the biggest city's closed cases with the phrase: 55 ms of its page).
CLOSED_SEEK = frozenset({"sqlite"})


def state_clauses(dialect: str, flt: CaseFilter) -> list[Any]:
    """Where-clauses of a list's state. A closed list in work order where CLOSED_SEEK: the state
    compared as `+state` (the same value, which SQLite does not put in place of the column) and
    the order's first key asked to be at least 1, a range its index seeks."""
    if not flt.state:
        return []
    if flt.state == CaseState.CLOSED and dialect in CLOSED_SEEK and not flt.extra.get("sort"):
        state = type_coerce(literal_column(f"+{Case.__tablename__}.state"), Text)
        return [state == flt.state, CLOSED_KEY >= literal_column("1")]
    return [col(Case.state) == flt.state]


def order_by(flt: CaseFilter) -> list[Any]:
    """The list's order: a whitelisted column (then id), or work order (priority, then deadline);
    it ends with the case's id (reading._walked_page reads it there)."""
    sort = flt.extra.get("sort")
    if not sort:
        return [CLOSED_KEY, col(Case.priority_rank),
                col(Case.deadline_on).is_(None), col(Case.deadline_on), col(Case.id)]
    column = SORTS[sort.removeprefix("-")]
    if sort.startswith("-"):
        return [column.desc(), col(Case.id).desc()]
    return [column, col(Case.id)]


# The work order (`order_by` without a sort) as one number, its terms in bits of their own, so
# that the numbers compare as the order does: from the top, closed and the priority rank (closed
# in the 8th bit above a rank below 128: a rank is a priority's place in config.policy.PRIORITIES,
# which names three and which load_policy holds every policy to), the deadline's day counted
# from 1 January of the year 1 (every date Python can hold: under 2**22 days) or 2**22 without
# one (after every day), the case's id (a 32-bit integer column: under 2**31). A search's matches
# bring it (KEYED_MATCHES) and their page is picked by it, without reading each one's case row to
# sort them. (As few operations as that: each costs every match a little, ten thousand matches
# at the province 2 ms more with a cast and a term apiece.)
KEY_EPOCH = dt.date(1, 1, 1)
_RANKS = 128
_UNDATED_DAY = 2 ** 22
_DAY_SHIFT, _HEAD_SHIFT = 31, 54


def work_order_key() -> Any:
    """The work order as one BIGINT: PostgreSQL (see above)."""
    head = cast(CLOSED_KEY, Integer) * _RANKS + col(Case.priority_rank)
    day = func.coalesce(col(Case.deadline_on) - literal(KEY_EPOCH, Date), _UNDATED_DAY)
    return (cast(head, BigInteger) * literal(2 ** _HEAD_SHIFT, BigInteger)
            + cast(day, BigInteger) * literal(2 ** _DAY_SHIFT, BigInteger) + col(Case.id)).label("order_key")


# What a person types (`words`): the full-width forms of ASCII as the index holds them (grams.WIDE:
# ＱＱ as QQ); every kind of quotation mark as one, which delimits a phrase.
_TYPED = str.maketrans(grams.WIDE + "“”「」『』", grams.NARROW + '"' * 6)
# The most words a query holds: each after the first is tested case by case (`search_clause`).
MAX_WORDS = 5
# SQLite: from how many index rows of a query's first word its other words are asked as lists of
# their own lookups' cases rather than of each case found (`matched_driven`'s `listed`), when
# each of them has at most LISTED_RATIO times as many rows; from LISTED_COMMON, whatever they have
# (reading._listed_words).
LISTED_FROM = 2_000
LISTED_COMMON = 10_000
LISTED_RATIO = 4


@lru_cache(maxsize=256)
def words(typed: str) -> tuple[str, ...]:
    """The words a query asks for, each of which a case must contain: its blank-separated words
    and its quoted phrases ("暖气 不热", “暖气 不热”, 「暖气 不热」), a phone number as the digits
    complainants' phones are stored as (duban.phones: 139 1234 5678), full-width ASCII folded to
    half-width as the index holds its documents (`_TYPED`), composed (NFC), without the invisible
    characters a paste brings along (zero-width spaces, a byte-order mark, soft hyphens: Unicode's
    format characters), the quotes themselves never searched, and without a word another word
    holds (供暖 供: 供暖).

    Raises:
        InvalidActionInput: a control character or broken Unicode (`broken_text`), or more than
            MAX_WORDS words (`too_many_words`)."""
    shown = "".join(c for c in typed if unicodedata.category(c) != "Cf")
    if any(unicodedata.category(c) in ("Cc", "Cs") and not c.isspace() for c in shown):
        raise InvalidActionInput(action="list", field="text", kind="broken_text",
                                 message="a control character or broken unicode")
    typed = unicodedata.normalize("NFC", shown).translate(_TYPED)
    phone = phones.canonical(typed)
    if phone is not None:  # 139 1234 5678, +86-139-1234-5678: one number, as stored
        return (phone,)
    found: list[str] = []
    for i, part in enumerate(typed.split('"')):
        found.extend([" ".join(part.split())] if i % 2 else [phones.stored(w) for w in part.split()])
    folded = [grams.fold(w) for w in found]
    kept = [w for i, w in enumerate(found) if w and not any(
        folded[i] in other and (folded[i] != other or j < i) for j, other in enumerate(folded) if j != i)]
    if len(kept) > MAX_WORDS:
        raise InvalidActionInput(action="list", field="text", kind="too_many_words",
                                 limits={"most": MAX_WORDS}, message=f"at most {MAX_WORDS} words")
    return tuple(kept)


def _lead(typed: str) -> tuple[str, list[str]]:
    return lead(words(typed))


def lead(found: tuple[str, ...]) -> tuple[str, list[str]]:
    """The word of a query's `words` its index lookup is for (the longest: the fewest matches, as
    a rule), and the others, each tested of the cases it finds (`text_probe`)."""
    ordered = sorted(found, key=len, reverse=True)
    return (ordered[0], ordered[1:]) if ordered else ("", [])


def _fts_phrase(typed: str) -> str:
    return '"' + typed.replace('"', '""') + '"'


def short(typed: str) -> bool:
    """Below the trigram length: looked up in the grams' index, where one or two characters (a
    whole word in Chinese: 水, 噪音) are often in a tenth of all cases."""
    return len(typed) < TRIGRAM


def _like_pattern(typed: str) -> str:
    """The ILIKE pattern of a text that contains `typed` (its wildcards escaped)."""
    return "%" + typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# The keys (duban.scopekeys) a search asks of the index's rows beside its word: each group's rows
# hold one of its keys, and every group must hold (a region; a category; a few months). Empty:
# the word's rows, wherever their cases lie.
Keys = tuple[tuple[str, ...], ...]
NO_KEYS: Keys = ()
# A range of receipt dates is asked of the index as its months' keys when it spans at most this
# many months. Measured at 1M cases over three years, a year's keys still spared both databases
# more than they cost (the province's 水 in a year: PostgreSQL 135 → 73 ms); a wider range was
# not measured with them.
MONTH_KEYS = 12


# Where a list of one state, or of the open cases, asks the index for the rows of the cases on its
# side of finished (scopekeys.FINISHED, OPEN: `index_keys`). PostgreSQL's GIN intersects a word's
# rows with a key half the rows hold in a few milliseconds, and a state's list then reads its
# side's matches alone (the province's transferred cases with 噪音 kept two rows in five of every
# state's, three in four of the open cases'). SQLite's FTS5 reads such a key's whole list
# (KEYS_DEAR), which a rare word's lookup would pay for nothing.
STATE_KEYS = frozenset({"postgresql"})


def index_keys(flt: CaseFilter, months: tuple[dt.date, dt.date] | None, dialect: str) -> Keys:
    """The keys a list's search asks of the index's rows: its region's (a city's or a county's
    reader), its category's and channel's, its months' (`months`: the first and last day the
    list's receipt dates can have, when it names a range; `MONTH_KEYS`), and (STATE_KEYS) its side
    of finished (`state_key`). The list's own clauses still decide: the keys only spare the index
    the rows that cannot be in it."""
    extra, groups = flt.extra, list[tuple[str, ...]]()
    if flt.office_prefix:
        groups.append((flt.office_prefix,))
    state = state_key(flt) if dialect in STATE_KEYS else None
    if state is not None:
        groups.append((state,))
    if extra.get("category"):
        groups.append((scopekeys.category_key(extra["category"]),))
    if extra.get("channel"):
        groups.append((scopekeys.channel_key(extra["channel"]),))
    if months is not None:
        spanned = scopekeys.month_keys(*months)
        if 0 < len(spanned) <= MONTH_KEYS:
            groups.append(tuple(spanned))
    return tuple(groups)


def state_key(flt: CaseFilter) -> str | None:
    """The key every case of a list of one state (FINISHED for a finished one, else OPEN) or of
    the open cases holds (scopekeys), or None."""
    if flt.state:
        return scopekeys.FINISHED if flt.state in FINISHED_STATES else scopekeys.OPEN
    return scopekeys.OPEN if flt.open_only else None


# Where a streamed search's range of more than MONTH_KEYS months is read MONTH_KEYS months at a
# time, newest first (`index_passes`): PostgreSQL's bitmaps read a word's rows in the table's
# order, so one pass over the whole range reads and refuses the older cases' matches before
# the cap is reached; SQLite's FTS5 reads its rowids newest first (`matched_driven`).
MONTH_PASSES = frozenset({"postgresql"})


def index_passes(dialect: str, flt: CaseFilter, months: tuple[dt.date, dt.date] | None) -> list[Keys]:
    """The keys of each pass a streamed search (`matched_driven`) reads the index in, in order:
    `index_keys` in one pass, or on a database in MONTH_PASSES a range of more than MONTH_KEYS
    months in passes of MONTH_KEYS months' keys each, newest first, so that a common word's
    count is reached within the newest months. Together the passes read every row one pass would."""
    keys = index_keys(flt, months, dialect)
    spanned = scopekeys.month_keys(*months) if months is not None else []
    if dialect not in MONTH_PASSES or len(spanned) <= MONTH_KEYS:
        return [keys]
    newest = spanned[::-1]
    return [(*keys, tuple(newest[i:i + MONTH_KEYS])) for i in range(0, len(newest), MONTH_KEYS)]


def _pg_keys(keys: Keys, key: str) -> tuple[str, dict[str, str]]:
    """PostgreSQL: the condition that a row's scope holds `keys`, and its parameters: the groups
    of one key in one `@>`, each other group an `&&` (the grams' GIN index, which holds the
    scope, answers both)."""
    single = [group[0] for group in keys if len(group) == 1]
    params = {f"a{i}_{key}": k for i, k in enumerate(single)}
    conditions = []
    if single:
        held = ", ".join(f"CAST(:a{i}_{key} AS text)" for i in range(len(single)))
        conditions.append(f"scope @> ARRAY[{held}]")
    for g, group in enumerate(group for group in keys if len(group) > 1):
        params |= {f"o{g}_{i}_{key}": k for i, k in enumerate(group)}
        some = ", ".join(f"CAST(:o{g}_{i}_{key} AS text)" for i in range(len(group)))
        conditions.append(f"scope && ARRAY[{some}]")
    return " AND ".join(conditions), params


def _fts_keys(keys: Keys) -> str:
    """SQLite: the FTS5 query that a row's scope holds `keys` (each group an OR of its tokens)."""
    return " AND ".join("scope : (" + " OR ".join(f'"{scopekeys.token(k)}"' for k in group) + ")"
                        for group in keys)


def _pg_condition(*typed: str, raw: bool, key: str, keys: Keys = NO_KEYS,
                  children: bool = False) -> tuple[str, dict[str, str]]:
    """PostgreSQL: the condition on a `case_search` row that one of its documents contains `typed`
    (a word; several: the row's documents hold each), as an index answers it, and its parameters;
    with `keys`, only the rows of the cases that hold them (a region, a category:
    duban.scopekeys), which the grams' index answers together with the word: for a word of three
    characters or more, with the bigrams that cover it (`_cover`), and the rows found then
    compared whole (outside any index: the planner, told of the trigram index too, would read both
    and intersect them, the slower by far). Several words are the grams' index's too, which finds
    the rows holding all of their grams in one scan; `children`: among the rows of a case's
    reports, reviews and callbacks alone (kind > 0), which their own indexes hold.

    Either document (`raw`) is one indexed expression, the two joined by a control character
    (models/search.py EITHER_TEXT): one scan of one index rather than one of each document's and
    their union. A word without that character is in the joined text exactly when it is in one of
    the two; a word with it is compared with each document."""
    document = EITHER_TEXT if raw else "open_text"
    patterns = {f"p{i}_{key}": _like_pattern(word) for i, word in enumerate(typed)}
    params: dict[str, str] = {}
    if len(typed) > 1 or short(typed[0]) or keys or children:
        # GIN over `case_search_grams(document)`, the expression written exactly as indexed: a
        # word below the trigram length is one of its grams, a longer one holds its cover's.
        pieces = sorted({piece for word in typed for piece in _held_grams(word)})
        params |= {f"g{i}_{key}": piece for i, piece in enumerate(pieces)}
        holds = ", ".join(f"lower(CAST(:g{i}_{key} AS text))" for i in range(len(pieces)))
        found, exact = f"{GRAMS_TABLE}({document}) @> ARRAY[{holds}]", [short(word) for word in typed]
    else:  # the trigram index, which answers LIKE as it answers ILIKE
        found, exact = f"{document} {_pg_like(typed[0])} :p0_{key}", [True]
        params |= patterns
    if keys:
        held, named = _pg_keys(keys, key)
        found += f" AND {held}"
        params |= named
    if children:
        found += " AND kind > 0"
    # After the index's condition, not merged into it (IS TRUE), or a row would work it out again.
    # A word with the seam: only the documents, each alone, can tell.
    compared = {i: " OR ".join(f"{c} {_pg_like(word)} :p{i}_{key}"
                               for c in (("open_text", "raw_text") if raw and SEAM in word else (document,)))
                for i, word in enumerate(typed) if not exact[i] or (raw and SEAM in word)}
    if not compared:
        return f"({found})", params
    return (f"({found}) AND " + " AND ".join(f"({c}) IS TRUE" for c in compared.values()),
            params | {f"p{i}_{key}": patterns[f"p{i}_{key}"] for i in compared})


def _by_bigrams(dialect: str, typed: str, keys: Keys) -> bool:
    """SQLite: whether the rows of the cases holding `keys` that may hold a word of three
    characters or more are found by its bigrams in the grams' index, which knows the keys, rather
    than by the trigram index, which does not (a common word's rows in the whole province, each
    asked of the region, cost a city more than its own). Not for a word with a non-ASCII letter
    that has a case (É, Ж): the grams fold ASCII letters only, the trigram tokenizer every
    letter. A row found holds every bigram, not necessarily the word: `text_match` then tests
    each case found."""
    return (dialect == "sqlite" and bool(keys) and not short(typed)
            and _uncased("".join(c for c in typed if not c.isascii())))


def _held_grams(typed: str) -> list[str]:
    """The grams a row holds when one of its documents holds `typed`, as the grams' index is
    asked: a word below the trigram length is one of them, a longer one holds its cover's."""
    return [typed] if short(typed) else _cover(typed)


def _cover(typed: str) -> list[str]:
    """The bigrams that cover a word of two characters or more, side by side (the last one
    overlapping when its length is odd): every character in one, and half the tokens to read of
    all its bigrams, whose lists in the index are each as long as a common word's."""
    pairs = [typed[i:i + 2] for i in range(0, len(typed) - 1, 2)]
    return sorted({*pairs, typed[-2:]})


def _hits(dialect: str, typed: str, *, raw: bool, keys: Keys = NO_KEYS, newest_first: bool = False) -> Any:
    """SELECT the case id of every index row one of whose redacted documents (raw=False) or of
    either kind (raw=True) contains `typed`, as the index answers it; with `keys`, only the rows
    of the cases that hold them (SQLite, a word of three characters or more: the rows that hold
    its bigrams, `_by_bigrams`). `newest_first` (SQLite): the newest cases'
    rows first (FTS5 walks its rowids backwards at no cost)."""
    # A name of its own per document: one statement may hold two of these clauses.
    key = "any" if raw else "open"
    if dialect != "sqlite":
        where, params = _pg_condition(typed, raw=raw, key=key, keys=keys)
        hits = text(f"SELECT case_id AS id FROM {SEARCH_TABLE} WHERE {where}").bindparams(
            *[_unique(name, value) for name, value in params.items()])
    elif short(typed) or _by_bigrams(dialect, typed, keys):
        # The index of each document's unigrams and bigrams (duban.grams, SQLite's FTS5
        # `case_search_grams`): a query below the trigram length is one of its tokens, a longer
        # one the bigrams that cover it (`_cover`); a key is one more token (duban.scopekeys),
        # which FTS5 intersects with them.
        pieces = _held_grams(typed)
        columns = "{open_grams raw_grams}" if raw else "open_grams"
        query = f"{columns} : (" + " AND ".join(f'"{grams.token(p)}"' for p in pieces) + ")"
        if keys:
            query += f" AND {_fts_keys(keys)}"
        hits = text(f"SELECT rowid >> {CASE_SHIFT} AS id FROM {GRAMS_TABLE} "
                    f"WHERE {GRAMS_TABLE} MATCH :g_{key}{_NEWEST if newest_first else ''}"
                    ).bindparams(_unique(f"g_{key}", query))
    else:
        scope = "" if raw else "open_text : "
        hits = text(f"SELECT rowid >> {CASE_SHIFT} AS id FROM {SEARCH_TABLE} "
                    f"WHERE {SEARCH_TABLE} MATCH :m_{key}{_NEWEST if newest_first else ''}"
                    ).bindparams(_unique(f"m_{key}", f"{scope}{_fts_phrase(typed)}"))
    return hits.columns(sql_column("id", Integer))


_NEWEST = " ORDER BY rowid DESC"  # SQLite FTS5: its rowids (a case's id in the high bits) backwards


def text_match(dialect: str, typed: str, *, raw: bool, keys: Keys = NO_KEYS) -> Any:
    """Where-clause: one of the case's redacted documents (raw=False) or of either kind (raw=True)
    contains `typed` (a document per text source: models/search.py; SQLite's rowid names the
    case). (Never the raw ones alone: SQLite's grams index holds only what a raw document adds to
    its redacted twin.) `keys`: the keys every case of the list holds (`index_keys`, `_hits`)."""
    found = col(Case.id).in_(_hits(dialect, typed, raw=raw, keys=keys))
    if _by_bigrams(dialect, typed, keys):  # its cases hold the word's bigrams: do they hold the word?
        return and_(found, text_probe(dialect, typed, raw=raw))
    return found


def index_rows(dialect: str, typed: str, *, raw: bool, limit: int) -> Any:
    """SELECT count(*) of at most `limit` index rows that `text_match` finds, in the whole index
    (a scope that is no region): how much looking a word up costs, stopped as soon as it is known
    to cost more than `limit`. (Of a query of several words, its first's: `_lead`.)"""
    rows = _hits(dialect, _lead(typed)[0], raw=raw).subquery()
    limited = select(literal_column("id", Integer)).select_from(rows).limit(limit).subquery()
    return select(func.count()).select_from(limited)


def text_probe(dialect: str, typed: str, *, raw: bool) -> Any:
    """Where-clause answering what `text_match` answers, asked of each case a plan reads rather than
    looked up first: for a common word, whose page is found sooner by reading the cases in order and
    keeping those that match than by sorting every match, and for a reader whose scope holds fewer
    cases than the word has matches.

    The case's rows are read by their key and their texts compared, in a subquery the database
    runs per case (on PostgreSQL OFFSET 0 keeps it from making it a join, which would find every
    match first). PostgreSQL compares by ILIKE, as the trigram index's recheck does (for one or
    two characters the same as holding the gram), or by LIKE where no character of the word has
    a case (the same answer, at two thirds the cost). SQLite reads the index's own stored documents (a
    case's rows are one range of rowids) and compares by LIKE, which folds ASCII letters as the
    grams and the trigram tokenizer do; a text with another letter that has a case (É, Ж),
    which the trigram tokenizer folds and LIKE does not, is matched by the index per case."""
    key = "probe_any" if raw else "probe_open"
    columns = ["open_text", "raw_text"] if raw else ["open_text"]
    if dialect != "sqlite":
        where = " OR ".join(f"probed.{c} {_pg_like(typed)} :{key}" for c in columns)
        return text(f"EXISTS (SELECT 1 FROM {SEARCH_TABLE} probed WHERE probed.case_id = cases.id "
                    f"AND ({where}) OFFSET 0)").bindparams(_unique(key, _like_pattern(typed)))
    rows = (f"probed.rowid BETWEEN cases.id << {CASE_SHIFT} "
            f"AND (cases.id << {CASE_SHIFT}) + {(1 << CASE_SHIFT) - 1}")
    if short(typed) or _uncased("".join(c for c in typed if not c.isascii())):
        where = " OR ".join(f"probed.{c} LIKE :{key} ESCAPE '\\'" for c in columns)
        value = _like_pattern(typed)
    else:
        where = f"probed.{SEARCH_TABLE} MATCH :{key}"
        value = ("" if raw else "open_text : ") + _fts_phrase(typed)
    return text(f"EXISTS (SELECT 1 FROM {SEARCH_TABLE} probed WHERE {rows} AND ({where}))"
                ).bindparams(_unique(key, value))


def _unique(key: str, value: str) -> Any:
    """A parameter named apart from any other of its name in the statement: a query of several
    words asks a probe of each (`search_clause`)."""
    return bindparam(key, value, unique=True)


def _pg_like(typed: str) -> str:
    """PostgreSQL: the operator that compares a text with `typed` as ILIKE does: LIKE where no
    character of it has a case (the same answer, at two thirds the cost)."""
    return "LIKE" if _uncased(typed) else "ILIKE"


def _uncased(typed: str) -> bool:
    """Whether no character of `typed` has a case (Chinese, digits, punctuation)."""
    return all(c.lower() == c.upper() for c in typed)


def matched_driven(dialect: str, typed: str, *, identity_region: Any | None, scoped: Any,
                   keys: Keys = NO_KEYS, newest_first: bool = False, columns: tuple[Any, ...] = (),
                   listed: bool = False, keyed: bool = False) -> Any:
    """SELECT the ids of the cases of `scoped` (the list's statement without its text search) one
    of whose rows matches, or `columns` of the case's row, driven by the index's matches (`keys`:
    those of the cases that hold them: a region's, a category's),
    each asked of `scoped` by its case's id: in no order, a case once per row that matches, as
    they are found, so that a reader may stop when it has seen enough. It costs the rows read,
    whatever a planner would guess of the scope and the word. (Written as `id IN (the word's
    rows)`, SQLite reads every match into a list before the first case: a common phrase's
    250,000 at the province.) `newest_first`, for a list of the cases received since a day:
    SQLite reads the newest cases' rows first (a case's id grows with its receipt), and passes
    none of the older cases' matches before the list's own (the phrase since 2022 at the
    province: 125 → 47 ms). Only then: FTS5 reads a query of several tokens backwards at about a
    quarter more. PostgreSQL's bitmap has no order to choose.

    `keyed` (PostgreSQL: KEYED_MATCHES): each match's `id` with its place in the work order
    (`order_key`, `work_order_key`), from the same question of the list.

    A query of several words: PostgreSQL finds the rows that show a case holds them all by its
    indexes (`_pg_held_apart`). SQLite's matches are its first's (`_lead`), each asked of the
    others as well, by testing the case's texts (`text_probe`); `listed` (SQLite, a lead of many
    matches: `LISTED_FROM`): by the case ids each other word's own lookup finds, read once into
    a list and asked of each match before its case is (two common words at the province of
    200,000 cases: 448 → 77 ms; a rare lead tests its few cases for less than a common word's
    whole lookup)."""
    raw = identity_region is not None
    typed, others = _lead(typed)
    listed = listed and dialect == "sqlite"
    if others and dialect == "sqlite" and not listed:
        scoped = scoped.where(*[search_clause(dialect, w, identity_region=identity_region, probe=True)
                                for w in others])
    elif others and dialect == "sqlite" and identity_region is not None:  # a raw match counts inside it only
        scoped = scoped.where(*[or_(identity_region, text_probe(dialect, w, raw=False)) for w in others])
    if dialect == "sqlite":
        hit = _hits(dialect, typed, raw=raw, keys=keys, newest_first=newest_first).subquery("hit")
        in_scope = _asked(scoped, hit.c.id)
        if identity_region is not None:  # outside the identity region, by the redacted texts alone
            in_scope = in_scope.where(or_(identity_region, text_probe(dialect, typed, raw=False)))
        if _by_bigrams(dialect, typed, keys):  # the rows hold the word's bigrams: the word?
            in_scope = in_scope.where(text_probe(dialect, typed, raw=raw))
        # the lead's matches the other words' lookups also find, before any case is asked
        held = [hit.c.id.in_(_hits(dialect, w, raw=raw)) for w in others] if listed else []
        if not columns:
            return select(hit.c.id).where(*held, in_scope.exists())
        # the case's columns, as it is asked
        return in_scope.with_only_columns(*columns).select_from(hit).where(*held)
    assert not columns, "PostgreSQL's matches bring ids alone (ROWS_DRIVEN)"
    if others:
        statement, params = _pg_held_apart((typed, *others), raw=raw, keys=keys)
        row = (text(statement).bindparams(**params)
               .columns(sql_column("case_id", Integer), sql_column("opened", Boolean)).subquery("hit"))
        in_scope = _asked(scoped, row.c.case_id).offset(0)
        if identity_region is not None:  # outside it, every word in the redacted texts
            probed = and_(*[text_probe(dialect, w, raw=False) for w in (typed, *others)])
            in_scope = in_scope.where(or_(identity_region, row.c.opened, probed))
        return _pg_asked(row.c.case_id, in_scope, keyed=keyed)
    where, params = _pg_condition(typed, raw=raw, key="hit_any", keys=keys)
    row = (text(f"SELECT case_id, open_text FROM {SEARCH_TABLE} WHERE {where}").bindparams(**params)
           .columns(sql_column("case_id", Integer), sql_column("open_text", Text)).subquery("hit"))
    in_scope = _asked(scoped, row.c.case_id).offset(0)  # OFFSET 0: asked per row, never joined
    if identity_region is not None:
        # outside the identity region, by the redacted text, compared as text_probe compares
        # (what the indexes answer, without working out the row's grams again)
        opened = text(f"hit.open_text {_pg_like(typed)} :hit_open").bindparams(hit_open=_like_pattern(typed))
        in_scope = in_scope.where(or_(identity_region, opened))
    return _pg_asked(row.c.case_id, in_scope, keyed=keyed)


def _pg_asked(case_id: Any, in_scope: Any, *, keyed: bool) -> Any:
    """PostgreSQL: SELECT the index rows' `case_id` that `in_scope` (the list asked of one case)
    keeps; `keyed`: as `id`, with each one's place in the work order (`order_key`), which the
    list's question answers from the same index row (a value where EXISTS said yes; fenced by
    OFFSET 0, so that it is asked once a row)."""
    if not keyed:
        return select(case_id).where(in_scope.exists())
    placed = in_scope.with_only_columns(work_order_key(), maintain_column_froms=True).scalar_subquery()
    found = select(case_id.label("id"), placed.label("order_key")).offset(0).subquery("found")
    return select(found.c.id, found.c.order_key).where(found.c.order_key.is_not(None))


def _pg_held_apart(typed: tuple[str, ...], *, raw: bool, keys: Keys) -> tuple[str, dict[str, str]]:
    """PostgreSQL: SELECT case_id of the index rows (of the cases that hold `keys`) that show their
    case holds every word of `typed`, and its parameters: first the rows that hold them all, which
    the grams' index finds by intersecting all their grams; then, for each word, the rows of
    reports, reviews and callbacks that hold it (their own index: models/search.py) whose case
    holds the others (`_held_beside`). Every case holding the words has a row of the first kind,
    or a word in no case's own row, so in one of the others. A case comes once per row found,
    with `opened`: whether the row's redacted document holds every word (`raw`: a reader who may
    see identity, outside the cases where they may, finds only what those documents hold).

    (The longest word's matches each tested for the others: the phrase and 水 in the biggest city
    of a million, 42,000 matches read for its 4,701 cases, 320 ms; their rows holding both are
    found by the index itself.)"""
    params = {f"beside{i}": _like_pattern(word) for i, word in enumerate(typed)}
    where, named = _pg_condition(*typed, raw=raw, key="all", keys=keys)
    opened = " AND ".join(f"open_text {_pg_like(word)} :beside{i}" for i, word in enumerate(typed))
    parts = [(where, opened if raw else "true")]
    params |= named
    for i, word in enumerate(typed):
        where, named = _pg_condition(word, raw=raw, key=f"child{i}", keys=keys, children=True)
        rest = " AND ".join(f"({_held_beside(other, raw=raw, param=f'beside{j}')})"
                            for j, other in enumerate(typed) if j != i)
        parts.append((f"{where} AND {rest}", "false"))
        params |= named
    # OFFSET 0: each part's rows found and tested before their case's row is read
    statement = " UNION ALL ".join(f"(SELECT case_id, {held} AS opened FROM {SEARCH_TABLE} hit WHERE {where} "
                                   "OFFSET 0)" for where, held in parts)
    return statement, params


def _held_beside(typed: str, *, raw: bool, param: str) -> str:
    """PostgreSQL: the condition that the case of the index row `hit` (a report's, review's or
    callback's) holds `typed` (whose LIKE pattern is the parameter `param`) in the documents a
    reader searches: in that row, read with it, else in another of the case's rows, found by the
    two sides of the row's key (case_id, kind, source_id) in its index."""
    like = _pg_like(typed)
    columns = ("open_text", "raw_text") if raw else ("open_text",)
    held = [" OR ".join(f"{row}.{c} {like} :{param}" for c in columns) for row in ("hit", "probed")]
    others = [f"EXISTS (SELECT 1 FROM {SEARCH_TABLE} probed WHERE probed.case_id = hit.case_id AND "
              f"(probed.kind, probed.source_id) {side} (hit.kind, hit.source_id) AND ({held[1]}))"
              for side in ("<", ">")]
    return " OR ".join([held[0], *others])


def _asked(scoped: Any, case_id: Any) -> Any:
    """`scoped` asked of one case, by its id."""
    return scoped.with_only_columns(literal_column("1"), maintain_column_froms=True).where(
        col(Case.id) == case_id).order_by(None)


# The databases whose planner's estimate of a word's index rows is asked before counting them
# (reading._tested_case_by_case): PostgreSQL keeps statistics of the grams' index.
ESTIMATED = frozenset({"postgresql"})
# A scope of at most this many cases is searched by testing each of its cases when that is cheaper
# than looking the word up (reading._tested_case_by_case): when the word has more than
# 1 / LOOKUP_COST index rows a case of the scope (a row looked up costs about what a case tested
# does).
NARROW = 20_000
# A list whose filters (not its scope) leave at most this many cases is searched by testing each
# of them when that is cheaper (reading._tested_case_by_case): counting that far costs a few
# milliseconds however broad the filter, and testing them about ten.
FILTERED_FEW = 2_000
LOOKUP_COST = 1.0
# Where the cases a probe tests are found first, and only those that match are read whole: SQLite
# reads a case's row at a cost a test of its texts does not have; PostgreSQL would read the scope
# twice.
NESTED_PROBE = frozenset({"sqlite"})
# Where a search's matches bring the columns of their case's row that a reader asks for as each is
# asked of the list (matched_driven's `columns`), rather than fetched by id after. SQLite: the
# phrase in a city's list of no colour 190 → 133 ms. PostgreSQL, asked so by a LATERAL (tried),
# planned its cursor as a scan of the whole index table (a rare word would cost all of it) and
# read each case from the heap where the scope index answers alone: slower even for a common one.
ROWS_DRIVEN = frozenset({"sqlite"})
# Where asking the index for a word's rows with a key that half the rows hold costs more than a
# rare word's rows alone: SQLite's FTS5 reads the key's whole list (a keyword's 4,116 rows of a
# million: 7 ms alone, 13–21 with the key of a deadline); PostgreSQL's GIN, a few milliseconds.
# There a list of no colour asks the key of a deadline only for a common word
# (reading._parted).
KEYS_DEAR = frozenset({"sqlite"})
# PostgreSQL: a word the planner's statistics put in SURELY times more rows than a narrow scope's
# cases is taken to be common without counting its rows (reading._tested_case_by_case). Wrong, it
# costs a test of the scope's cases, which NARROW bounds.
SURELY = 1
# A list of no colour whose scope holds at most this share of all cases is counted apart from its
# page, in no order (reading._counted_apart): walking the work order passes about 1 / share cases
# for each of its own. Measured at 1M: a city's 2 % (21,500 cases) 113 → 65 ms; at 6 % the two
# ways cost the same, at 10 % the walk costs half as much.
APART_SHARE = 0.05
# Where a walk of the work order must be told not to read a date range by its own index
# (`filter_clauses`: walked): SQLite plans by which index bounds the most, PostgreSQL by cost.
UNINDEXED_WALK = frozenset({"sqlite"})
# Where a list whose cases are all found (a search's matches) reads its page by walking its order
# for at most WALK_RATIO cases one of them, before it sorts them (reading._walked_page).
# PostgreSQL at 1M: a case walked costs about 0.33 µs (2,309 in 0.77 ms), a found case's row read
# to sort 3.4 µs (8,088 in 27 ms): a walk that finds too few costs two fifths of the sort. Not
# SQLite (tried): it sorts the walked prefix again (a temporary B-tree), so reads the whole bound,
# and starts a closed list's walk at the order's start (the biggest city's closed cases with 噪音:
# 59 → 84 ms; spread matches gained 4–7 ms).
BOUNDED_WALK = frozenset({"postgresql"})
WALK_RATIO = 4
# The orders an index serves (the work order: models/case.py), in which a common word's page is
# read by walking the cases in order (`text_probe`).
WALKABLE_SORTS = frozenset({None, "number", "-number", "received", "-received"})
# Where a search in work order has its matches bring their place in it (`work_order_key`), and
# the page of one whose matches are all found is picked by it (reading._read_searched) rather
# than walked or sorted. PostgreSQL at 1M: the number costs about 0.3 µs a match in their
# statement (ten thousand at the province: 85 → 88 ms), the sort it spares 3.4 µs (8,070 in the
# biggest city: 30 ms); SQLite reads the case's row to ask it, and sorts found cases by their
# rowid for about a micro-second each.
KEYED_MATCHES = frozenset({"postgresql"})


def keyed(dialect: str, flt: CaseFilter) -> bool:
    """Whether a search's matches bring their place in its order (KEYED_MATCHES: in work order)."""
    return dialect in KEYED_MATCHES and not flt.extra.get("sort")


# Where a search's matches are read by a cursor planned with sequential scans off
# (reading._indexed_stream). PostgreSQL plans a cursor for its first tenth
# (cursor_tuple_fraction), and a common word's rows, each asked of the list at a cost that dwarfs
# both ways of finding them, looked as cheap read from the whole index table as from the word's
# bitmap: the phrase's closed cases at the province, 92 ms by the bitmap, 137 by the table,
# chosen by no more than the statement's columns.
INDEXED_CURSOR = frozenset({"postgresql"})


def search_clause(dialect: str, typed: str, *, identity_region: Any | None, probe: bool = False,
                  keys: Keys = NO_KEYS) -> Any:
    """Everyone matches the redacted document; the raw one counts only where `identity_region`
    (the cases whose identity the reader may see) holds, and not at all when it is None. One
    index lookup over both documents, then the redacted one for the cases outside the region.
    `probe`: each case is asked instead (`text_probe`); else `keys` (`index_keys`), which every
    case of the list holds, look up only their rows. (SQLite asks a case found outside the
    identity region whether its redacted texts hold the word by testing them, rather than by
    looking the word up a second time: a list of the whole region's matches to ask a few of.)
    A query of several words (`words`): the first's clause (`_lead`), and each of the others
    asked of each case (`text_probe`)."""
    typed, others = _lead(typed)
    if others:
        return and_(search_clause(dialect, typed, identity_region=identity_region, probe=probe, keys=keys),
                    *[search_clause(dialect, w, identity_region=identity_region, probe=True) for w in others])
    if probe:
        opened = text_probe(dialect, typed, raw=False)
        if identity_region is None:
            return opened
        return and_(text_probe(dialect, typed, raw=True), or_(identity_region, opened))
    if identity_region is None:
        return text_match(dialect, typed, raw=False, keys=keys)
    opened = (text_probe(dialect, typed, raw=False) if dialect == "sqlite"
              else text_match(dialect, typed, raw=False, keys=keys))
    return and_(text_match(dialect, typed, raw=True, keys=keys), or_(identity_region, opened))


def counted(query: Any, cap: int) -> Any:
    """SELECT count(*) of at most cap + 1 of the rows `query` finds."""
    return select(func.count()).select_from(matched(query, cap + 1).subquery())


def matched(query: Any, limit: int | None) -> Any:
    """SELECT the ids of (at most `limit` of) the cases `query` finds, in no order."""
    ids = query.with_only_columns(col(Case.id), maintain_column_froms=True).order_by(None)
    return ids if limit is None else ids.limit(limit)
