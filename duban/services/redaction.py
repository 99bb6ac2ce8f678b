"""Finding a complainant's identity in any text, and cutting it out (信访工作条例 art. 30).

Every free text is stored twice when it is written: raw, and with identity replaced by the mask
(（保密）) in its `*_redacted` twin, which is all that readers without the right to identity get.
What counts as identity:

- the case's complainants' registered names, phones and addresses (the first complainant and every
  repeat complainant), however they are spaced or written (full-width, separators between the
  characters, Chinese numerals for the digits, traditional characters, a name in pinyin), the
  registered surname with a title (李老师);
- any person named by surname and honorific (王女士, 李师傅, 老张, 小刘), and a full name after the
  word that introduces one (我叫张伟，联系人：刘洋), a writer's name before their particulars
  (本人马保国，男，汉族; a letter opening 张三，男，1965年出生), a member of the public as a hotline
  record names them (市民赵丽颖来电, 张三（来电人）, 张大山等5人), the names listed with a masked one
  and a masked person's family (王建军的女儿王小红), a birth date: the words are in config/privacy.toml;
- phone numbers (mobile, landline with area code, +86/0086/86/0, brackets, separators, the common
  groupings, extensions; numbers abroad), 18- and 15-digit ID numbers, bank-card numbers, numbers
  with digits starred out, e-mail addresses (also spelled out), a home's unit and room;
- what follows the word for it: an account (QQ, 微信, VX…), a document's number (护照, 通行证…),
  a card or account number (卡号, 存折…), a number's last digits (尾号), a home address (家住…),
  the writer's own vehicle's plate (我的车甘A·12345; another's, as 渣土车甘A12345, is kept).

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
# Before a mobile the country code may also stand bare (8613609318888, as phones store contacts),
# and a long-distance 0 (013609318888, as dialled from a landline elsewhere): no landline's own
# number begins with a 1.
_P86_MOBILE = rf"(?:(?:\({_S})?(?:(?:\+|00){_S})?86{_S}(?:\){_S})?|0)"
# A bracket that opens the number's first group ((0931)8888888, (136)0931-8888): only when it
# closes a few digits on, or the bracket around a whole number would go under the mask alone.
_OPEN = rf"(?:\((?=[0-9{re.escape(SEPARATORS)}]{{1,8}}\)){_S})?"
# An area code (010, 02x, 0xxx) without its 0, written in one piece: "03-24" is a date, not 0324.
_AREA = "(?:10|2[0-9]|[3-9][0-9]{2})"
_EXT = rf"(?:{_S}(?:转|分机|ext|EXT|Ext|x|X|#){_S}[0-9]{{1,6}})?"


def _grouped(atoms: str, *groupings: tuple[int, ...], exact: tuple[tuple[int, ...], ...] = ()) -> str:
    """Digits as people group them, one alternative per grouping: `atoms` holds one regex atom
    per digit ("D" for any; a two-digit atom counts two), a grouping the sizes of its groups
    (136 0931 8888: (3, 4, 4)). Separators stand only between the groups of one grouping (any
    of them may be left out: 1360931 8888); an `exact` grouping's every separator must be
    written (151 09 31 77 88), or its many breaks would admit what is no phone: two dates side
    by side make eleven digits too, but not grouped like a phone. Also every digit apart
    (1 3 6 0 9 3 1 8 8 8 8) and all in one piece."""
    parts = [("[0-9]" if a == "D" else a, 2 if a.startswith("(?:") else 1) for a in atoms.split()]
    options = ["".join(a for a, _ in parts), _S1.join(a for a, _ in parts)]
    for grouping, between in [(g, _S) for g in groupings] + [(g, _S1) for g in exact]:
        breaks = {sum(grouping[:k]) for k in range(1, len(grouping))}
        out, at = [], 0
        for atom, width in parts:
            if at in breaks:
                out.append(between)
            out.append(atom)
            at += width
        options.append("".join(out))
    return "(?:" + "|".join(options) + ")"


_MOBILE = _grouped("1 [3-9] D D D D D D D D D",
                   (3, 4, 4), (4, 3, 4), (3, 3, 5), (3, 8), (7, 4), (4, 4, 3),
                   exact=((3, 2, 2, 2, 2), (3, 4, 2, 2), (3, 3, 3, 2), (3, 3, 2, 3), (2, 4, 5), (5, 6)))
_LOCAL = (f"(?:{_grouped('[2-9] D D D D D D D', (4, 4), (3, 5), exact=((2, 2, 2, 2), (4, 2, 2), (2, 2, 4)))}"
          f"|{_grouped('[2-9] D D D D D D', (3, 4), (4, 3), exact=((3, 2, 2),))})")  # a landline's own number
_MONTH, _DAY = "(?:0[1-9]|1[0-2])", "(?:0[1-9]|[12][0-9]|3[01])"
# An ID number: region, birth date, sequence, check character.
_ID18 = _grouped(f"[1-8] D D D D D (?:1[89]|20) D D {_MONTH} {_DAY} D D D [0-9Xx]",
                 (6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4), (6, 8, 3, 1),
                 exact=((3, 3, 3, 3, 3, 3), (6, 4, 2, 2, 4)))
_ID15 = _grouped(f"[1-8] D D D D D D D {_MONTH} {_DAY} D D D", (6, 6, 3), (6, 9), (3, 3, 6, 3),
                 exact=((6, 2, 2, 2, 3),))

# (kind, pattern): each finds one written form of a number that identifies a person; digits are
# ASCII and separators canonical in the folded view, and a form ends where another digit would.
NUMBER_PATTERNS: list[tuple[str, str]] = [
    ("mobile", rf"(?<![0-9]){_P86_MOBILE}?{_OPEN}{_MOBILE}(?![0-9])"),
    ("landline", rf"(?<![0-9])(?:{_P86}(?:\({_S})?{_AREA}|{_OPEN}0{_AREA}){_S}(?:\){_S})?"
                 rf"{_LOCAL}{_EXT}(?![0-9])"),
    ("id18", rf"(?<![0-9]){_ID18}(?![0-9])"),
    ("id15", rf"(?<![0-9]){_ID15}(?![0-9])"),
    # A card is 16-19 digits in one piece, in groups of four, or six and the rest (never any
    # grouping: two dates side by side are 16 digits too).
    ("card", rf"(?<![0-9])(?:[1-9][0-9]{{15,18}}"
             rf"|[1-9][0-9]{{3}}(?:{_S1}[0-9]{{4}}){{3}}(?:{_S1}[0-9]{{1,3}})?"
             rf"|[1-9][0-9]{{5}}{_S1}[0-9]{{10,13}})(?![0-9])"),
    # A number abroad: a + and a country code, then six to fourteen digits however grouped
    # (+852 9123 4567); 00 only before the codes of Hong Kong, Macao and Taiwan.
    ("abroad", rf"(?<![0-9])(?:\+|00(?=852|853|886)){_S}(?:\({_S})?[1-9][0-9]{{0,2}}{_S}(?:\){_S})?"
               rf"[0-9](?:(?:{_S1})?[0-9]){{5,13}}(?![0-9])"),
]
# Each form apart, with the fewest digits it holds: a form is looked for only in a text with a run
# of that many digits (separators between them), and one form's refusal (a credit code found as a
# card) never hides another inside it.
_FEWEST = {"mobile": 11, "landline": 10, "id18": 17, "id15": 15, "card": 16, "abroad": 7}
_NUMBERS = [(kind, re.compile(pattern), _FEWEST[kind]) for kind, pattern in NUMBER_PATTERNS]
_DIGIT_RUN = re.compile(rf"[0-9](?:[{re.escape(SEPARATORS)}()~+]*+[0-9])*+")
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
# What joins a word to what it names (是, 为, a colon, a blank, a dash, a bracket), and each kind
# of number's own words before that.
_JOINERS = r"是|为|:| |-|\("
_FILLER = rf"(?:号码|号|{_JOINERS})*+"
# 号码 alone only where it is the writer's own (我的号码, 号码：…), not 发票号码 or 合同号码.
_KEYED = re.compile(rf"(?<![A-Za-z0-9])(?:电话|手机|座机|固话|联系方式|Tel|TEL|tel|Phone|phone"
                    rf"|Mobile|mobile|(?:(?<![\u3400-\u9fff])|(?<=[的我他她其]))号码)"
                    rf"{_FILLER}([0-9](?:{_S}[0-9]){{6,18}})(?![0-9])")
# What may stand between an account's word and the account: 微信号：, QQ账号是, WeChat ID:
_ACCOUNT_FILLER = rf"(?:账号|帐号|号码|号|邮箱|ID|Id|id|{_JOINERS})*+"
_DIGIT = re.compile("[0-9]")
# The fewest digits any of NUMBER_PATTERNS and _KEYED finds (a landline's own number after 电话).
_FEWEST_DIGITS = 7
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_LABEL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_EMAIL_DOTS = frozenset(".。")
# What stands for "@" when people write an address so that robots miss it.
_AT = re.compile(r"@|\((?:at|AT)\)|\[(?:at|AT)\]|\{(?:at|AT)\}|<(?:at|AT)>|【(?:at|AT)】|#|艾特")
# An address spelled out further: "at" and "dot" as words, 点 for the dot, spaces around them
# (zhangsan at 163 dot com, lisi艾特126点com), or an address at a mail provider without its
# top-level domain (zhangsan@163). Bounded: a local part of at most 64 characters, begun where a
# run of its characters begins; the last label a top-level domain of letters.
_EMAIL_CHARS = r"[A-Za-z0-9._%+-]"
# (。 with no space around it: 。 after a space ends a sentence, "163.com\n。AA" is no address.)
_SPELLED_DOT = r"(?: ?(?:\.|点|\((?:dot|DOT)\)|\[(?:dot|DOT)\]| (?:dot|DOT) ) ?|。)"
_SPELLED_EMAIL = re.compile(
    rf"(?<!{_EMAIL_CHARS}){_EMAIL_CHARS}{{1,64}} ?(?:{_AT.pattern}| (?:at|AT) ) ?"
    rf"[A-Za-z0-9-]{{1,63}}(?:{_SPELLED_DOT}[A-Za-z0-9-]{{1,63}}){{0,3}}{_SPELLED_DOT}[A-Za-z]{{2,63}}"
    r"(?![A-Za-z0-9-])")
# What every form of _AT and _SPELLED_EMAIL holds: an address is looked for only where one is.
_AT_MARKS = ("@", "#", "艾特", "at", "AT")
_AT_PROVIDER = re.compile(
    rf"(?<!{_EMAIL_CHARS}){_EMAIL_CHARS}{{1,64}} ?@ ?(?:163|126|qq|QQ|sina|sohu|yeah|139|189|foxmail|gmail|"
    r"hotmail|outlook|yahoo|aliyun|icloud|21cn)(?![0-9])")
# A number a person wrote with some digits starred out (151****7788, 620102********2316): what is
# left of it still narrows who they are.
_STARRED = re.compile(rf"(?<![0-9*])[0-9](?:(?:{_S1})?[0-9]){{1,9}}(?:(?:{_S1})?\*){{3,12}}"
                      rf"(?:(?:{_S1})?[0-9*]){{1,10}}(?![0-9*])")
# Where a registered address may be cut short in a text: after the province, city, county part,
# the street, the village, the compound; and the words a writer may leave out of it.
_ADDRESS_CUTS = re.compile("[省市州盟区县旗]|街道|路|街|巷|镇|乡|村|社区|小区")
_ADDRESS_OMITTED = ("街道", "小区")
# Words for one thing a writer may put for another in an address: a building (5栋, 5号楼, 5幢).
_ADDRESS_SAME = (("栋", "号楼", "幢", "号"),)
# A home's unit and room, the household (2单元301室, 二单元三〇一, 1单元201 after a building): the
# building and what comes before it stay, a place a unit may need to find.
_DIGIT_OR_NUMERAL = "[0-9〇零一二三四五六七八九十]"
_ROOM = re.compile(rf"(?<!{_DIGIT_OR_NUMERAL}){_DIGIT_OR_NUMERAL}{{1,3}}{_S}单元"
                   rf"{_S}{_DIGIT_OR_NUMERAL}{{2,5}}(?:{_S}(?:室|号|户))?(?![0-9])")
# An address up to its last word of a place (庆阳路88号院, 和平村三社45号), within one clause.
_PLACE = (r"[^\s,.;:!?()，。；：！？、（）]{0,38}"
          rf"(?:路|街|巷|道|号|村|镇|乡|小区|社区|栋|幢|单元|室|组|社|楼|院|区|县|市)(?:{_DIGIT_OR_NUMERAL}+(?:号|室|户)?)?")
# A room written 5-2-301室 (building, unit, room).
_ROOM_DASHED = re.compile(r"(?<![0-9-])[0-9]{1,3}-[0-9]{1,2}-[0-9]{3,4}(?:室|户)")
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
    romanized: re.Pattern[str] | None = None


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
        # A name without a surname (扎西才让, 卓玛) begins with one of these, and may be one alone.
        alone = _alternatives(fold(w) for w in words.names_without_surname)
        honorific = _spaced(self._honorifics)
        prefix = _alternatives(self._prefixes)
        # 老马师傅: a prefix and any surname, confirmed by the honorific after them; 扎西师傅.
        branches = [f"(?:{prefix}{_S})?{surname}{_S}{honorific}", f"{alone}{_S}{honorific}"]
        if self._prefixes and prefixed:
            branches.append(f"{_alternatives(self._prefixes)}{_S}{_alternatives(self._compounds, prefixed)}"
                            f"(?P<prefixed>)")
        self._people = re.compile("|".join(branches))
        self._place_suffixes = frozenset(fold(words.place_suffixes))
        # A full name after the word that introduces one (我叫张伟，联系人：刘洋): a surname and one
        # or two more characters, the shortest that ends where a name can end.
        ends = _alternatives(sorted({fold(w) for w in words.name_ends}, key=len, reverse=True))
        # A full name of a compound surname that is no word (欧阳建国, 司马小红), wherever it stands.
        self._compound_names = re.compile(
            rf"(?P<name>{_alternatives(fold(w) for w in words.named_compounds)}[\u3400-\u9fff]{{1,2}}?)"
            rf"(?=$|[\s,.;:!?()\[\]{{}}<>，。、；：！？“”‘’\"'【】《》]|{ends})")
        family = {fold(w) for w in words.family_words}
        labels = ({fold(w) for w in words.name_labels} | {fold(w) + ":" for w in words.person_labels}
                  | {fold(owner + w) for owner in words.family_owners for w in family})
        self._labelled = re.compile(
            rf"{_alternatives(labels)}"
            rf"(?:是|为|叫|:|!| )*+(?P<name>{alone}[\u3400-\u9fff]{{0,2}}?|{surname}[\u3400-\u9fff]{{1,2}}?)"
            rf"(?=$|[\s,.;:!?()\[\]{{}}<>，。、；：！？“”‘’\"'【】《》0-9]|{ends})")
        # A writer introducing themself (本人马保国，男), and a name with a person's particulars after
        # it where a text or a sentence begins (张三，男，汉族，1965年出生): `_particulars`.
        particulars = _particulars(fold(w) for w in words.ethnic_groups)
        selves = _alternatives(sorted({fold(w) for w in words.self_labels}, key=len, reverse=True))
        self_ends = _alternatives(sorted({fold(w) for w in words.self_ends}, key=len, reverse=True))
        # 冯伟, 冯 伟, 扎西才让, 卓玛
        person = rf"(?:{alone}(?:{_S}[\u3400-\u9fff]){{0,2}}?|{surname}(?:{_S}[\u3400-\u9fff]){{1,2}}?)"
        name = rf"(?P<name>{person})"
        named = _alternatives(sorted({fold(w) for w in words.named_self_labels}, key=len, reverse=True))
        self._introduced = re.compile(rf"{selves}(?:是|系|:| )*+{name}[\s,、]*(?:{particulars}|{self_ends})")
        self._opening = re.compile(rf"\s*{name}[\s,、]*(?:{particulars})")  # matched where sentences begin
        # 我是张三，: a name alone after 我是, unless it ends as no name does (`_is_role`)
        self._self_named = re.compile(rf"{named}(?:是|系|:| )*+{name}(?=$|[\s,.;:!?()。、])")
        self._role_endings = frozenset(fold(words.role_endings))
        self._given_name_endings = frozenset(fold(words.given_name_endings))
        # A member of the public a record names (市民赵丽颖来电, 我是该小区业主刘强，), a name with its
        # role in brackets (张三（来电人）), a name with its group (张大山等5人), and each name listed
        # after a masked one (张大山、李小河、王二等): not an official's (李局长等3人).
        persons = _alternatives(fold(w) for w in words.person_labels)
        caller_ends = {fold(w) for w in (*words.caller_ends, *(w for w in words.name_ends if len(w) > 1))}
        told = _alternatives(caller_ends)
        roles = {fold(w) for w in words.person_labels} | {
            fold(w) for w in words.name_labels if w.endswith("人") and not w.startswith("我")}
        stop = rf"$|[\s,.;:!?()\[\]{{}}<>，。、；：！？“”‘’\"'【】《》0-9]|{ends}"
        told_after = rf"(?: *+\([^()]{{1,16}}\))? *+(?:{told})"
        self._callers = re.compile(
            rf"{persons}(?: )*+{name}(?={told_after})"
            rf"|{persons}(?: )*+(?P<names>{person}(?: *+、 *+{person})+)(?= *+等|{told_after})")
        self._self_callers = re.compile(
            rf"{named}[^\s,.;:!?。，；：！？]{{0,6}}?{persons}(?::| )*+{name}(?={stop})")
        self._bracketed = re.compile(
            rf"{name} *+\( *+{_alternatives(roles)} *+\)")
        self._grouped = re.compile(
            rf"{name} *+等 *+[0-9一二三四五六七八九十两几多数百]+(?:余|多)?(?:名|人|户|位)")
        self._listed = re.compile(rf"[、和及与](?: )*+{name}(?=[、和及与等]|{stop})")
        self._kin = re.compile(rf"的?{_alternatives(family)}(?:叫|是|:| )*+{name}(?={stop})")
        # after a registered given name, what a record says a person did (建军反映), not 家: 建设家园
        self._told = _alternatives(caller_ends - {"家"})
        self._ends_saying = re.compile(f"(?:{self._told})$")
        self._officials = tuple({fold(w) for w in words.official_titles})
        self._caller_not_names = tuple({fold(w) for w in words.caller_not_names})
        self._org_endings = frozenset(fold(words.org_endings))
        # A birth date after the word for it (出生日期：1980年1月1日), and a date before 出生.
        # A year alone stays, as an age does (1965年出生, 现年58岁); a date with its month does not.
        day = r"[0-9]{4} *+[年./-] *+[0-9]{1,2}(?: *+[月./-] *+(?:[0-9]{1,2} *+日?)?)?"
        self._births = re.compile(
            rf"{_alternatives(fold(w) for w in words.birth_words)}"
            rf"(?:是|为|在|于|:| )*+({day})(?![0-9])"
            r"|(?<![0-9])([0-9]{4} *+(?:年 *+[0-9]{1,2} *+月(?: *+[0-9]{1,2} *+日)?"
            r"|[./-] *+[0-9]{1,2} *+[./-] *+[0-9]{1,2})) *+出生")
        # A name that begins a sentence saying what its person did (张三反映：), and one right before
        # a number (王五，13912345678), with only blanks, punctuation or the word for a phone between.
        self._opening_caller = re.compile(
            rf"\s*{name}(?={_alternatives(fold(w) for w in words.opening_verbs)})")
        strict = rf"{alone}[\u3400-\u9fff]{{0,2}}?|{surname}[\u3400-\u9fff]{{1,2}}?"  # no separators
        # Before the number only blanks, a colon, a bracket or the word for a phone (李四：139…, 吴九
        # 电话139…); a comma only after a name that a sentence, a punctuation mark or a word for a
        # person begins (王五，139…, 居民王五，139…; not 仍未付款，电话139…).
        calls = _alternatives(fold(w) for w in words.phone_words)
        self._before_number = re.compile(
            rf"(?P<name>{strict})(?:[\s:(]|{calls})*+\Z"
            rf"|(?:{persons}|[\s,.;:!?()。、])(?P<after>{strict})[,、] *+(?:{calls})?[\s:(]*+\Z")
        # 我姓王: the surname alone, said by the writer.
        self._own_surname = re.compile(rf"(?:我|本人)(?:的)?姓(?:是|:| )*+(?P<name>{surname})")
        # Each character of a word that is not a name -> (the word, where the character is in it).
        self._not_names: dict[str, tuple[tuple[str, int], ...]] = {}
        for word in sorted({fold(w) for w in words.not_names}, key=len, reverse=True):
            for k, c in enumerate(word):
                self._not_names[c] = (*self._not_names.get(c, ()), (word, k))
        self._placeholders = frozenset(skeleton_of(w) for w in words.placeholder_names)
        self._titles = sorted({fold(w) for w in words.registered_titles}, key=len, reverse=True)
        # Numbers and accounts right after the word for them (QQ号 12345678, 卡号：6222…, 尾号7788),
        # the word kept; an account's name begins with a letter (微信号 wxid_abc123).
        accounts = _alternatives(fold(w) for w in words.account_words)
        self._accounts = re.compile(rf"(?<![A-Za-z0-9]){accounts}{_ACCOUNT_FILLER}"
                                    r"([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])")
        cards, tails = (_alternatives(fold(w) for w in ws) for ws in (words.card_words, words.tail_words))
        self._keyed_numbers = re.compile(
            rf"(?<![A-Za-z0-9]){accounts}{_ACCOUNT_FILLER}([0-9](?:{_S}[0-9]){{4,18}})(?![0-9])"
            rf"|{cards}{_FILLER}([0-9](?:{_S}[0-9]){{9,24}})(?![0-9])"
            rf"|{tails}{_FILLER}([0-9](?:{_S}[0-9]){{2,5}}(?:{_S}[Xx](?![A-Za-z]))?)(?![0-9])")
        # The writer's home after the word for it, to its last word of a place before the next
        # punctuation (家住城关区庆阳路88号院; 家住附近的居民… names no place).
        self._residences = re.compile(rf"{_alternatives(fold(w) for w in words.residence_words)}"
                                      rf"(?:是|为|在|于|:| )*+({_PLACE})")
        # A document's number (护照号E12345678, 香港身份证A123456(7)): letters and digits, at least
        # four of them digits (checked where it is found), a check character in brackets last.
        self._documents = re.compile(rf"{_alternatives(fold(w) for w in words.document_words)}{_FILLER}"
                                     r"([A-Za-z0-9][-A-Za-z0-9]{4,19}(?:\([0-9A-Za-z]\))?)(?![-A-Za-z0-9])")
        # The writer's own vehicle's plate (我的车甘A·12345): its region's character and letter,
        # then five letters or digits but I and O (a new-energy plate: D or F and five more, or
        # five digits and D or F). Another's plate is what a unit must find: kept.
        plate = "[A-HJ-NP-Za-hj-np-z0-9]"
        own = _alternatives(fold(w) for w in words.own_vehicle_words)
        plate_words = _alternatives(fold(w) for w in words.plate_words)
        region = f"[{re.escape(fold(words.plate_regions))}]"
        self._plates = re.compile(
            rf"{own}(?:{plate_words}|{_JOINERS})*+({region}{_S}[A-Za-z]{_S}"
            rf"(?:[DFdf]{plate}[0-9]{{4}}|[0-9]{{5}}[DFdf]|{plate}{{5}}))(?![A-Za-z0-9])")
        self._literals = lru_cache(maxsize=4096)(self._prepare)
        self._surname_forms = lru_cache(maxsize=4096)(self._compile_surname_forms)

    # -- what identity is -----------------------------------------------------------------

    def _prepare(self, identity: Identity) -> _Literals:
        words = self.words
        strings: list[str] = []
        surnames: list[str] = []
        givens: list[str] = []  # 建军 of 王建军: 建军师傅, 建军反映
        spelled: list[str] = []  # the names in pinyin
        for name in identity.names:
            skeleton = skeleton_of(name)
            if skeleton in self._placeholders:
                continue
            if len(skeleton) >= words.shortest_name:
                strings.append(skeleton)
            if skeleton and _CJK.match(skeleton):
                two = skeleton[:2]
                surname = two if len(skeleton) > 2 and two in self._compounds else skeleton[0]
                surnames.append(surname)
                if len(skeleton) - len(surname) >= 2:
                    givens.append(skeleton[len(surname):])
                if len(skeleton) >= words.shortest_name:
                    spelled.append(_romanized(skeleton, len(surname)))
        for phone in identity.phones:
            skeleton = skeleton_of(phone).lstrip("+()")
            if skeleton.startswith("0086"):
                skeleton = skeleton[4:]
            elif skeleton.startswith("86") and len(skeleton) > 11:
                skeleton = skeleton[2:]
            if len(skeleton) >= words.shortest_phone:
                strings.append(skeleton)
        for address in identity.addresses:
            whole = skeleton_of(address)
            if len(whole) >= words.shortest_address:
                strings.append(whole)
            # The same address without its province, city or county ("张掖路168号3单元"), its
            # street, its village, and without the words a writer leaves out ("宁卧庄5栋").
            for skeleton in _address_variants(whole):
                if skeleton != whole and len(skeleton) >= words.shortest_address + 2:
                    strings.append(skeleton)
                for cut in _ADDRESS_CUTS.finditer(skeleton):
                    rest = skeleton[cut.end():]
                    if len(rest) >= words.shortest_address + 2 and _CJK.match(rest):
                        strings.append(rest)
        forms = (self._surname_forms(tuple(dict.fromkeys(surnames)), tuple(dict.fromkeys(givens)))
                 if surnames else None)
        romanized = re.compile("|".join(spelled), re.IGNORECASE) if spelled else None
        return _Literals(tuple(dict.fromkeys(strings)), forms, romanized)

    def _compile_surname_forms(self, surnames: tuple[str, ...], givens: tuple[str, ...]) -> re.Pattern[str]:
        """The registered surnames' every form (老王, 小王, 王女士, 王某), whatever the lists say, and
        a given name of two characters or more where a person is meant (建军师傅, 建军反映)."""
        surname = _alternatives(sorted(surnames, key=len, reverse=True))
        honorific = _spaced([*self._honorifics, *self._titles, "某某", "某"])
        branches = [f"{surname}{_S}{honorific}"]
        if givens:
            branches.append(f"{_alternatives(sorted(givens, key=len, reverse=True))}"
                            f"(?:{_S}{_spaced([*self._honorifics, *self._titles])}|(?={self._told}))")
        if self._prefixes:
            branches.append(f"{_alternatives(self._prefixes)}{_S}{surname}(?P<prefixed>)")
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
        # Names are read with the numerals as written (张三 13912345678: in `folded` its 三 is a
        # digit of the phone's run), numbers in `folded`.
        letters = view.lettered
        if literals is not None and literals.strings:
            for skeleton in dict.fromkeys((view.skeleton, view.lettered_skeleton)):
                for literal in literals.strings:
                    for start in _occurrences(skeleton, literal):
                        found.append(view.raw_span_of_skeleton(start, start + len(literal)))
        # Each pattern only where what it needs is in the text: most texts hold a date's few
        # digits and nothing else a pattern looks for.
        digits = max((len(_DIGIT.findall(run)) for run in _DIGIT_RUN.findall(folded)), default=0)
        if digits >= _FEWEST_DIGITS:
            numbers: list[tuple[int, int]] = []
            for kind, form, fewest in _NUMBERS:
                if digits >= fewest:
                    numbers.extend(view.raw_span(*match.span()) for match in form.finditer(folded)
                                   if not (kind == "card" and _not_a_card(folded, match.start())))
            numbers.extend(_glued_numbers(view))
            numbers.extend(view.raw_span(*match.span(1)) for match in _KEYED.finditer(folded))
            found.extend(numbers)
            found.extend(self._named_before(view, letters, {start for start, _ in numbers}))
        if digits >= 3:
            found.extend(view.raw_span(*match.span(match.lastindex or 0))
                         for match in self._keyed_numbers.finditer(folded))
            found.extend(view.raw_span(*match.span(1)) for match in self._documents.finditer(folded)
                         if len(_DIGIT.findall(match.group(1))) >= 4)
            if "*" in folded:
                found.extend(view.raw_span(*match.span()) for match in _STARRED.finditer(folded))
        found.extend(view.raw_span(s, e) for s, e in _emails(folded))
        for room, needs in ((_ROOM, "单元"), (_ROOM_DASHED, "-")):
            if needs in folded:
                found.extend(view.raw_span(*match.span()) for match in room.finditer(folded))
        found.extend(view.raw_span(*match.span(1)) for match in self._plates.finditer(folded)
                     if _DIGIT.search(match.group(1)))
        found.extend(view.raw_span(*match.span(1)) for match in self._residences.finditer(folded))
        found.extend(view.raw_span(*match.span(1)) for match in self._accounts.finditer(folded))
        if literals is not None and literals.romanized is not None and _LATIN.search(folded):
            found.extend(view.raw_span(*match.span()) for match in literals.romanized.finditer(folded))
        for pattern in (self._people, literals.surname_forms if literals else None):
            if pattern is None:
                continue
            for match in pattern.finditer(letters):
                if not (self._is_word(letters, match.start()) or self._is_place(letters, match)):
                    found.append(view.raw_span(*match.span()))
        introduced = (*self._introduced.finditer(letters),
                      *filter(None, (self._opening.match(letters, at) for at in _sentence_starts(letters))))
        self_named = (m for m in self._self_named.finditer(letters) if not self._is_role(m.group("name")))
        for match in (*self._labelled.finditer(letters), *self._compound_names.finditer(letters), *introduced,
                      *self_named, *self._own_surname.finditer(letters)):
            if not self._is_word(letters, match.start("name")):
                found.append(view.raw_span(*match.span("name")))
        for match in self._callers.finditer(letters):
            group = "name" if match.group("name") else "names"
            if not any(self._not_a_caller(letters, at, name) for at, name in _listed_names(match, group)):
                found.append(view.raw_span(*match.span(group)))
        for pattern, needs in ((self._self_callers, ""), (self._bracketed, "("), (self._grouped, "等")):
            if needs not in letters:
                continue
            for match in pattern.finditer(letters):
                if not self._not_a_caller(letters, match.start("name"), match.group("name")):
                    found.append(view.raw_span(*match.span("name")))
        starts = _sentence_starts(letters)
        for match in filter(None, (self._opening_caller.match(letters, at) for at in starts)):
            if not self._not_a_caller(letters, match.start("name"), match.group("name")):
                found.append(view.raw_span(*match.span("name")))
        if digits >= 4 and "生" in folded:
            found.extend(view.raw_span(*match.span(match.lastindex or 0))
                         for match in self._births.finditer(folded))
        return self._with_listed(view, letters, _merged(found))

    def _named_before(self, view: TextView, letters: str, starts: set[int]) -> Iterator[tuple[int, int]]:
        """The name right before each number that begins at one of `starts` (王五，13912345678; 赵六
        电话139…): whose number it is."""
        for start in starts:
            at = view.folded_at(start)
            base = max(0, at - _BEFORE_NUMBER)
            # a text's start is where a sentence begins: a full stop before it says so
            window = ("。" if base == 0 else "") + letters[base:at]
            shift = base - (base == 0)
            match = self._before_number.search(window)
            if match is None:
                continue
            group = "name" if match.group("name") else "after"
            begin, end = match.start(group) + shift, match.end(group) + shift
            if not (self._not_a_caller(letters, begin, letters[begin:end])
                    or self._says(letters[begin:end])):
                yield view.raw_span(begin, end)

    def _says(self, found: str) -> bool:
        """Whether a name found before a number ends in what a record says a person did: 国来电 of
        李建国来电13609318888 is no name."""
        return self._ends_saying.search(found) is not None

    def _with_listed(self, view: TextView, letters: str,
                     spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """`spans` and each name listed right after a masked one (张大山、李小河、王二等十人), in
        turn: a list that begins with a masked name lists the same kind of people; and the name of
        a masked person's family (王建军的女儿王小红)."""
        more: list[tuple[int, int]] = []
        ends = [end for _, end in spans]
        while ends:
            at = view.folded_at(ends.pop())
            for pattern in (self._listed, self._kin):
                match = pattern.match(letters, at)
                if match and not self._not_a_caller(letters, match.start("name"), match.group("name")):
                    more.append(view.raw_span(*match.span("name")))
                    ends.append(more[-1][1])
        return _merged(spans + more) if more else spans

    def _not_a_caller(self, folded: str, at: int, name: str) -> bool:
        """Whether a name found by the rules for callers, groups and lists is none: it begins inside
        a word that is no name, with what stands before a verb (向社区反映, 强烈要求), ends in an
        official's title (李局长等3人, 张书记: the unit complained about is no secret) or as a
        place or an org's name does (金融局反映, 张家村反映)."""
        name = name.replace(" ", "")
        return (self._is_word(folded, at) or name.startswith(self._caller_not_names)
                or name.endswith(self._officials) or name[-1] in self._org_endings)

    def _is_word(self, folded: str, at: int) -> bool:
        """Whether the person found at `at` begins inside a word that is not a name: 小区 at 小,
        保安师傅 at 安 (保安 is the word)."""
        return any(at >= k and folded.startswith(word, at - k)
                   for word, k in self._not_names.get(folded[at], ()))

    def _is_role(self, name: str) -> bool:
        """Whether a full name found ends as no name does: a kind of person (江苏人, 快递员), a particle;
        an ending a given name has too (方) only after a word (付款方, not 李方)."""
        if name[-1] in self._given_name_endings and len(skeleton_of(name)) == 2:
            return False
        return name[-1] in self._role_endings

    def _is_place(self, folded: str, match: re.Match[str]) -> bool:
        """Whether a prefix and a surname found with no honorific begin a place's name: 小王庄村."""
        return (match.groupdict().get("prefixed") is not None and match.end() < len(folded)
                and folded[match.end()] in self._place_suffixes)

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


# An age, a person's (not 40岁以上, a group's)
_AGE = r"(?:现年|今年|年龄)?:?\s*[0-9一二三四五六七八九十]{1,3}\s*周?岁(?!以上|以下|以内|及以上)"
_BORN = r"[0-9]{2,4}\s*年(?:\s*[0-9]{1,2}\s*月)?(?:\s*[0-9]{1,2}\s*日)?\s*出?生"


def _listed_names(match: re.Match[str], group: str) -> Iterator[tuple[int, str]]:
    """Each name of a group that may list several (张大山、李小河), with where it begins."""
    at = match.start(group)
    for name in match.group(group).split("、"):
        yield at + len(name) - len(name.lstrip(" ")), name.strip(" ")
        at += len(name) + 1


def _particulars(ethnic_groups: Iterable[str]) -> str:
    """What follows a person's name in their particulars: 男 or 女 standing alone (男性, （女）),
    an ethnic group (汉族), an age (现年58岁), a year of birth (1965年3月出生)."""
    groups = _alternatives(sorted(set(ethnic_groups), key=len, reverse=True))
    return (rf"(?:\(\s*)?[男女]性?(?=$|[\s,.;:!?()、。])|(?:{groups})族|{_AGE}|{_BORN}")


_SENTENCE_END = re.compile(r"[。!?;\n]")


def _sentence_starts(folded: str) -> Iterator[int]:
    yield 0
    for end in _SENTENCE_END.finditer(folded):
        yield end.end()


_BEFORE_NUMBER = 16  # the characters before a number its owner's name is looked for in
_LATIN = re.compile("[A-Za-z]")
# A romanized letter as it may be written: with or without its tone mark (Lǐ Jiànguó); ü as v or u.
_TONED = {"a": "[aāáǎà]", "e": "[eēéěè]", "i": "[iīíǐì]", "o": "[oōóǒò]", "u": "[uūúǔù]",
          "v": "[vuüǖǘǚǜ]"}
_READINGS = 3  # the readings of one character a name is looked for by (单: dan, shan, chan)
_LONE_LETTERS = 6  # a name spelled in fewer letters (Li Si) is one only as a word of its own


def _romanized(name: str, surname: int) -> str:
    """A pattern of a registered Chinese name in pinyin (pypinyin's readings of each character),
    surname first or last (Li Jianguo, LI JIAN-GUO, lijianguo, Jianguo Li), separators and tone
    marks allowed; a short one not inside a longer word (lisi in analisis)."""
    from pypinyin import Style, pinyin

    readings = pinyin(name, style=Style.NORMAL, heteronym=True, errors="ignore")
    syllables = ["(?:" + "|".join("".join(_TONED.get(c, re.escape(c)) for c in reading)
                                  for reading in each[:_READINGS]) + ")" for each in readings]
    joined = "|".join(f"[{re.escape(SEPARATORS)}]*".join(part)
                      for part in (syllables, syllables[surname:] + syllables[:surname]))
    if sum(len(each[0]) for each in readings) >= _LONE_LETTERS:
        return f"(?:{joined})"
    return f"(?<![a-z])(?:{joined})(?![a-z])"


def _fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


def _address_variants(skeleton: str) -> list[str]:
    """A registered address and the forms of it without the words a writer leaves out, and with
    a building named by another word (5栋 for 5号楼)."""
    out = [skeleton]
    for word in _ADDRESS_OMITTED:
        out += [v.replace(word, "") for v in out if word in v]
    for same in _ADDRESS_SAME:
        for word in same[:-1]:  # the last is too common a word to look for in an address
            out += [v.replace(word, other) for v in out if word in v for other in same if other != word]
    return list(dict.fromkeys(out))


def _spaced(words: Iterable[str]) -> str:
    """Alternatives of words whose characters may stand apart (王 先 生, 王·女·士)."""
    options = [_S.join(re.escape(c) for c in w) for w in sorted(set(words), key=len, reverse=True) if w]
    return "(?:" + "|".join(options or ["(?!)"]) + ")"


def _alternatives(words: Iterable[str], chars: str = "") -> str:
    """Any of `words` (the longest that fits first, in whatever order they come), or one of `chars`:
    as a trie (王女士|王先生 is 王(?:女士|先生)), which the regular expression engine tries a third
    faster than a list."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for c in word:
            node = node.setdefault(c, {})
        if word:
            node[""] = {}
    options = [_trie(trie)] if trie else []
    if chars:
        options.append("[" + "".join(re.escape(c) for c in chars) + "]")
    return "(?:" + "|".join(options or ["(?!)"]) + ")"


def _trie(node: dict[str, Any]) -> str:
    branches = [re.escape(c) + _trie(rest) for c, rest in sorted(node.items()) if c]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at >= 0:
        yield at
        at = haystack.find(needle, at + len(needle))


def _emails(folded: str) -> Iterator[tuple[int, int]]:
    """Each user@domain.tld around an '@' (or "(at)", "#"…), scanned outwards at most 64/255
    characters: linear in the text."""
    if not any(marker in folded for marker in _AT_MARKS):
        return
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
    yield from (match.span() for match in _SPELLED_EMAIL.finditer(folded))
    if "@" in folded:
        yield from (match.span() for match in _AT_PROVIDER.finditer(folded))


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
                if match is not None and not (kind == "card" and _not_a_card(folded, at)):
                    yield view.raw_span(*match.span())


# A run of digits that begins with a day (20230628…, 2023032420230424) is a work order's number or two
# dates side by side, not a card: no card's issuer number begins with 19 or 20.
_DAY_FIRST = re.compile(r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])")


def _not_a_card(folded: str, at: int) -> bool:
    """Whether digits found as a card at `at` are something else: a 统一社会信用代码 (its check
    character may be a letter after the digits) or a number that begins with a day."""
    return _is_credit_code(folded[at:at + 18]) or _DAY_FIRST.match(folded, at) is not None


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
