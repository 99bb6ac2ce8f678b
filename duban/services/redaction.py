"""Finding a complainant's identity in any text, and cutting it out (信访工作条例 art. 30).

Every free text is stored twice when it is written: raw, and with identity replaced by the mask
(（保密）) in its `*_redacted` twin, which is all that readers without the right to identity get.
What counts as identity:

- the case's complainants' registered names, phones and addresses (the first complainant and every
  repeat complainant), however they are spaced or written (full-width, separators between the
  characters, Chinese numerals for the digits);
- any person named by surname and honorific (王女士, 李师傅, 老张, 小刘): the words are in
  config/privacy.toml;
- phone numbers (mobile, landline with area code, +86/0086, brackets, separators, extensions),
  18- and 15-digit ID numbers, bank-card numbers, e-mail addresses.

Matching runs on a folded view of the text (duban.services.textview) and cuts the raw text at
the spans it maps back to. Every pattern is bounded per starting position (possessive separator
runs, fixed digit counts) and e-mail is scanned by hand, so time is linear in the text's length.

Public and stable: `redact_text(text, identity)`, `case_identity(session, case_id)`,
`Identity`, `get_redactor()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, union
from sqlalchemy.engine import Connection
from sqlmodel import Session

from duban.config.privacy import PrivacyWords, load_privacy
from duban.models import Case, Complainant, RepeatContact
from duban.services.textview import SEPARATORS, TextView, fold_char, skeleton_of

_SEP = "[" + re.escape(SEPARATORS + "()~") + "]"
_S = _SEP + "*+"  # any run of separators (or brackets) between two digits or characters
_S1 = _SEP + "{1,3}+"  # between two groups of a card's digits
_P86 = rf"(?:\({_S})?(?:\+|00){_S}86{_S}(?:\){_S})?"
# An area code (010, 02x, 0xxx) without its 0, written in one piece: "03-24" is a date, not 0324.
_AREA = "(?:10|2[0-9]|[3-9][0-9]{2})"
_EXT = rf"(?:{_S}(?:转|分机|ext|EXT|Ext|x|X|#){_S}[0-9]{{1,6}})?"


def _grouped(atoms: str, *groupings: tuple[int, ...]) -> str:
    """Digits as people group them, one alternative per grouping: `atoms` holds one regex atom
    per digit ("D" for any; a two-digit atom counts two), a grouping the sizes of its groups
    (136 0931 8888: (3, 4, 4)). Separators stand only between the groups of one grouping: two
    dates side by side make eleven digits too, but not grouped like a phone. Also every digit
    apart (1 3 6 0 9 3 1 8 8 8 8) and all in one piece."""
    parts = [("[0-9]" if a == "D" else a, 2 if a.startswith("(?:") else 1) for a in atoms.split()]
    options = ["".join(a for a, _ in parts), _S1.join(a for a, _ in parts)]
    for grouping in groupings:
        breaks = {sum(grouping[:k]) for k in range(1, len(grouping))}
        out, at = [], 0
        for atom, width in parts:
            if at in breaks:
                out.append(_S)
            out.append(atom)
            at += width
        options.append("".join(out))
    return "(?:" + "|".join(options) + ")"


_MOBILE = _grouped("1 [3-9] D D D D D D D D D",
                   (3, 4, 4), (4, 3, 4), (3, 3, 5), (3, 8), (7, 4), (4, 4, 3))
_LOCAL = (f"(?:{_grouped('[2-9] D D D D D D D', (4, 4), (3, 5))}"  # a landline's own number
          f"|{_grouped('[2-9] D D D D D D', (3, 4), (4, 3))})")
_MONTH, _DAY = "(?:0[1-9]|1[0-2])", "(?:0[1-9]|[12][0-9]|3[01])"
# An ID number: region, birth date, sequence, check character.
_ID18 = _grouped(f"[1-8] D D D D D (?:1[89]|20) D D {_MONTH} {_DAY} D D D [0-9Xx]",
                 (6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4), (6, 8, 3, 1))
_ID15 = _grouped(f"[1-8] D D D D D D D {_MONTH} {_DAY} D D D", (6, 6, 3), (6, 9), (3, 3, 6, 3))

# (kind, pattern): each finds one written form of a number that identifies a person; digits are
# ASCII and separators canonical in the folded view, and a form ends where another digit would.
NUMBER_PATTERNS: list[tuple[str, str]] = [
    ("mobile", rf"(?<![0-9])(?:{_P86})?(?:\({_S})?{_MOBILE}(?![0-9])"),
    ("landline", rf"(?<![0-9])(?:{_P86}(?:\({_S})?{_AREA}|(?:\({_S})?0{_AREA}){_S}(?:\){_S})?"
                 rf"{_LOCAL}{_EXT}(?![0-9])"),
    ("id18", rf"(?<![0-9]){_ID18}(?![0-9])"),
    ("id15", rf"(?<![0-9]){_ID15}(?![0-9])"),
    # A card is 16-19 digits in one piece, in groups of four, or six and the rest (never any
    # grouping: two dates side by side are 16 digits too).
    ("card", rf"(?<![0-9])(?:[1-9][0-9]{{15,18}}"
             rf"|[1-9][0-9]{{3}}(?:{_S1}[0-9]{{4}}){{3}}(?:{_S1}[0-9]{{1,3}})?"
             rf"|[1-9][0-9]{{5}}{_S1}[0-9]{{10,13}})(?![0-9])"),
]
_NUMBERS = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in NUMBER_PATTERNS))
# The same forms without their boundaries (no digit before, none after), tried at each digit of a
# run of Chinese numerals: there a numeral beside the number may be a word (一直, 一个), which the
# boundaries would take for one more digit of it (一 + 〇九三一八八八八八八八 reads 10931…).
_NOT_DIGIT_BEFORE, _NOT_DIGIT_AFTER = "(?<![0-9])", "(?![0-9])"
_UNBOUNDED = [(kind, re.compile(pattern.removeprefix(_NOT_DIGIT_BEFORE).removesuffix(_NOT_DIGIT_AFTER)))
              for kind, pattern in NUMBER_PATTERNS]
# A run of numerals longer than this (folded characters) is masked whole rather than searched
# from each of its digits: no number is nearly that long, and the search's cost grows with it.
_LONGEST_NUMERAL_RUN = 400
# A number right after a word that says it is one (电话：8888888, QQ 123456789), in a pass of its
# own so that it never hides a longer form. A phone needs 7 digits (热线电话12345 names no one).
_FILLER = "(?:号码|号|是|为|:| |-)*+"
_KEYED = re.compile(rf"(?<![A-Za-z0-9])(?:电话|手机|座机|固话|联系方式|号码|Tel|TEL|tel|Phone|phone"
                    rf"|Mobile|mobile)"
                    rf"{_FILLER}([0-9](?:{_S}[0-9]){{6,18}})(?![0-9])"
                    rf"|(?<![A-Za-z0-9])(?:微信|QQ|qq|Qq){_FILLER}([0-9](?:{_S}[0-9]){{4,18}})(?![0-9])")
_DIGIT = re.compile("[0-9]")
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_LABEL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_EMAIL_DOTS = frozenset(".。")
# What stands for "@" when people write an address so that robots miss it.
_AT = re.compile(r"@|\((?:at|AT)\)|\[(?:at|AT)\]|\{(?:at|AT)\}|<(?:at|AT)>|#|艾特")
# An account name right after the word for it: 微信号 wxid_abc123, QQ号 12345678.
_ACCOUNT = re.compile(r"(?<![A-Za-z0-9])(?:微信|QQ|qq|WeChat|wechat)(?:号码|号|是|为|:| |-)*+"
                      r"([A-Za-z][-_A-Za-z0-9]{5,19})"
                      r"(?![-_A-Za-z0-9])")
# Where a registered address may be cut short in a text: after the province, city, county part.
_ADDRESS_CUTS = re.compile("[省市州盟区县旗]")
_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Identity:
    """What identifies a case's complainants: every registered name, phone and address."""

    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def of(cls, people: Iterable[Any]) -> Identity:
        """From complainants (rows or objects with name, phone, address), duplicates dropped."""
        return cls.of_values((p.name, p.phone, p.address) for p in people)

    @classmethod
    def of_values(cls, people: Iterable[tuple[str | None, str | None, str | None]]) -> Identity:
        """From (name, phone, address) triples."""
        names: dict[str, None] = {}
        phones: dict[str, None] = {}
        addresses: dict[str, None] = {}
        for name, phone, address in people:
            for value, into in ((name, names), (phone, phones), (address, addresses)):
                if value and value.strip():
                    into[value.strip()] = None
        return cls(tuple(names), tuple(phones), tuple(addresses))

    @classmethod
    def single(cls, name: str = "", phone: str = "", address: str = "") -> Identity:
        return cls.of_values([(name, phone, address)])

    def __or__(self, other: Identity) -> Identity:
        return Identity(tuple(dict.fromkeys(self.names + other.names)),
                        tuple(dict.fromkeys(self.phones + other.phones)),
                        tuple(dict.fromkeys(self.addresses + other.addresses)))


NO_IDENTITY = Identity()


@dataclass(frozen=True)
class _Literals:
    """An identity prepared for searching: skeletons, and a pattern for the surnames' forms."""

    strings: tuple[str, ...]
    surname_forms: re.Pattern[str] | None


class Redactor:
    """Finds identity in text and masks it; built once from the word lists (config/privacy.toml)."""

    def __init__(self, words: PrivacyWords, mask: str) -> None:
        self.words = words
        self.mask = mask
        fold = _fold
        self._compounds = [fold(w) for w in words.compound_surnames]
        self._honorifics = sorted({fold(w) for w in words.honorifics}, key=len, reverse=True)
        self._prefixes = sorted({fold(w) for w in words.prefixes}, key=len, reverse=True)
        singles = "".join(dict.fromkeys(fold(words.single_surnames())))
        prefixed = "".join(dict.fromkeys(fold(words.prefixed())))
        surname = _alternatives(self._compounds, singles)
        honorific = _alternatives(self._honorifics)
        prefix = _alternatives(self._prefixes)
        # 老马师傅: a prefix and any surname, confirmed by the honorific after them.
        branches = [f"(?:{prefix}{_S})?{surname}{_S}{honorific}"]
        if self._prefixes and prefixed:
            branches.append(f"{_alternatives(self._prefixes)}{_S}{_alternatives(self._compounds, prefixed)}")
        self._people = re.compile("|".join(branches))
        # Each character of a word that is not a name -> (the word, where the character is in it).
        self._not_names: dict[str, tuple[tuple[str, int], ...]] = {}
        for word in sorted({fold(w) for w in words.not_names}, key=len, reverse=True):
            for k, c in enumerate(word):
                self._not_names[c] = (*self._not_names.get(c, ()), (word, k))
        self._placeholders = frozenset(skeleton_of(w) for w in words.placeholder_names)
        self._literals = lru_cache(maxsize=4096)(self._prepare)
        self._surname_forms = lru_cache(maxsize=4096)(self._compile_surname_forms)

    # -- what identity is -----------------------------------------------------------------

    def _prepare(self, identity: Identity) -> _Literals:
        words = self.words
        strings: list[str] = []
        surnames: list[str] = []
        for name in identity.names:
            skeleton = skeleton_of(name)
            if skeleton in self._placeholders:
                continue
            if len(skeleton) >= words.shortest_name:
                strings.append(skeleton)
            if skeleton and _CJK.match(skeleton):
                two = skeleton[:2]
                surnames.append(two if len(skeleton) > 2 and two in self._compounds else skeleton[0])
        for phone in identity.phones:
            skeleton = skeleton_of(phone).lstrip("+()")
            if skeleton.startswith("0086"):
                skeleton = skeleton[4:]
            elif skeleton.startswith("86") and len(skeleton) > 11:
                skeleton = skeleton[2:]
            if len(skeleton) >= words.shortest_phone:
                strings.append(skeleton)
        for address in identity.addresses:
            skeleton = skeleton_of(address)
            if len(skeleton) >= words.shortest_address:
                strings.append(skeleton)
            # The same address without its province, city or county ("张掖路168号3单元").
            for cut in _ADDRESS_CUTS.finditer(skeleton):
                rest = skeleton[cut.end():]
                if len(rest) >= words.shortest_address + 2 and _CJK.match(rest):
                    strings.append(rest)
        forms = self._surname_forms(tuple(dict.fromkeys(surnames))) if surnames else None
        return _Literals(tuple(dict.fromkeys(strings)), forms)

    def _compile_surname_forms(self, surnames: tuple[str, ...]) -> re.Pattern[str]:
        """The registered surnames' every form (老王, 小王, 王女士, 王某), whatever the lists say."""
        surname = _alternatives(sorted(surnames, key=len, reverse=True))
        honorific = _alternatives([*self._honorifics, "某某", "某"])
        branches = [f"{surname}{_S}{honorific}"]
        if self._prefixes:
            branches.append(f"{_alternatives(self._prefixes)}{_S}{surname}")
        return re.compile("|".join(branches))

    # -- finding it -----------------------------------------------------------------------

    def spans(self, text: str, identity: Identity = NO_IDENTITY) -> list[tuple[int, int]]:
        """The raw spans of `text` that identify someone, sorted and merged."""
        if not text:
            return []
        view = TextView.of(text)
        found: list[tuple[int, int]] = []
        folded = view.folded
        literals = self._literals(identity) if identity != NO_IDENTITY else None
        if literals is not None and literals.strings:
            skeleton = view.skeleton
            for literal in literals.strings:
                for start in _occurrences(skeleton, literal):
                    found.append(view.raw_span_of_skeleton(start, start + len(literal)))
        if _DIGIT.search(folded):
            for match in _NUMBERS.finditer(folded):
                if match.lastgroup == "card" and _is_credit_code(folded[match.start():match.start() + 18]):
                    continue
                found.append(view.raw_span(*match.span()))
            found.extend(_glued_numbers(view))
            found.extend(view.raw_span(*match.span(match.lastindex or 0))
                         for match in _KEYED.finditer(folded))
        found.extend(view.raw_span(s, e) for s, e in _emails(folded))
        found.extend(view.raw_span(*match.span(1)) for match in _ACCOUNT.finditer(folded))
        for pattern in (self._people, literals.surname_forms if literals else None):
            if pattern is None:
                continue
            for match in pattern.finditer(folded):
                if not self._is_word(folded, match.start()):
                    found.append(view.raw_span(*match.span()))
        return _merged(found)

    def _is_word(self, folded: str, at: int) -> bool:
        """Whether the person found at `at` begins inside a word that is not a name: 小区 at 小,
        保安师傅 at 安 (保安 is the word)."""
        return any(at >= k and folded.startswith(word, at - k)
                   for word, k in self._not_names.get(folded[at], ()))

    def redact(self, text: str | None, identity: Identity = NO_IDENTITY) -> str:
        """`text` with every identity in it replaced by the mask; never raises."""
        if not text:
            return ""
        try:
            spans = self.spans(text, identity)
        except Exception:  # a bug here must not leak: nothing of the text is shown instead
            return self.mask
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(self.mask)
            last = end
        out.append(text[last:])
        return "".join(out)


def _fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


def _alternatives(words: Iterable[str], chars: str = "") -> str:
    options = [re.escape(w) for w in words if w]
    if chars:
        options.append("[" + "".join(re.escape(c) for c in chars) + "]")
    return "(?:" + "|".join(options or ["(?!)"]) + ")"


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at >= 0:
        yield at
        at = haystack.find(needle, at + len(needle))


def _emails(folded: str) -> Iterator[tuple[int, int]]:
    """Each user@domain.tld around an '@' (or "(at)", "#"…), scanned outwards at most 64/255
    characters: linear in the text."""
    for marker in _AT.finditer(folded):
        at, after = marker.span()
        for _ in range(2):  # "lisi @ 163.com"
            at -= at > 0 and folded[at - 1] == " "
            after += after < len(folded) and folded[after] == " "
        start = at
        while start > 0 and at - start < 64 and folded[start - 1] in _EMAIL_LOCAL:
            start -= 1
        end, dots, label, last = after, 0, 0, 0  # last: where the address could end so far
        while end < len(folded) and end - after <= 255:
            c = folded[end]
            if c in _EMAIL_LABEL:
                label += 1
            elif c in _EMAIL_DOTS and label and end + 1 < len(folded) and folded[end + 1] in _EMAIL_LABEL:
                dots, label = dots + 1, 0
            else:
                break
            end += 1
            if dots and label >= 2 and folded[end - label:end].isalpha():
                last = end  # a top-level domain of letters: 163.com, mail.gs.gov.cn
        if start < at and last:
            yield start, last


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _glued_numbers(view: TextView) -> Iterator[tuple[int, int]]:
    """The raw spans of the numbers that start at any digit of a run of Chinese numerals and end
    anywhere, the run's other numerals being words. Masks more than the number where the run is
    one, never less."""
    folded = view.folded
    for start, end in view.numeral_runs:
        if end - start > _LONGEST_NUMERAL_RUN:
            yield view.raw_span(start, end)
            continue
        for at in range(start, end):
            if not "0" <= folded[at] <= "9":
                continue
            for kind, pattern in _UNBOUNDED:
                match = pattern.match(folded, at)
                if match is not None and not (kind == "card" and _is_credit_code(folded[at:at + 18])):
                    yield view.raw_span(*match.span())


def _is_credit_code(found: str) -> bool:
    """Whether digits found as a card are a 统一社会信用代码 (GB 32100-2015) instead: 17 digits and
    their check character (a digit or a letter), by the code's own checksum. An org, not a person."""
    code = found[:18].upper()
    # Its 9-character organisation code (positions 9 to 17) may hold letters: the digits before a
    # letter there look like a card number until the whole code is checked.
    if len(code) != 18 or not code[:8].isdigit() or any(c not in _CREDIT_CHARS for c in code):
        return False
    # Its registering authority (1, 5, 9) and kind of body (1, 2, 3, 9): a UnionPay card (62…)
    # never passes for one, whatever its digits add up to.
    if code[0] not in "159" or code[1] not in "1239":
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code, _CREDIT_WEIGHTS, strict=False))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


# -- the service's door ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def get_redactor() -> Redactor:
    """The redactor of the configured word lists and mask (an office's override folder included)."""
    from duban.config.policy import get_labels
    from duban.config.settings import get_settings

    return Redactor(load_privacy(get_settings().override_dir), get_labels().text["masked"])


def redact_text(text: str | None, identity: Identity = NO_IDENTITY) -> str:
    """The redacted twin of `text`: what is stored in the `*_redacted` column beside it."""
    return get_redactor().redact(text, identity)


_C = Complainant.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_REPEATS = RepeatContact.__table__  # type: ignore[attr-defined]
_OF_CASE = (select(_C.c.name, _C.c.phone, _C.c.address).where(_C.c.id.in_(union(
    select(_CASES.c.complainant_id).where(_CASES.c.id == bindparam("case_id")),
    select(_REPEATS.c.complainant_id).where(_REPEATS.c.case_id == bindparam("case_id")),
))))


# The same query for the driver itself: an action asks it whenever it writes text, and SQLAlchemy's
# statement handling cost ten times the query on SQLite (docs/bench.md).
_OF_CASE_SQL = ("SELECT name, phone, address FROM complainants WHERE id IN ("
                "SELECT complainant_id FROM cases WHERE id = {0} "
                "UNION SELECT complainant_id FROM repeat_contacts WHERE case_id = {0})")
_DRIVER_SQL = {"sqlite": _OF_CASE_SQL.format("?"), "postgresql": _OF_CASE_SQL.format("%s")}


def case_identity(session: Session | Connection, case_id: int) -> Identity:
    """The identity of everyone who complained in a case (first and repeat), in one query."""
    conn = session if isinstance(session, Connection) else session.connection()
    sql = _DRIVER_SQL.get(conn.dialect.name)
    driver = conn.connection.driver_connection
    if sql is None or driver is None:
        return Identity.of(conn.execute(_OF_CASE, {"case_id": case_id}).all())
    # In the transaction SQLAlchemy began on this connection: the action's own rows are seen.
    return Identity.of_values(driver.execute(sql, (case_id, case_id)).fetchall())


def case_identities(conn: Connection, case_ids: list[int]) -> dict[int, Identity]:
    """`case_identity` for many cases at once (the batch re-redaction), two queries."""
    if not case_ids:
        return {}
    people: dict[int, list[Any]] = {case_id: [] for case_id in case_ids}
    first = (select(_CASES.c.id, _C.c.name, _C.c.phone, _C.c.address)
             .join(_C, _C.c.id == _CASES.c.complainant_id).where(_CASES.c.id.in_(case_ids)))
    repeats = (select(_REPEATS.c.case_id, _C.c.name, _C.c.phone, _C.c.address)
               .join(_C, _C.c.id == _REPEATS.c.complainant_id).where(_REPEATS.c.case_id.in_(case_ids)))
    for query in (first, repeats):
        for row in conn.execute(query):
            people[row[0]].append(row)
    return {case_id: Identity.of(rows) for case_id, rows in people.items()}
