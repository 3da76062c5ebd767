"""Text normalisation for the phone (no model): Mandarin and English numbers, amounts, dates, phones."""

from __future__ import annotations

import pytest

from tts.normalize import (
    en_integer,
    en_ordinal,
    en_year,
    normalize,
    normalize_en,
    normalize_zh,
    zh_integer,
)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # amounts
        ("12000元", "一万二千元"),
        ("3.5万", "三点五万"),
        ("1,234.56元", "一千二百三十四点五六元"),
        ("账单金额12000元", "账单金额一万二千元"),
        ("¥300", "三百元"),
        ("￥1,500", "一千五百元"),
        ("20000元", "两万元"),
        ("1005元", "一千零五元"),
        ("10050元", "一万零五十元"),
        ("100010000元", "一亿零一万元"),
        ("110元", "一百一十元"),
        # phone numbers and card tails: digit by digit, 1 read 幺
        ("尾号1234", "尾号幺二三四"),
        ("尾号为1234的卡", "尾号为幺二三四的卡"),
        ("13800001234", "幺三八 零零零零 幺二三四"),
        ("请拨打13800001234。", "请拨打幺三八 零零零零 幺二三四。"),
        ("138-0000-1234", "幺三八 零零零零 幺二三四"),
        ("热线400-888-6666", "热线四零零 八八八 六六六六"),
        ("验证码：250101", "验证码：二五零幺零幺"),
        ("卡号6222020200001234567", "卡号六二二二 零二零二 零零零零 幺二三四 五六七"),
        # dates
        ("2026年3月5日", "二零二六年三月五日"),
        ("3月5号", "三月五号"),
        ("2026-03-05", "二零二六年三月五日"),
        ("2026/3/5", "二零二六年三月五日"),
        ("每月10号还款", "每月十号还款"),
        # times
        ("14:30", "十四点三十分"),
        ("14：30", "十四点三十分"),
        ("9:00", "九点"),
        ("9:05", "九点零五分"),
        ("14:05:30", "十四点零五分三十秒"),
        # instalments and counts
        ("12期", "十二期"),
        ("分12期还款", "分十二期还款"),
        ("24期", "二十四期"),
        ("2期", "两期"),
        ("第2期", "第二期"),
        ("2个月", "两个月"),
        ("3-6个月", "三到六个月"),
        # percentages
        ("0.5%", "百分之零点五"),
        ("每期手续费0.6%", "每期手续费百分之零点六"),
        ("100%", "百分之一百"),
        ("１２期", "十二期"),  # full-width digits
        # text without numbers is untouched
        ("您好，请问是张先生吗？", "您好，请问是张先生吗？"),
    ],
)
def test_mandarin(text: str, spoken: str) -> None:
    assert normalize_zh(text) == spoken
    assert normalize(text, "zh") == spoken


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "零"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (101, "一百零一"),
        (1000, "一千"),
        (2000, "两千"),
        (10000, "一万"),
        (12000, "一万二千"),
        (22000, "两万二千"),
        (100000, "十万"),
        (1000001, "一百万零一"),
    ],
)
def test_mandarin_cardinals(n: int, spoken: str) -> None:
    assert zh_integer(n) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("12", "twelve"),
        ("You have 12 payments.", "You have twelve payments."),
        ("1,234", "one thousand two hundred thirty-four"),
        ("3.5", "three point five"),
        ("$12.50", "twelve dollars and fifty cents"),
        ("$1", "one dollar"),
        ("$0.99", "ninety-nine cents"),
        ("$1,200", "one thousand two hundred dollars"),
        ("$3.5 million", "three point five million dollars"),
        ("0.5%", "zero point five percent"),
        ("a fee of 0.6% per month", "a fee of zero point six percent per month"),
        ("2026-03-05", "March fifth, twenty twenty-six"),
        ("3/5/2026", "March fifth, twenty twenty-six"),
        ("March 5", "March fifth"),
        ("on March 5, 2026.", "on March fifth, twenty twenty-six."),
        ("the 1st and the 22nd", "the first and the twenty-second"),
        ("2:30 pm", "two thirty p m"),
        ("9:00", "nine o'clock"),
        ("9:05 a.m.", "nine oh five a m"),
        ("555-123-4567", "five five five, one two three, four five six seven"),
        ("your card ending in 1234", "your card ending in one two three four"),
        ("May I speak with Ms. Johnson?", "May I speak with Miz Johnson?"),
        ("Dr. Patel and Mr. Lee", "Doctor Patel and Mister Lee"),
        ("No numbers here.", "No numbers here."),
    ],
)
def test_english(text: str, spoken: str) -> None:
    assert normalize_en(text) == spoken
    assert normalize(text, "en") == spoken


def test_english_helpers() -> None:
    assert en_integer(1_000_000) == "one million"
    assert en_integer(2_000_345) == "two million three hundred forty-five"
    assert en_ordinal(100) == "one hundredth"
    assert en_ordinal(12) == "twelfth"
    assert en_year(2005) == "two thousand five"
    assert en_year(1999) == "nineteen ninety-nine"
    assert en_year(2026) == "twenty twenty-six"


def test_other_language_unchanged() -> None:
    assert normalize("12", "ko") == "12"
