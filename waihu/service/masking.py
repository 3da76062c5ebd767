"""Phone numbers on screens and in API answers: in full for the roles that call people, masked otherwise.

Strategy systems and admins need the numbers they import and call; an operator (who writes flows and
keeps the block list) does not, and sees ``138****1234``: the first digits and the last four of the
national number, the middle masked. The audit log masks every number, whoever reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import phonenumbers

from waihu.service.phones import ascii_digits

#: Roles that see phone numbers in full.
FULL_NUMBER_ROLES = frozenset({"strategy", "admin"})
#: Fields of the API's views that hold a callee's number.
PHONE_FIELDS = ("phone",)
_KEEP_LAST = 4
_KEEP_FIRST = 3


def mask_middle(phone: str | None) -> str | None:
    """``13800001234`` → ``138****1234``; ``+8613800001234`` → ``+86138****1234``; None stays None.

    The country code and the last four digits stay; of the national number at most three leading
    digits stay, and never more than half of what is not the last four.
    """
    if not phone:
        return phone
    digits = "".join(ch for ch in ascii_digits(phone) if ch.isdigit())
    prefix, national = "", digits
    if phone.strip().startswith("+"):
        prefix = "+"
        try:
            code = str(phonenumbers.parse("+" + digits, None).country_code)
        except phonenumbers.NumberParseException:
            code = ""
        if code and digits.startswith(code):
            prefix, national = "+" + code, digits[len(code) :]
    if len(national) <= _KEEP_LAST:
        return prefix + "*" * len(national)
    head = min(_KEEP_FIRST, (len(national) - _KEEP_LAST) // 2)
    return prefix + national[:head] + "*" * (len(national) - _KEEP_LAST - head) + national[-_KEEP_LAST:]


def sees_full_numbers(role: str) -> bool:
    """Whether a key of ``role`` sees phone numbers unmasked."""
    return role in FULL_NUMBER_ROLES


def for_role(view: Mapping[str, Any], role: str, fields: Iterable[str] = PHONE_FIELDS) -> dict[str, Any]:
    """``view`` with its phone ``fields`` masked unless ``role`` sees full numbers."""
    shown = dict(view)
    if sees_full_numbers(role):
        return shown
    for name in fields:
        if isinstance(shown.get(name), str):
            shown[name] = mask_middle(shown[name])
    return shown


_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()\-]{5,30}[0-9]")
_DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")


def looks_like_phone(text: str) -> bool:
    """Whether ``text`` is spelled like a phone number: 7 to 15 digits of any script, separators, an
    optional ``+`` (an ISO date is not one)."""
    folded = ascii_digits(text[:64]).strip()
    digits = sum(ch.isdigit() for ch in folded)
    return 7 <= digits <= 15 and bool(_PHONE_LIKE.fullmatch(folded)) and not _DATE_LIKE.fullmatch(folded)
