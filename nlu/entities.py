"""Entities callees speak: numbers in Chinese numerals or digits, instalment periods, amounts, and
when to call back (``callback``, see :mod:`nlu.callback_time`).

十二期 → periods 12, 一万二 → amount 12000, 三千五百块 → amount 3500, 6 months → periods 6.
"""

from __future__ import annotations

import re

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUMBER = r"[0-9零〇一二两三四五六七八九十百千万亿]+(?:[.点][0-9零一二三四五六七八九]+)?"
_PERIODS_RE = re.compile(rf"({_NUMBER})\s*(?:期|个月|个期)")
_NUMBER_RE = re.compile(_NUMBER)
_CURRENCY_AFTER = ("块", "元")
_EN_PERIODS_RE = re.compile(
    r"\b(\d+|one|two|three|six|nine|twelve|eighteen|twenty[- ]four)\s*(?:months?|instal?lments?)\b"
)
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "six": 6, "nine": 9, "twelve": 12, "eighteen": 18}


def _small_section(text: str) -> int:
    """Value of a run below 10,000 (十二, 三千五, 两百零五); colloquial trailing digits scale down."""
    total, digit, last_unit = 0, None, None
    for char in text:
        if char in "零〇":
            digit, last_unit = None, None  # 两百零五: what follows 零 counts in units
        elif char in _DIGITS:
            digit = _DIGITS[char]
        elif char in _SMALL_UNITS:
            unit = _SMALL_UNITS[char]
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        elif char.isdigit():
            digit = (digit or 0) * 10 + int(char)
    if digit is not None:
        # 三千五 means 3500: a bare digit after a unit counts in the next lower unit.
        total += digit * (last_unit // 10 if last_unit and last_unit >= 10 and digit < 10 else 1)
    return total


def chinese_to_number(text: str) -> float | None:
    """Parse Chinese numerals, digits or a mix (一万二 → 12000, 1.2万 → 12000, 十二 → 12)."""
    text = text.strip().replace("点", ".")
    decimal = re.fullmatch(r"(\d+(?:\.\d+)?)([万亿]?)", text)
    if decimal:
        return float(decimal.group(1)) * _BIG_UNITS.get(decimal.group(2), 1)
    if not text or not re.fullmatch(_NUMBER, text):
        return None
    total = 0
    rest = text
    for unit_char, unit in sorted(_BIG_UNITS.items(), key=lambda item: -item[1]):
        if unit_char in rest:
            head, rest = rest.split(unit_char, 1)
            total += (_small_section(head) or 1) * unit
            if len(rest) == 1 and rest not in "零〇" and (rest in _DIGITS or rest.isdigit()):
                digit = _DIGITS[rest] if rest in _DIGITS else int(rest)
                return float(total + digit * unit // 10)  # 一万二 → 12000, 2万5 → 25000
    return float(total + _small_section(rest))


def _as_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def extract_entities(text: str) -> dict[str, str]:
    """Entities found in normalised text: ``periods`` and ``amount`` (as digit strings)."""
    entities: dict[str, str] = {}
    match = _PERIODS_RE.search(text)
    if match and (value := chinese_to_number(match.group(1))) is not None:
        entities["periods"] = _as_text(value)
    else:
        english = _EN_PERIODS_RE.search(text)
        if english:
            word = english.group(1).replace("-", " ")
            value = 24 if word == "twenty four" else _EN_NUMBERS.get(word) or int(word)
            entities["periods"] = str(value)
    periods_span = match.span(1) if match else None
    for number in _NUMBER_RE.finditer(text):
        if number.span() == periods_span:
            continue
        followed_by_currency = text[number.end() :].lstrip().startswith(_CURRENCY_AFTER)
        if followed_by_currency or any(unit in number.group() for unit in "百千万亿"):
            value = chinese_to_number(number.group())
            if value is not None:
                entities["amount"] = _as_text(value)
                break
    from nlu.callback_time import parse_callback  # here: callback_time reads numbers with this module

    callback = parse_callback(text)
    if callback is not None:
        entities["callback"] = callback.token()  # relative ("D+1T14:00"); the service resolves it
    return entities
