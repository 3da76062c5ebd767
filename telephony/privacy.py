"""Masking phone numbers and SIP URIs for logs."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\+?\d{6,}")


def mask_number(number: str, keep: int = 4) -> str:
    """``"13812341234"`` → ``"*******1234"``: keep the last ``keep`` digits."""
    if len(number) <= keep:
        return number
    return "*" * (len(number) - keep) + number[-keep:]


def mask_uri(text: str) -> str:
    """Mask every run of 6+ digits (phone numbers, not ports) in a SIP URI or header value."""
    return _DIGITS.sub(lambda m: mask_number(m.group(0)), text)
