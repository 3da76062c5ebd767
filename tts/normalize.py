"""Text normalisation for the phone: numbers, amounts, dates, times and phone numbers spelt out.

Pure functions, no model. Mandarin (:func:`normalize_zh`) reads

* amounts and counts as cardinals: ``12000元`` → 一万二千元, ``3.5万`` → 三点五万, ``1,234.56元`` →
  一千二百三十四点五六元, ``12期`` → 十二期, ``2期`` → 两期, ``¥300`` → 三百元;
* phone numbers, card tails and codes digit by digit with 1 as 幺 (how numbers are read on the phone):
  ``尾号1234`` → 尾号幺二三四, ``13800001234`` → 幺三八 零零零零 幺二三四;
* dates ``2026年3月5日`` / ``2026-03-05`` → 二零二六年三月五日, ``3月5号`` → 三月五号; times ``14:30`` →
  十四点三十分; percentages ``0.5%`` → 百分之零点五; ranges ``3-6个月`` → 三到六个月.

English (:func:`normalize_en`) reads numbers as words, ``$12.50`` → twelve dollars and fifty cents,
``0.5%`` → zero point five percent, ``2026-03-05`` → March fifth, twenty twenty-six, ``1st`` → first,
times ``2:30 pm`` → two thirty p m, phone numbers digit by digit, and the titles Mr./Mrs./Ms./Dr.
spelt out (their period is not a sentence end).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# ---------------------------------------------------------------------------------------------- zh

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_SMALL_UNITS = ("", "十", "百", "千")
_ZH_BIG_UNITS = ("", "万", "亿", "万亿")
# A bare 2 before these measure words is 两 (两期, 两个月), not 二.
_ZH_LIANG_MEASURES = "个期天次张位笔块种项份年周元条件台"
_FULLWIDTH = str.maketrans("０１２３４５６７８９％＄￥", "0123456789%$¥")


def zh_digits(digits: str, *, yao: bool = True) -> str:
    """Read ``digits`` one by one (``"1234"`` → 幺二三四; ``yao=False``: 一二三四). Other chars are kept."""
    out = []
    for ch in digits:
        if ch.isdigit():
            out.append("幺" if yao and ch == "1" else _ZH_DIGITS[int(ch)])
        else:
            out.append(ch)
    return "".join(out)


def _zh_section(n: int) -> str:
    """0 < n < 10000 as Chinese, with 零 for inner zero runs (1005 → 一千零五)."""
    out = ""
    zero = False
    for place in range(3, -1, -1):
        d = n // 10**place % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _ZH_DIGITS[d] + _ZH_SMALL_UNITS[place]
    return out


def zh_integer(n: int | str, *, liang: bool = True) -> str:
    """Cardinal reading: 12000 → 一万二千, 10 → 十, 1005 → 一千零五, 20000 → 两万 (``liang=False``: 二万)."""
    n = int(n)
    if n < 0:
        return "负" + zh_integer(-n, liang=liang)
    if n == 0:
        return "零"
    sections = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    if len(sections) > len(_ZH_BIG_UNITS):
        return zh_digits(str(int("".join(str(s).zfill(4) for s in reversed(sections)))), yao=False)
    out = ""
    need_zero = False
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or section < 1000):
            out += "零"
        out += _zh_section(section) + _ZH_BIG_UNITS[index]
        need_zero = False
    if out.startswith("一十"):  # 十二, not 一十二
        out = out[1:]
    if liang and out.startswith("二") and len(out) > 1 and out[1] in "千万亿":
        out = "两" + out[1:]
    return out


def zh_number(text: str) -> str:
    """A number as written: ``"3.5"`` → 三点五, ``"1,234.56"`` → 一千二百三十四点五六."""
    text = text.replace(",", "")
    sign = ""
    if text.startswith("-"):
        sign, text = "负", text[1:]
    whole, _, frac = text.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        spoken = zh_digits(whole, yao=False)
    else:
        spoken = zh_integer(whole or "0")
    if frac:
        spoken += "点" + zh_digits(frac, yao=False)
    return sign + spoken


def _zh_phone(digits: str) -> str:
    """Digits of a phone number grouped 3-4-4 (mobiles) with spaces: a breath, not a pause."""
    digits = re.sub(r"\D", "", digits)
    if len(digits) == 11 and digits.startswith("1"):
        groups = [digits[:3], digits[3:7], digits[7:]]
    elif len(digits) > 8:  # card and account numbers: fours, as printed
        groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    else:
        groups = [digits]
    return " ".join(zh_digits(g) for g in groups)


def _zh_grouped(text: str) -> str:
    """Digit-by-digit reading keeping the writer's grouping (dashes/spaces → spaces)."""
    groups = [g for g in re.split(r"[\s\-]+", text) if g]
    if len(groups) == 1:
        return _zh_phone(groups[0])
    return " ".join(zh_digits(g) for g in groups)


def _zh_year(year: str) -> str:
    return zh_digits(year, yao=False)


def _valid_date(month: str, day: str | None = None) -> bool:
    return 1 <= int(month) <= 12 and (day is None or 1 <= int(day) <= 31)


_NUM = r"\d+(?:\.\d+)?"
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_ZH_CODE_WORDS = "|".join(
    (
        "尾号",
        "卡号",
        "账号",
        "帐号",
        "手机号码",
        "手机号",
        "手机",
        "电话号码",
        "电话",
        "号码",
        "联系方式",
        "验证码",
        "工号",
        "编号",
        "热线",
        "分机",
        "座机",
        "邮编",
        "身份证号",
        "订单号",
    )
)

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _zh_rules() -> list[_Rule]:
    def date_ymd(m: re.Match[str]) -> str:
        y, mo, d = m.group(1), m.group(2), m.group(3)
        if not _valid_date(mo, d):
            return m.group()
        return f"{_zh_year(y)}年{zh_integer(mo)}月{zh_integer(d)}日"

    def time_hm(m: re.Match[str]) -> str:
        h, mi, s = m.group(1), m.group(2), m.group(3)
        if int(h) > 24 or int(mi) > 59 or (s is not None and int(s) > 59):
            return m.group()
        out = zh_integer(h, liang=False) + "点"
        if int(mi):
            out += ("零" if mi.startswith("0") else "") + zh_integer(mi) + "分"
        if s is not None and int(s):
            out += zh_integer(s) + "秒"
        return out

    def month_day(m: re.Match[str]) -> str:
        if not _valid_date(m.group(1), m.group(2)):
            return m.group()
        return f"{zh_integer(m.group(1))}月{zh_integer(m.group(2))}{m.group(3)}"

    def integer(m: re.Match[str]) -> str:
        digits = m.group()
        following = m.string[m.end() : m.end() + 1]
        preceding = m.string[max(0, m.start() - 1) : m.start()]
        if digits == "2" and following and following in _ZH_LIANG_MEASURES and preceding != "第":
            return "两"
        if len(digits) >= 7 and following not in ("元", "万", "亿", "块", "角"):
            return _zh_phone(digits)  # card, order and account numbers: digit by digit
        return zh_number(digits)

    return [
        # phone numbers and codes: before anything reads them as amounts
        (
            re.compile(rf"({_ZH_CODE_WORDS})(是|为|：|:)?\s*(\d[\d\- ]*\d|\d)"),
            lambda m: m.group(1) + (m.group(2) or "") + _zh_grouped(m.group(3)),
        ),
        (re.compile(r"(?<!\d)(1[3-9]\d)[\- ]?(\d{4})[\- ]?(\d{4})(?!\d)"), lambda m: _zh_phone(m.group())),
        (
            re.compile(r"(?<![\d.])(\d{3,4})-(\d{3,4})-(\d{3,4})(?![\d.])|(?<![\d.])0\d{2,3}-\d{7,8}(?!\d)"),
            lambda m: _zh_grouped(m.group()),
        ),
        # dates and times
        (re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])"), date_ymd),
        (re.compile(r"(?<!\d)(\d{4})年"), lambda m: _zh_year(m.group(1)) + "年"),
        (re.compile(r"(?<![\d.])(\d{1,2})月(\d{1,2})(日|号)"), month_day),
        (re.compile(r"(?<![\d.])(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?![\d.])"), time_hm),
        # money and percentages
        (re.compile(rf"[¥](\s*)({_AMOUNT})"), lambda m: zh_number(m.group(2)) + "元"),
        (re.compile(rf"({_AMOUNT})\s*%"), lambda m: "百分之" + zh_number(m.group(1))),
        (
            re.compile(rf"(?<![\d.])({_NUM})\s*[-~～至](\s*)({_NUM})(?![\d.])"),
            lambda m: zh_number(m.group(1)) + "到" + zh_number(m.group(3)),
        ),
        (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+"), lambda m: zh_number(m.group())),
        (re.compile(r"\d+"), integer),
    ]


_ZH_RULES = _zh_rules()


def normalize_zh(text: str) -> str:
    """Spell out the numbers of Mandarin ``text`` as they are read on the phone (see module doc)."""
    text = text.translate(_FULLWIDTH)
    for pattern, replace in _ZH_RULES:
        text = pattern.sub(replace, text)
    return text


# ---------------------------------------------------------------------------------------------- en

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def en_integer(n: int | str) -> str:
    """Cardinal words: 1234 → one thousand two hundred thirty-four (US style, no "and")."""
    n = int(n)
    if n < 0:
        return "minus " + en_integer(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + en_integer(n % 100) if n % 100 else "")
    for value, name in _SCALES:
        if n >= value:
            head = en_integer(n // value) + " " + name
            return head + (" " + en_integer(n % value) if n % value else "")
    raise AssertionError("unreachable")


def en_digits(digits: str) -> str:
    """Digits one by one: ``"5551234"`` → five five five one two three four."""
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def en_number(text: str) -> str:
    """A number as written: ``"3.5"`` → three point five, ``"1,200"`` → one thousand two hundred."""
    text = text.replace(",", "")
    sign = ""
    if text.startswith("-"):
        sign, text = "minus ", text[1:]
    whole, _, frac = text.partition(".")
    spoken = en_integer(whole or "0")
    if frac:
        spoken += " point " + en_digits(frac)
    return sign + spoken


def en_ordinal(n: int | str) -> str:
    """Ordinal words: 1 → first, 22 → twenty-second, 100 → one hundredth."""
    head, sep, last = en_integer(n).rpartition(" ")
    if "-" in last:
        tens, _, unit = last.rpartition("-")
        return f"{head}{sep}{tens}-{_ordinal_word(unit)}"
    return head + sep + _ordinal_word(last)


def _ordinal_word(word: str) -> str:
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def en_year(year: int | str) -> str:
    """A year as said: 2026 → twenty twenty-six, 2005 → two thousand five, 1999 → nineteen ninety-nine."""
    y = int(year)
    if 2000 <= y <= 2009 or y % 1000 == 0:
        return en_integer(y)
    if 1000 <= y <= 9999:
        head, tail = divmod(y, 100)
        if tail == 0:
            return en_integer(head) + " hundred"
        return en_integer(head) + " " + (en_integer(tail) if tail >= 10 else "oh " + en_integer(tail))
    return en_integer(y)


def _en_date(month: int, day: int, year: str | None) -> str:
    out = f"{_MONTHS[month - 1]} {en_ordinal(day)}"
    return out + (f", {en_year(year)}" if year else "")


def _en_money(m: re.Match[str]) -> str:
    whole = int(m.group(1).replace(",", ""))
    cents = int(m.group(2)) if m.group(2) else 0
    parts = []
    if whole or not cents:
        parts.append(f"{en_integer(whole)} dollar{'' if whole == 1 else 's'}")
    if cents:
        parts.append(f"{en_integer(cents)} cent{'' if cents == 1 else 's'}")
    return " and ".join(parts)


def _en_time(m: re.Match[str]) -> str:
    h, mi, ampm = int(m.group(1)), int(m.group(2)), m.group(3)
    if h > 24 or mi > 59:
        return m.group()
    out = en_integer(h)
    if mi:
        out += " " + (("oh " + en_integer(mi)) if mi < 10 else en_integer(mi))
    elif not ampm:
        out += " o'clock"
    if ampm:
        out += " " + " ".join(ampm.lower().replace(".", ""))
    return out


def _en_phone(text: str) -> str:
    groups = [g for g in re.split(r"\D+", text) if g]
    return ", ".join(en_digits(g) for g in groups)


_EN_ABBREVIATIONS = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Dr": "Doctor",
    "Jr": "Junior",
    "Sr": "Senior",
}
_MONTH_RE = "|".join(_MONTHS) + "|" + "|".join(m[:3] for m in _MONTHS)


def _month_index(name: str) -> int:
    return next(i for i, m in enumerate(_MONTHS) if m.lower().startswith(name.lower()[:3])) + 1


def _en_rules() -> list[_Rule]:
    def iso_date(m: re.Match[str]) -> str:
        y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
        return _en_date(mo, d, y) if _valid_date(str(mo), str(d)) else m.group()

    def us_date(m: re.Match[str]) -> str:
        mo, d, y = int(m.group(1)), int(m.group(2)), m.group(3)
        return _en_date(mo, d, y) if _valid_date(str(mo), str(d)) else m.group()

    def named_date(m: re.Match[str]) -> str:
        mo, d, y = _month_index(m.group(1)), int(m.group(2)), m.group(4)
        if not 1 <= d <= 31:
            return m.group()
        return _en_date(mo, d, y)

    return [
        # titles before names: a "." there is not a sentence end (the clause splitter cuts at ". ")
        (re.compile(r"\b(Mr|Mrs|Ms|Dr|Jr|Sr)\.(?=\s)"), lambda m: _EN_ABBREVIATIONS[m.group(1)]),
        (
            re.compile(r"(?<!\d)(\(\d{3}\)\s*\d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\d{3}-\d{4}|\+?1?\d{10,})(?!\d)"),
            lambda m: _en_phone(m.group()),
        ),
        (
            re.compile(
                r"\b(ending in|ends in|ending with|last four digits|last four)(\s+(?:are|is))?\s+(\d+)"
            ),
            lambda m: m.group(1) + (m.group(2) or "") + " " + en_digits(m.group(3)),
        ),
        (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), iso_date),
        (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), us_date),
        (
            re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(,?\s+(\d{{4}}))?"),
            named_date,
        ),
        (re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*([ap]\.?m\.?))?(?![\w:])", re.IGNORECASE), _en_time),
        (
            re.compile(r"\$\s?(\d+(?:\.\d+)?)\s+(thousand|million|billion|trillion)\b"),
            lambda m: f"{en_number(m.group(1))} {m.group(2)} dollars",
        ),
        (re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?(?!\d)"), _en_money),
        (re.compile(rf"({_AMOUNT})\s?%"), lambda m: en_number(m.group(1)) + " percent"),
        (re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE), lambda m: en_ordinal(m.group(1))),
        (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+"), lambda m: en_number(m.group())),
    ]


_EN_RULES = _en_rules()


def normalize_en(text: str) -> str:
    """Spell out the numbers of English ``text`` (see module doc)."""
    text = text.translate(_FULLWIDTH)
    for pattern, replace in _EN_RULES:
        text = pattern.sub(replace, text)
    return text


def normalize(text: str, language: str = "zh") -> str:
    """Normalise ``text`` for speech in ``language`` (``"zh"`` or ``"en"``; others unchanged)."""
    if language == "zh":
        return normalize_zh(text)
    if language == "en":
        return normalize_en(text)
    return text
