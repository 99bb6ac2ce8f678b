"""The redactor: identity in any written form is masked; ordinary text is left as it was."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
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
    # ... and in traditional characters, and in pinyin
    "李建國", "李 建 國", "Li Jianguo", "LI JIAN GUO", "Jianguo Li", "Lǐ Jiànguó", "li-jianguo",
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
    # mobiles: the country code bare, a long-distance 0, groupings in pairs and fives
    "8613609318888", "86 136 0931 8888", "(86)13609318888", "013609318888", "136 09 31 88 88",
    "136-093-18-888", "13 6093 18888", "13609 318888", "136 0931 88 88", "136 093 188 88",
    # digits and numerals mixed, fewer numerals than a run of their own
    "幺36 0931 8888", "1360九三1八888", "136093一8888", "一36 0931 8888",
    # numbers abroad, and what a writer starred out
    "+852 9123 4567", "00852 9123 4567", "+1 212 555 0100", "136****8888", "620123********1234",
    "6222 02** **** 7890",
    # landlines and ID numbers in more groupings
    "0931 888 88 88", "0931 88 88 66 66", "620 123 198 001 011 234", "620123 1980 01 01 1234",
    "620123 80 01 01 123",
    # e-mail spelled out
    "lijianguo at 163 dot com", "lijianguo(at)163(dot)com", "lijianguo艾特163点com", "lijianguo@ 163 . com",
    "lijianguo【at】163.com", "lijianguo@163", "LiJianguo AT qq DOT com",
    # the registered surname's forms, apart, and with a title
    "李 先 生", "李·女·士", "李老师", "李同志", "李医生", "李经理", "李老板", "李总",
    # the registered address without the words people leave out, or cut after its street
    "城关区张掖路168号3单元501室", "兰州市城关区张掖路168号3单元501室",
    # a home's unit and room, whoever lives there
    "2单元301室", "二单元三〇一室", "5-2-301室",
    # the registered given name with an honorific, and a birth date
    "建国师傅", "建国大哥",
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
    # numbers of things, not of people: a work order's (it begins with its day), two days side by
    # side, an invoice's
    "工单编号2023062810001234", "工单号20230628100012345", "期间2023032420230424", "发票号码12345678",
    "合同号码20230001", "3#楼2单元", "13号楼3单元", "第3一5条", "2023一2024年",
    # words a surname ends or begins: no one is named
    "该厂原先生产化肥", "燃气公司师傅来修", "对门大姐说", "河南大哥", "由于先生生病", "小王庄村", "老李沟村",
    "我是张掖人。", "我是党员，", "投诉人何时能得到答复", "当事人双方", "联系人电话未留", "住院治疗",
    "城关区住建局", "单位地址：城关区", "meet at 5 pm", "we meet at home dot", "东方红小区", "西门子公司",
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
@example(before="", form="lijianguo@163.com", after="\n。AA")  # 。 after a line's end is no dot
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


# Words that say what follows: the number, account or name after them is masked, the words kept.
KEYED = [
    ("QQ号 12345678", "QQ号 （保密）"), ("扣扣123456789", "扣扣（保密）"),
    ("QQ邮箱123456789", "QQ邮箱（保密）"),
    ("VX：wxid_li1980", "VX：（保密）"), ("微信账号是abc_1234", "微信账号是（保密）"),
    ("卡号：6222 0212 3456 78", "卡号：（保密）"), ("存折账号27-0101-0401-0012345", "存折账号（保密）"),
    ("手机尾号8888的来电人", "手机尾号（保密）的来电人"), ("身份证后四位1234", "身份证后四位（保密）"),
    ("护照号E12345678", "护照号（保密）"), ("港澳通行证C12345678", "港澳通行证（保密）"),
    ("香港身份证A123456(7)", "香港身份证（保密）"), ("我的号码1234567", "我的号码（保密）"),
    ("手机（136 0931 8888）", "手机（（保密））"),
    ("我叫张伟，家住", "我叫（保密），家住"), ("联系人：刘洋 电话", "联系人：（保密） 电话"),
    ("反映人赵磊称", "反映人（保密）称"), ("申请人：陈建国", "申请人：（保密）"),
    ("举报人欧阳建国反映", "举报人（保密）反映"), ("司马小红，", "（保密），"),
    ("欧阳建国反映", "（保密）反映"), ("LiJianguo AT qq DOT com。A", "（保密）。A"),
    ("此致\n敬礼！\n\n张三\n2023年3月1日", "此致\n敬礼！\n\n（保密）\n2023年3月1日"),
    ("署名：王小明", "署名：（保密）"), ("落款：赵建国 2023.3.1", "落款：（保密） 2023.3.1"),
    ("请签名确认，此致敬礼！", "请签名确认，此致敬礼！"), ("落款单位公章", "落款单位公章"),
    ("家住城关区庆阳路88号，楼下", "家住（保密），楼下"), ("住址：和平村三社45号", "住址：（保密）"),
    ("我家住在七里河区西津西路123号", "我家住在（保密）"),
    ("家住城关区庆阳路88号院反映问题", "家住（保密）反映问题"),
    ("家住附近的居民经常听到噪音", "家住附近的居民经常听到噪音"),
    ("住宁卧庄小区5栋2单元301室", "住宁卧庄小区5栋（保密）"), ("1号楼2单元602室漏水", "1号楼（保密）漏水"),
]


@pytest.mark.parametrize(("text", "expected"), KEYED)
def test_what_follows_the_word_for_it_is_masked_and_the_word_kept(text: str, expected: str) -> None:
    assert _redactor().redact(text, LI) == expected


# The writer's own vehicle's plate names them, however it is spaced or written (a new-energy
# plate's six); another's plate is what the unit must find (渣土车甘A12345: the complained-about).
PLATES = [
    ("我的车甘A·12345被拖走了", "我的车（保密）被拖走了"),
    ("本人车辆车牌号为甘Ａ１２３４５", "本人车辆车牌号为（保密）"),
    ("我家的车（甘A 1B2C3）", "我家的车（（保密））"), ("我的电动车京AD12345", "我的电动车（保密）"),
    ("我的车牌号：粤B12345F，停在门口", "我的车牌号：（保密），停在门口"), ("我车甘a-12345", "我车（保密）"),
]
NOT_PLATES = [
    "渣土车甘A12345夜间施工扰民", "甘A12345", "我的车被甘A12345撞了", "我的车甘AABCDE", "我的车甘A123456789",
    "我的车是新买的", "我的车A级保养",
]


@pytest.mark.parametrize(("text", "expected"), PLATES)
def test_a_vehicle_s_plate_is_masked(text: str, expected: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == expected


@pytest.mark.parametrize("text", NOT_PLATES)
def test_what_only_begins_as_a_plate_does_stays(text: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == text


@pytest.mark.parametrize(("surname", "text"), [
    ("于", "对于某些问题，由于某种原因"), ("关", "关于某小区的问题，有关某某部门"), ("向", "向某单位反映"),
    ("时", "同时某些住户"), ("高", "提高某项标准"),
])
def test_a_registered_surname_inside_a_word_names_no_one(surname: str, text: str) -> None:
    identity = Identity.single(surname + "明", "", "")
    redacted = _redactor().redact(text, identity)
    assert MASK not in redacted or surname == "向"  # 向某单位: 向某 may be a person; the rest stays
    assert redacted.replace(MASK, "") in text or redacted == text


@pytest.mark.parametrize(("name", "written"), [
    ("司马青竹", "Sima Qingzhu"), ("司马青竹", "Qingzhu SIMA"), ("司马青竹", "sima qing-zhu"),
    ("吕小红", "Lü Xiaohong"), ("吕小红", "Lv Xiaohong"), ("单伟", "Shan Wei"), ("李四", "Li Si"),
])
def test_a_registered_name_in_pinyin_is_masked(name: str, written: str) -> None:
    redacted = _redactor().redact(f"来信署名{written}，反映", Identity.single(name, "", ""))
    assert redacted == f"来信署名{MASK}，反映"


def test_a_short_name_in_pinyin_is_masked_only_as_a_word_of_its_own() -> None:
    li_si = Identity.single("李四", "", "")
    assert _redactor().redact("analisis of lisi", li_si) == f"analisis of {MASK}"


# A writer introducing themself, and a letter's opening particulars: the name is masked, the rest
# kept (but a birth date); with no particulars after it, 我是/本人 and a word that begins with a surname stay.
INTRODUCED = [
    ("本人马保国，男，汉族，现年58岁", "本人（保密），男，汉族，现年58岁"),
    ("我是张三丰，住在城关区", "我是（保密），住在（保密）"),
    # a year of birth is kept as an age is; a birth date with its month is masked
    ("张三，男，汉族，1965年3月出生", "（保密），男，汉族，（保密）出生"),
    ("王秀英（女），62岁，反映", "（保密）（女），62岁，反映"),
    ("我系李四，男性，", "我系（保密），男性，"), ("本人赵建国,现年五十八岁", "本人（保密）,现年五十八岁"),
    ("本人刘洋 1978年生", "本人（保密） 1978年生"), ("本人是陈刚，电话打不通", "本人是（保密），电话打不通"),
    ("经过如下。李红梅，女，45岁，系村民", "经过如下。（保密），女，45岁，系村民"),
    ("马建军，回族，1970年出生", "（保密），回族，1970年出生"), ("我王某某，女，", "我（保密），女，"),
    ("本人孙丽，今年40岁", "本人（保密），今年40岁"), ("本人冯 伟，男", "本人（保密），男"),
    ("本人馬保國，男，漢族，現年58歲", "本人（保密），男，漢族，現年58歲"),
    ("你好，我是张三，我想反映", "你好，我是（保密），我想反映"), ("我是李红梅。", "我是（保密）。"),
    ("本人是赵刚，", "本人是（保密），"),
    # a given name that ends as a kind of person does (付款方): after a surname alone, a name
    ("我是李方。", "我是（保密）。"), ("您好，我是王方，反映供暖问题", "您好，我是（保密），反映供暖问题"),
    ("本人系张 方，", "本人系（保密），"), ("我是李·方。", "我是（保密）。"),
    ("我是李-方。", "我是（保密）。"),
    ("我老婆王芳也被骗了", "我老婆（保密）也被骗了"), ("我儿子张小明在该校读书", "我儿子（保密）在该校读书"),
    ("我母亲刘秀英，今年78岁", "我母亲（保密），今年78岁"),
    ("我的女儿陈静因病住院", "我的女儿（保密）因病住院"),
]
NOT_INTRODUCED = [
    "我是党员，多年来一直", "本人房屋被强拆", "本人于2020年3月购房", "本人向有关部门反映多次", "我单位男职工",
    "高温，男子中暑", "我是张掖人，男，在兰州打工", "余额，女方不同意", "男女老少都受影响",
    "我是退休教师，今年70岁", "我是党员，今年入党", "本人多次反映", "我是村民，男", "周边，男厕所",
    "我是个体户，家住城关", "问题没有解决。石头，男孩捡的", "本人与王某发生纠纷",
    "城管队员殴打群众，男子受伤", "高温，40岁以上的老人不宜外出",
    # what a writer says they are, after 我是
    "我是党员，", "我是农民工。", "我是房东，", "我是公务员，", "我是包工头，", "我是施工方，", "我是满族，",
    "我是高中生，", "我是楼长，", "我是商户，", "我是江苏人，", "我是快递员，", "我是低保户，", "我是军属，",
    "我是支持的，", "我是兰州人，", "我是白领，", "我是单亲妈妈，", "我是付款方，", "我是受害者。",
    "我是劳方，", "我是官方，", "我是南方人，",
    # what a writer says of their family
    "我父亲高血压已十年", "我母亲高龄，行动不便", "我儿子在学校被打", "我爱人民", "我孩子常年生病",
    "我儿子高考", "我老公和我一起去", "我爱人的单位",
]


@pytest.mark.parametrize(("text", "expected"), INTRODUCED)
def test_a_writer_introducing_themself_is_masked_and_their_particulars_kept(text: str, expected: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == expected


@pytest.mark.parametrize("text", NOT_INTRODUCED)
def test_words_after_i_am_or_before_a_gender_that_name_no_one_stay(text: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == text


# A member of the public as a hotline record names them, a name with its role in brackets or its
# group, the names listed with it, a masked person's family, a birth date, the surname a writer
# gives: masked with no identity registered.
CALLERS = [
    ("市民赵丽颖来电反映", "市民（保密）来电反映"), ("村民马小明反映，", "村民（保密）反映，"),
    ("来电群众刘德华称", "来电群众（保密）称"), ("业主刘强（3号楼）反映", "业主（保密）（3号楼）反映"),
    ("农民工张伟投诉", "农民工（保密）投诉"), ("户主：孙建国", "户主：（保密）"),
    ("业主：刘强，", "业主：（保密），"),
    ("我是村民王小二", "我是村民（保密）"), ("我是该小区业主刘强，", "我是该小区业主（保密），"),
    ("张三（来电人）反映", "（保密）（来电人）反映"), ("王芳(反映人)称", "（保密）(反映人)称"),
    ("张大山等5人反映", "（保密）等5人反映"), ("王建军等十二名农民工", "（保密）等十二名农民工"),
    ("农民工张大山、李小河、王二等十人工资未发", "农民工（保密）等十人工资未发"),
    ("反映人张大山、李小河和王二", "反映人（保密）、（保密）和（保密）"),
    ("我的名字是王丽", "我的名字是（保密）"), ("带头人叫李大海", "带头人叫（保密）"),
    ("来电人称其妻子李秀英被打", "来电人称其妻子（保密）被打"), ("我的母亲刘秀英，", "我的母亲（保密），"),
    ("反映人王建军的女儿王小红在该校读书", "反映人（保密）的女儿（保密）在该校读书"),
    ("我姓王，", "我姓（保密），"), ("出生日期：1980年1月1日", "出生日期：（保密）"),
    ("生日1980.01.01，", "生日（保密），"), ("1980年1月1日出生", "（保密）出生"),
    ("身份证后四位123X", "身份证后四位（保密）"),
    # a name that holds a numeral, before a number: its numeral is no digit of the number
    ("联系人：李四 13912345678", "联系人：（保密） （保密）"),
    ("来电人张三 0931-8881234", "来电人（保密） （保密）"),
    ("此致 敬礼 张三 2023.3.1", "此致 敬礼 （保密） 2023.3.1"),
    # a name before a number (whose number it is), and a name that begins a record's sentence
    ("王五，13912345678，反映", "（保密），（保密），反映"),
    ("小区居民王五，13912345678", "小区居民（保密），（保密）"),
    ("李四：13912345678", "（保密）：（保密）"), ("吴九电话13912345678", "（保密）电话（保密）"),
    ("仍未付款，电话0931-8888888", "仍未付款，电话（保密）"), ("孙七来电反映", "（保密）来电反映"),
    ("王五来电13912345678", "（保密）来电（保密）"), ("据称来电13912345678", "据称来电（保密）"),
    ("张三反映：小区停水", "（保密）反映：小区停水"), ("经核实。刘洋称已付款", "经核实。（保密）称已付款"),
    # a Tibetan name, which has no surname (甘南州, 天祝县)
    ("来电人扎西才让反映", "来电人（保密）反映"), ("反映人：卓玛，女", "反映人：（保密），女"),
    ("村民才让多吉反映", "村民（保密）反映"), ("扎西师傅说", "（保密）说"),
    ("牧民扎西、才让等5人反映", "牧民（保密）等5人反映"),
]
NOT_CALLERS = [
    "保障居民安全。", "群众利益受损，", "维护农民工权益。", "村民安全、利益受损", "群众来电反映",
    "居民向社区反映",
    "业主强烈要求", "群众普遍反映", "村民都反映说", "村民曾多次反映", "居民陆续反映", "村民相继反映",
    "村民连续反映", "村民全体反映", "居民与物业发生纠纷", "村民和村委会协商", "居民安全（重要）",
    "学生安全（教育局）", "银行等3家机构", "李局长等5人", "王书记等3人", "张主任、王科长等人来调查",
    "城管局等5个部门", "村民代表大会", "业主委员会", "出生证明", "出生于农村", "1980年出生的老楼",
    "现年58岁", "本人1965年出生", "格桑花开了", "草原上的格桑花，", "东主说",
    "何时来电", "高新区反映", "金融局反映", "张家村反映", "曾多次反映", "同时反映",
]


@pytest.mark.parametrize(("text", "expected"), CALLERS)
def test_a_caller_as_a_record_names_them_is_masked(text: str, expected: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == expected


@pytest.mark.parametrize("text", NOT_CALLERS)
def test_words_after_a_word_for_people_that_name_no_one_stay(text: str) -> None:
    assert _redactor().redact(text, NO_IDENTITY) == text


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("张三", "张三 13912345678 反映", f"{MASK} {MASK} 反映"),
    ("李四", "李四13912345678", MASK),
    ("王五一", "王五一 0931-8881234", f"{MASK} {MASK}"),
    ("王建军", "建军反映小区停水", f"{MASK}反映小区停水"),
    ("王建军", "建军师傅说", f"{MASK}说"),
])
def test_a_registered_name_is_masked_beside_a_number_and_by_its_given_name(name: str, text: str,
                                                                            expected: str) -> None:
    assert _redactor().redact(text, Identity.single(name, "13800000000", "")) == expected


def test_a_registered_given_name_that_is_a_word_stays_where_no_person_is_meant() -> None:
    assert _redactor().redact("建国以来，建军节", Identity.single("王建军", "", "")) == "建国以来，建军节"
    assert _redactor().redact("城市建设家园", Identity.single("王建设", "", "")) == "城市建设家园"


_GROUPINGS = [(3, 4, 4), (4, 3, 4), (3, 3, 5), (4, 4, 3), (3, 2, 2, 2, 2), (3, 4, 2, 2), (3, 3, 3, 2),
              (3, 3, 2, 3), (2, 4, 5), (5, 6), (3, 8), (7, 4)]


def _grouped(digits: str, grouping: tuple[int, ...], sep: str) -> str:
    out, at = [], 0
    for size in grouping:
        out.append(digits[at:at + size])
        at += size
    return sep.join(out)


@settings(max_examples=300, deadline=None)
@given(before=_FILLER, mobile=_DIGITS, grouping=st.sampled_from(_GROUPINGS),
       sep=st.sampled_from([" ", "-", ".", "\u3000"]),
       prefix=st.sampled_from(["", "+86 ", "86", "0086-", "0"]), after=_FILLER)
def test_a_mobile_in_any_common_grouping_and_prefix_is_masked(before: str, mobile: str,
                                                              grouping: tuple[int, ...], sep: str,
                                                              prefix: str, after: str) -> None:
    written = prefix + _grouped(mobile, grouping, sep)
    redacted = _redactor().redact(f"{before}{written}{after}", NO_IDENTITY)
    assert not any(c.isdigit() for c in redacted), (written, redacted)


_DIGIT_NUMERALS = {d: [n for n, v in NUMERALS.items() if v == d] for d in "0123456789"}


@settings(max_examples=300, deadline=None)
@given(before=_FILLER, mobile=_DIGITS, data=st.data(), after=_FILLER)
def test_a_mobile_with_some_digits_in_numerals_is_masked(before: str, mobile: str, data: st.DataObject,
                                                         after: str) -> None:
    """Any digits of it written as numerals (幺36 0931 8888, 1360九三1八888), however few."""
    chosen = data.draw(st.sets(st.integers(0, 10), min_size=1, max_size=11))
    written = "".join(data.draw(st.sampled_from(_DIGIT_NUMERALS[c])) if i in chosen else c
                      for i, c in enumerate(mobile))
    redacted = _redactor().redact(f"{before}{written}{after}", NO_IDENTITY)
    assert not any(c.isdigit() for c in redacted), (written, redacted)
    assert _numerals(redacted.replace(MASK, "")) <= _numerals(before + after), (written, redacted)


def test_a_registered_address_is_found_with_its_building_named_by_another_word() -> None:
    home = Identity.single("", "", "兰州市城关区雁滩路街道宁卧庄小区5栋2单元301室")
    for written in ("宁卧庄小区5号楼2单元301室", "宁卧庄5幢2单元301室", "雁滩路宁卧庄小区5栋2单元301室"):
        assert _redactor().redact(f"住{written}，楼下漏水", home) == f"住{MASK}，楼下漏水", written
