"""Masking of personal data for logs and screens."""

from __future__ import annotations

import re

_PHONE_RE = re.compile(r"\+?\d[\d\- ]{5,}\d")


def mask_phone(number: str) -> str:
    """Keep only the last 4 digits: ``13800001234`` → ``*******1234``."""
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_phones_in(text: str) -> str:
    """Mask every phone-number-like run of digits in free text (for log lines)."""
    return _PHONE_RE.sub(lambda match: mask_phone(match.group(0)), text)
