"""The redactor: identity in any written form is masked; ordinary text is left as it was."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duban.config.privacy import load_privacy
from duban.errors import ConfigError
from duban.services.redaction import NO_IDENTITY, Identity, Redactor, redact_text
from duban.services.textview import NUMERALS, TextView

MASK = "（保密）"
LI = Identity.single("李建国", "13609318888", "兰州市城关区张掖路街道168号3单元501室")

# At least 50 written forms of identity. Each is embedded in ordinary text and must be cut out
# exactly: the text around it stays, the form becomes one mask.
FORMS = [
    # the registered name, spaced, separated, full-width spaced
    "李建国", "李 建 国", "李·建·国", "李　建　国", "李-建-国", "李\u00a0建国", "李\u200b建国",
    # the registered surname's forms
    "李先生", "李 先生", "老李", "小李", "李师傅", "李大爷", "李某",
    # any common surname with an honorific or a prefix
    "王女士", "张大妈", "刘阿姨", "陈师傅", "赵大哥", "孙大姐", "周老汉", "吴小姐", "欧阳先生", "老马师傅",
    "小王", "老张", "诸葛女士", "马大爷", "黄奶奶",
    # mobiles
    "13609318888", "136 0931 8888", "136-0931-8888", "136.0931.8888", "136·0931·8888",
    "136/0931/8888", "136\u30000931\u30008888", "136\u00a00931\u00a08888", "１３６０９３１８８８８",
    "１３６ ０９３１ ８８８８", "一三六〇九三一八八八八", "幺三六零九三幺八八八八",
    "一三六 〇九三一 八八八八",
    "+8613609318888", "+86 136 0931 8888", "0086-136-0931-8888", "(+86)13609318888", "（+86）13609318888",
    "+86-139-1234-5678", "15012345678", "1 3 6 0 9 3 1 8 8 8 8", "壹叁陆零玖叁壹捌捌捌捌",
    "①③⑥⓪⑨③①⑧⑧⑧⑧", "136零九三一8888", "𝟏𝟑𝟔𝟎𝟗𝟑𝟏𝟖𝟖𝟖𝟖", "١٣٦٠٩٣١٨٨٨٨",
    # landlines with area code
    "0931-8888888", "0931 8888888", "(0931)8888888", "（0931）8888888", "０９３１－８８８８８８８",
    "010-62345678", "021 6234 5678", "0931-8888888转123", "+86 931 8888888", "〇九三一 八八八八八八八",
    "0931—8888888", "0931 - 888 8888", "(136)0931-8888", "136~0931~8888", "1\u200f3609318888",
    "1\u03013609318888", "6222.0212.3456.7890", "李某某",
    # ID numbers
    "620123198001011234", "62012319800101123X", "62012319800101123x", "620123 19800101 1234",
    "6201 2319 8001 0112 34", "６２０１２３１９８００１０１１２３Ｘ", "620123-19800101-123X",
    "620123800101123",
    # e-mail
    "lijianguo@163.com", "li.jian-guo+x@mail.gs.gov.cn", "lijianguo＠163．com", "13609318888@qq.com",
    "LiJG_1980@Example.COM.cn", "lijianguo(at)163.com", "lijianguo[at]163.com", "lijianguo # 163.com",
    "lijianguo艾特163.com", "lijianguo @ 163 .com".replace(" .", "."), "lijianguo@163。com",
    # bank cards
    "6222021234567890123", "6222 0212 3456 7890 123", "6222-0212-3456-7890", "6217 0000 1234 5678",
    "622202 1234567890123", "4367421234567890",
    # the registered address, spaced and full-width
    "兰州市城关区张掖路街道168号3单元501室", "兰州市城关区 张掖路街道 168号 3单元 501室",
    "兰州市城关区张掖路街道１６８号３单元５０１室", "城关区张掖路街道168号3单元501室",
    "张掖路街道１６８号３单元５０１室",
]


def _redactor() -> Redactor:
    return Redactor(load_privacy(), MASK)


def test_the_corpus_holds_at_least_fifty_different_forms() -> None:
    assert len(set(FORMS)) == len(FORMS) >= 50


@pytest.mark.parametrize("form", FORMS)
def test_every_written_form_of_identity_is_cut_out_exactly(form: str) -> None:
    before, after = "据来电反映：", "，请核实办理。"
    assert _redactor().redact(f"{before}{form}{after}", LI) == f"{before}{MASK}{after}"


@pytest.mark.parametrize("form", FORMS)
def test_a_form_alone_is_masked_whole(form: str) -> None:
    assert _redactor().redact(form, LI) == MASK


# Texts a unit must read as they are: numbers of cases, dates, amounts, codes, counts.
ORDINARY = [
    "GS-LZ-2023-00012", "案件编号GS-LZ-CG-2024-01234已受理", "2023年3月24日", "2023-03-24",
    "2023/3/24 10:30", "2023.03.24—2023.04.24", "2023-03-24至2023-04-01", "二〇二三年三月二十四日",
    "12.5万元", "4216万元", "拖欠工程款1,234,567.89元", "第3次", "共15人", "3000平方米", "第1至第12条",
    "统一社会信用代码91620100MA71234567", "统一社会信用代码：91620000224340447Y",
    "组织机构代码12345678-9", "统一社会信用代码126200004385301008",
    "小区居民反映小时工工资", "老师说小区的路灯坏了", "老旧小区改造", "革命老区", "各位同志", "单位同志",
    "老百姓", "小于30日", "小康社会", "城关区住建局拖欠某建设集团工程款4216万元",
    "反映人称工程已完工三年。", "办理期限15个工作日", "邮编730030", "2023年第12期", "10:30-11:30",
    "温度-5℃", "GB/T 7714-2015", "阿里巴巴", "某某公司", "（保密）", "数量100-200件", "第2023-0012号文件",
    "依据《信访工作条例》第三十条", "1.2.3.4", "IP 10.0.0.1", "v1.2.3", "ISBN 978-7-111-12345-6",
    "3#楼2单元", "甘政发〔2023〕168号", "C# 与 F#", "a@b.c", "张掖路施工", "13号楼", "拨打12345热线",
    "共计1360931户", "一二三四", "十一月二十三日", "统计截至2023年12月31日24时",
    "保安师傅说", "照顾老人", "我和姐姐", "门卫大爷", "宿管阿姨", "拨打热线电话12345",
    "（2023）甘0102民初1234号",
    "甘A12345", "730030", "95.5%", "10:30", "1481件", "2023年3月24日18时",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_as_it_was(text: str) -> None:
    assert _redactor().redact(text, LI) == text


def test_a_registered_name_is_found_whoever_complained_later() -> None:
    both = LI | Identity.single("赵六", "18912345678", "")
    text = "赵六反映与李建国同一事项，电话189 1234 5678"
    assert _redactor().redact(text, both) == f"{MASK}反映与{MASK}同一事项，电话{MASK}"


def test_a_rare_registered_surname_still_has_all_its_forms() -> None:
    rare = Identity.single("禤明", "", "")
    assert _redactor().redact("禤女士和老禤都说了", rare) == f"{MASK}和{MASK}都说了"


def test_a_placeholder_in_the_name_field_is_not_searched_for() -> None:
    assert _redactor().redact("匿名来电，群众反映", Identity.single("匿名", "", "")) == "匿名来电，群众反映"
    assert _redactor().redact("群众反映", Identity.single("群 众", "", "")) == "群众反映"


def test_a_one_character_name_blanks_nothing_else() -> None:
    assert _redactor().redact("张反映的事项已办", Identity.single("张", "", "")) == "张反映的事项已办"


def test_a_registered_local_phone_is_masked_however_spaced() -> None:
    local = Identity.single("", "8888 888", "")
    assert _redactor().redact("打8 888 888找人", local) == f"打{MASK}找人"


def test_a_latin_registered_name_is_found_in_any_case_and_spacing() -> None:
    latin = Identity.single("Li Jianguo", "", "")
    assert _redactor().redact("LI JIANGUO、li-jianguo、LiJianguo", latin) == f"{MASK}、{MASK}、{MASK}"


def test_an_account_named_after_its_word_is_masked_and_the_word_kept() -> None:
    assert _redactor().redact("微信号：wxid_li1980，QQ 12345678", NO_IDENTITY) == f"微信号：{MASK}，QQ {MASK}"


def test_no_identity_still_masks_what_the_patterns_find() -> None:
    assert redact_text("王女士 13609318888", NO_IDENTITY) == f"{MASK} {MASK}"


def test_empty_and_missing_texts_stay_empty() -> None:
    assert redact_text("", LI) == ""
    assert redact_text(None, LI) == ""


def test_the_folded_view_maps_every_character_back_to_where_it_was_written() -> None:
    view = TextView.of("㈠１３６　〇九三一")
    assert view.folded == "(一)136 0931"  # a lone numeral stays a word; four in a row are digits
    assert view.raw_span(0, 3) == (0, 1)  # "(一)" came from "㈠"
    assert view.raw_span(3, 11) == (1, 9)


def test_a_broken_word_list_names_the_file_and_key(tmp_path) -> None:
    (tmp_path / "privacy.toml").write_text('surnames = ["王 李"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="surnames"):
        load_privacy(tmp_path)


def test_an_office_can_add_a_word_that_is_not_a_name(tmp_path) -> None:
    (tmp_path / "privacy.toml").write_text('not_names = ["王女士路"]\n', encoding="utf-8")
    redactor = Redactor(load_privacy(tmp_path), MASK)
    assert redactor.redact("王女士路口", NO_IDENTITY) == "王女士路口"
    assert redactor.redact("王女士", NO_IDENTITY) == MASK


# -- properties ----------------------------------------------------------------------------------

_FILLER = st.text(alphabet=st.sampled_from(list("的了是在有和就不人都一个上也很到说要去你会着没看好自己这"
                                                 "，。；：！？（）、 \n")
                                           + list(string.ascii_letters)), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_FILLER, form=st.sampled_from(FORMS), after=_FILLER)
def test_a_form_embedded_in_random_text_is_always_masked(before: str, form: str, after: str) -> None:
    redacted = _redactor().redact(f"{before}{form}{after}", LI)
    assert form not in redacted
    assert MASK in redacted
    # Whatever surrounds it, the text before and after the form is never cut into by more than
    # what the form's neighbours themselves make up (a mask never lands inside the filler alone).
    assert redacted.replace(MASK, "").count("\n") == f"{before}{after}".count("\n")


# Numbers written in Chinese numerals, and words made of a numeral that may stand right beside them.
_NUMERAL_FORMS = ["〇九三一八八八八八八八", "〇九三一 八八八八八八八", "一三六〇九三一八八八八",
                  "幺三六零九三幺八八八八", "壹叁陆零玖叁壹捌捌捌捌", "六二〇一二三一九八〇〇一〇一一二三四",
                  "一三六 〇九三一 八八八八"]
_NUMERAL_WORDS = ["一", "一一", "统一", "第一", "唯一", "一直", "一个", "八成", "五楼", "三次", "二手",
                  "零钱"]
_NUMERAL = re.compile("[" + "".join(NUMERALS) + "]")


def _numerals(text: str) -> int:
    return len(_NUMERAL.findall(text))


@pytest.mark.parametrize("form", _NUMERAL_FORMS)
@pytest.mark.parametrize("word", _NUMERAL_WORDS)
def test_a_number_in_numerals_is_masked_whole_beside_a_word_that_is_a_numeral(form: str, word: str) -> None:
    for text in (f"反映{word}{form}打不通", f"反映{form}{word}打不通", f"{word}{form}{word}",
                 f"㈠{word}{form}"):
        redacted = _redactor().redact(text, NO_IDENTITY)
        assert MASK in redacted and form not in redacted, text
        # Every numeral of the number went under the mask: what is left is at most the words'.
        assert _numerals(redacted.replace(MASK, "")) <= _numerals(text.replace(form, "")), (text, redacted)
        assert "打不通" in redacted or not text.endswith("打不通")


@settings(max_examples=300, deadline=None)
@given(before=st.text(alphabet="".join(NUMERALS) + "的是个直楼成次 \n", max_size=12),
       form=st.sampled_from(_NUMERAL_FORMS),
       after=st.text(alphabet="".join(NUMERALS) + "的是个直楼成次 \n", max_size=12))
def test_a_number_in_numerals_is_masked_whatever_numerals_surround_it(before: str, form: str,
                                                                      after: str) -> None:
    redacted = _redactor().redact(f"{before}{form}{after}", NO_IDENTITY)
    assert MASK in redacted and form not in redacted
    assert _numerals(redacted.replace(MASK, "")) <= _numerals(before + after)


_DIGITS = st.tuples(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9)).map(
    lambda parts: "1" + parts[0] + parts[1])


@settings(max_examples=200, deadline=None)
@given(before=_FILLER, mobile=_DIGITS, sep=st.sampled_from([" ", "-", ".", "·", "/", "\u3000", "\u00a0", ""]),
       after=_FILLER)
def test_any_mobile_number_with_any_separator_is_masked(before: str, mobile: str, sep: str,
                                                        after: str) -> None:
    written = f"{mobile[:3]}{sep}{mobile[3:7]}{sep}{mobile[7:]}"
    redacted = _redactor().redact(f"{before}{written}{after}", NO_IDENTITY)
    assert not any(c.isdigit() for c in redacted)  # the filler has no digits: all were the phone's


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_no_text_makes_the_redactor_raise(text: str) -> None:
    redactor = _redactor()
    spans = redactor.spans(text, LI)
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))  # sorted, apart
    assert isinstance(redactor.redact(text, LI), str)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=2000))
def test_redaction_is_stable_on_its_own_output(text: str) -> None:
    redactor = _redactor()
    once = redactor.redact(text, LI)
    assert redactor.redact(once, LI) == once


@pytest.mark.parametrize("evil", [
    "1 " * 50_000, "1" * 100_000, "@" * 50_000, "a." * 50_000 + "@", "王" * 100_000,
    "13609318888" * 10_000, "-" * 100_000 + "1", "老" * 50_000, "a@" * 50_000, "１　" * 50_000,
    "一" * 100_000, "一 " * 50_000, "一三六〇九三一八八八八一直" * 8_000, "一" * 399 + "x" * 20_000,
    ("一" * 399 + "x") * 250,
])
def test_long_hostile_texts_are_redacted_without_blowing_up(evil: str) -> None:
    assert isinstance(_redactor().redact(evil, LI), str)


def _credit_code(body: str) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(chars.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + chars[(31 - total % 31) % 31]


_DATE = st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2026, 12, 31))
_ORDINARY_ITEM = st.one_of(
    st.builds(lambda office, y, n: f"{office}-{y}-{n:05d}",
              st.sampled_from(["GS", "GS-LZ", "GS-LZ-CG", "GS-BY"]), st.integers(2004, 2026),
              st.integers(1, 99999)),
    _DATE.map(lambda d: f"{d.year}年{d.month}月{d.day}日"), _DATE.map(lambda d: d.isoformat()),
    _DATE.map(lambda d: f"{d.year}/{d.month}/{d.day}"), _DATE.map(lambda d: d.strftime("%Y.%m.%d")),
    st.builds(lambda d, h, m: f"{d.isoformat()} {h:02d}:{m:02d}", _DATE, st.integers(0, 23),
              st.integers(0, 59)),
    st.builds(lambda a, b: f"{a}.{b}万元", st.integers(1, 99999), st.integers(1, 9)),
    st.integers(1, 10**9).map(lambda n: f"{n:,}元"), st.integers(1, 99).map(lambda n: f"第{n}次"),
    st.integers(1, 99999).map(lambda n: f"共{n}人"),
    # Organisation codes as most are written: digits, a letter at most in the last place. (One
    # with letters inside, set beside another, can hold a run of digits shaped like a phone; the
    # redactor masks that run: a false positive, which leaks nothing.)
    st.builds(lambda head, area, rest, last: _credit_code(head + area + rest + last),
              st.sampled_from(["91", "11", "12", "52", "93"]),
              st.sampled_from(["620100", "620102", "620000"]),
              st.text(alphabet="0123456789", min_size=8, max_size=8),
              st.sampled_from(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))),
)


@settings(max_examples=500, deadline=None)
@given(items=st.lists(_ORDINARY_ITEM, min_size=1, max_size=4),
       sep=st.sampled_from([" ", "，", "、", "至", "；", " - ", "—", "/"]))
def test_ordinary_items_side_by_side_stay_intact(items: list[str], sep: str) -> None:
    text = sep.join(items)
    assert _redactor().redact(text, LI) == text


def test_a_credit_code_with_letters_in_its_organisation_code_is_no_card() -> None:
    code = _credit_code("9162010000000000A")  # 16 digits, then a letter: not a bank card
    text = f"该公司统一社会信用代码{code}，法人未到场"
    assert _redactor().redact(text, LI) == text
    assert (_redactor().redact("卡号6222021234567890123，身份证620102198507153216", LI)
            == "卡号（保密），身份证（保密）")
