"""Checks on a webhook signing secret chosen by a strategy system.

The secret keys the HMAC receivers verify; a guessable one lets anybody forge events. Refused: fewer than
32 characters, surrounding whitespace or control characters, few distinct characters, a repeated
pattern, or too little estimated entropy (``aaaa…``, 16 spaces, ``0123456789`` × 4).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter

from waihu.service.problems import invalid

MIN_SECRET_CHARS = 32
MIN_DISTINCT_CHARS = 8
#: Shannon estimate over the characters × length; a random 32-character hex secret scores 95–125.
MIN_ESTIMATED_BITS = 80.0


def estimated_bits(secret: str) -> float:
    """Shannon entropy of the character distribution times the length (a rough upper estimate)."""
    counts = Counter(secret)
    total = len(secret)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def _period(text: str) -> int:
    """Length of the shortest block whose repetition gives ``text``."""
    return (text + text).find(text, 1)


def check_webhook_secret(secret: str) -> str:
    """Return ``secret`` if it is strong enough, else raise ``ValueError`` saying what is wrong."""
    # Each problem is a code of the API's registry (a ValueError too), so the console words it.
    if len(secret) < MIN_SECRET_CHARS:
        raise invalid("secret_too_short", min_chars=MIN_SECRET_CHARS)
    if secret != secret.strip() or not secret.strip():
        raise invalid("secret_whitespace")
    if any(unicodedata.category(ch).startswith("C") for ch in secret):
        raise invalid("secret_control_chars")
    if len(set(secret)) < MIN_DISTINCT_CHARS:
        raise invalid("secret_few_distinct", min_distinct=MIN_DISTINCT_CHARS)
    if _period(secret) <= len(secret) // 2:
        raise invalid("secret_repeated")
    if estimated_bits(secret) < MIN_ESTIMATED_BITS:
        raise invalid("secret_predictable")
    return secret
