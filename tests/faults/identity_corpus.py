"""Identity written the ways people write it, for the leak census (tests/faults/test_leaks.py).

Two complainants of one case (the first, and a repeat caller), plus a third person their texts
name. Each form is how a clerk, a dispatcher, a reviewer or a unit might type it into a title, a
summary, a note or a report. A form leaks when its needle shows up in what a door answers, after
both are folded alike (`fold`): NFKC, lower case, Chinese numerals as digits, separators dropped.
So "136 0931 8888" leaks if the answer says "13609318888", "+86 136-0931-8888" or
"一三六〇九三一八八八八" — whatever the form, the number is the secret.

Written independently of the redactor's own corpus (tests/services/test_redaction*.py), so that the
census does not grade the redactor with its own examples.
"""

from __future__ import annotations

import re
import unicodedata

FIRST_NAME = "司马青竹"
FIRST_PHONE = "13609318888"
FIRST_ADDRESS = "兰州市城关区雁南路188号7栋2单元501室"
REPEAT_NAME = "李建国"
REPEAT_NAME_TRADITIONAL = "李建國"
REPEAT_PHONE = "0931-8456789"

# (written form, what it reveals) — the needle is the fold of the second element.
FORMS: list[tuple[str, str]] = [
    # The first complainant's name, whole, spaced, in parts, with honorifics.
    ("司马青竹", "司马青竹"),
    ("司 马 青 竹", "司马青竹"),
    ("司\u3000马\u3000青\u3000竹", "司马青竹"),
    ("司马·青竹", "司马青竹"),
    ("司马先生", "司马先生"),
    ("司马女士", "司马女士"),
    ("老司马", "老司马"),
    ("司马师傅", "司马师傅"),
    # The repeat caller, a one-character surname.
    ("李建国", "李建国"),
    ("李 建 国", "李建国"),
    ("李先生", "李先生"),
    ("李女士", "李女士"),
    ("李师傅", "李师傅"),
    ("李大爷", "李大爷"),
    ("李阿姨", "李阿姨"),
    ("李大姐", "李大姐"),
    ("李老汉", "李老汉"),
    ("老李头", "老李头"),
    # Someone else the texts name as a person (the complainant's mother): no registration at all.
    ("王女士", "王女士"),
    ("赵大妈", "赵大妈"),
    ("诸葛先生", "诸葛先生"),
    # The first complainant's mobile, every way it gets written.
    ("13609318888", FIRST_PHONE),
    ("136 0931 8888", FIRST_PHONE),
    ("136-0931-8888", FIRST_PHONE),
    ("136.0931.8888", FIRST_PHONE),
    ("1360-931-8888", FIRST_PHONE),
    ("+86 136 0931 8888", FIRST_PHONE),
    ("+8613609318888", FIRST_PHONE),
    ("0086-136-0931-8888", FIRST_PHONE),
    ("(+86)13609318888", FIRST_PHONE),
    ("１３６０９３１８８８８", FIRST_PHONE),
    ("１３６　０９３１　８８８８", FIRST_PHONE),
    ("136\u30000931\u30008888", FIRST_PHONE),
    ("一三六〇九三一八八八八", FIRST_PHONE),
    ("136/0931/8888", FIRST_PHONE),
    ("136\u00a00931\u00a08888", FIRST_PHONE),
    # Another mobile nobody registered (a relative's): still identity.
    ("手机15193100066", "15193100066"),
    ("电话：189-1922-0457", "18919220457"),
    # The repeat caller's landline.
    ("0931-8456789", "9318456789"),
    ("(0931)8456789", "9318456789"),
    ("（0931）8456789", "9318456789"),
    ("0931 845 6789", "9318456789"),
    ("0931-8456789转123", "9318456789"),
    ("+86-931-8456789", "9318456789"),
    ("09318456789", "9318456789"),
    ("０９３１－８４５６７８９", "9318456789"),
    # ID numbers.
    ("620102198507153216", "620102198507153216"),
    ("620102 19850715 3216", "620102198507153216"),
    ("62010219850715321x", "62010219850715321x"),
    ("62010219850715321X", "62010219850715321x"),
    ("６２０１０２１９８５０７１５３２１６", "620102198507153216"),
    ("620102850715321", "620102850715321"),
    # E-mail.
    ("simaqingzhu@163.com", "simaqingzhu@163.com"),
    ("SimaQingZhu@163.com", "simaqingzhu@163.com"),
    ("sima.qz@lz.gov.example.cn", "sima.qz@lz.gov.example.cn"),
    ("simaqingzhu＠163．com", "simaqingzhu@163.com"),
    # Bank cards.
    ("6222021234567890123", "6222021234567890123"),
    ("6222 0212 3456 7890 123", "6222021234567890123"),
    ("6228-4800-1234-5678", "6228480012345678"),
    # The registered address.
    (FIRST_ADDRESS, FIRST_ADDRESS),
    ("兰州市 城关区 雁南路188号 7栋2单元501室", FIRST_ADDRESS),
    # The repeat caller's name in traditional characters; a writer who introduces themself.
    (REPEAT_NAME_TRADITIONAL, REPEAT_NAME_TRADITIONAL),
    ("本人韩梅梅，女，汉族，现年45岁", "韩梅梅"),
    ("Sima Qingzhu", "simaqingzhu"),
    # How a hotline record names a caller: after a word for people, in a list, with a numeral in
    # the name before a number; the registered given name alone.
    ("市民赵丽颖来电", "赵丽颖"),
    ("农民工孙大山、钱小河等十人", "钱小河"),
    ("联系人：韩小五 15193100077", "韩小五"),
    ("青竹师傅", "青竹"),
    ("来电人扎西才让反映", "扎西才让"),  # a Tibetan name: no surname
    ("冯大海 15193100088", "冯大海"),  # a name before its number
]

_NUMERALS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_SEPARATORS = re.compile(r"[\s\-.·/()（）+_\u00b7\u2010-\u2015\u30fb]+")


def fold(text: str) -> str:
    """What a text says, with how it is written folded away."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_NUMERALS)
    return _SEPARATORS.sub("", text)


NEEDLES: dict[str, str] = {fold(needle): written for written, needle in FORMS}
_REPEAT_NAMES = (REPEAT_NAME, REPEAT_NAME_TRADITIONAL)


def found_in(answer: str) -> list[str]:
    """The written forms whose identity shows in `answer` (one per needle)."""
    folded = fold(answer)
    return [written for needle, written in NEEDLES.items() if needle in folded]


def texts(count: int, *, of: str = "") -> list[str]:
    """`count` complaint texts that together carry every form once, in ordinary sentences.

    `of`: a case whose only complainant is this person leaves out the repeat caller's name (an
    unregistered name in free text is anyone's: the official complained about, a neighbour).
    """
    forms = [w for w, needle in FORMS if not (of and of != REPEAT_NAME and needle in _REPEAT_NAMES)]
    chunks: list[list[str]] = [[] for _ in range(count)]
    for i, written in enumerate(forms):
        chunks[i % count].append(written)
    return ["；".join(f"据反映人称{form}仍未解决" for form in chunk) + "。" for chunk in chunks]
