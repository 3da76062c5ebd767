"""Phone number validation and normalisation to E.164 (``+<country><number>``)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")
_DIGITS = re.compile(r"\d+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")


class PhoneError(ValueError):
    """The text is not a usable phone number; the message says why."""


def normalise_phone(raw: str, default_country_code: str = "86") -> str:
    """Return the E.164 form of ``raw`` or raise :class:`PhoneError`.

    Accepts ``+<digits>``, ``00<digits>`` (international prefix), national numbers with a trunk ``0``
    and, for China (86), bare 11-digit mobile numbers. Separators (spaces, dashes, dots, brackets) are
    dropped. The result has 8 to 15 digits after ``+``.
    """
    text = _SEPARATORS.sub("", str(raw).strip())
    if not text:
        raise PhoneError("empty phone number")
    international = text.startswith("+")
    if international:
        text = text[1:]
    elif text.startswith("00"):
        international, text = True, text[2:]
    if not _DIGITS.fullmatch(text):
        raise PhoneError("phone number may contain only digits, spaces, dashes, dots and brackets")
    if not international:
        if default_country_code == "86" and _CN_MOBILE.fullmatch(text):
            text = "86" + text
        elif text.startswith("0"):
            text = default_country_code + text[1:]
        else:
            text = default_country_code + text
    if not 8 <= len(text) <= 15:
        raise PhoneError(f"phone number must have 8 to 15 digits with the country code, got {len(text)}")
    if text.startswith("0"):
        raise PhoneError("country code cannot start with 0")
    return "+" + text
