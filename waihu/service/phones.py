"""Phone numbers: parse, validate and normalise to E.164 (``+<country><number>``) with libphonenumber.

Every spelling of a number must give the same stored string, or the do-not-call list (matched by exact
E.164) can be bypassed: digits are folded to ASCII first (full-width ``１３８``, Arabic-Indic ``١٣٨``, any
Unicode decimal digit), then ``phonenumbers`` parses the number in the default region, checks that it
is valid and of a type a robot may dial, and formats it as E.164.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from waihu.service.problems import sentence

DEFAULT_REGION = "CN"
#: Longest raw text looked at (the API's fields are shorter; imports are bounded here).
MAX_RAW_CHARS = 64
#: Characters people put between digits.
_SEPARATORS = frozenset(" \t-().\u00a0/\u2010\u2011\u2012\u2013\u2014\u2212\u3000")
#: Types a campaign may dial: premium-rate, shared-cost, toll-free, pager and the like are refused.
DIALABLE_TYPES = frozenset(
    {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
    }
)
_TYPE_NAMES = {value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper()}


class PhoneError(ValueError):
    """The text is not a usable phone number; the message says why."""


def ascii_digits(text: str) -> str:
    """``text`` in NFKC form with every Unicode decimal digit replaced by its ASCII digit."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        str(value) if (value := unicodedata.decimal(ch, None)) is not None else ch for ch in folded
    )


def region_for_country_code(country_code: str | int) -> str:
    """The main region of a calling code (``86`` → ``CN``); raise :class:`PhoneError` if unknown."""
    region = phonenumbers.region_code_for_country_code(int(country_code))
    if region in ("ZZ", "001"):
        raise PhoneError(sentence("phone_country_code_unknown", country_code=str(country_code)))
    return region


def check_region(region: str) -> str:
    """``region`` upper-cased if libphonenumber knows it (ISO 3166 alpha-2), else :class:`PhoneError`."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneError(sentence("phone_region_unknown", region=region))
    return code


def _compact(raw: str) -> str:
    """Digits with at most one leading ``+``: separators dropped, anything else refused."""
    raw = str(raw)
    if len(raw) > MAX_RAW_CHARS:
        raise PhoneError(sentence("phone_too_long", max_chars=MAX_RAW_CHARS))
    text = ascii_digits(raw).strip()
    if not text:
        raise PhoneError(sentence("phone_empty"))
    compact = "".join(ch for ch in text if ch not in _SEPARATORS)
    body = compact[1:] if compact.startswith("+") else compact
    if not body or not body.isascii() or not body.isdigit():
        raise PhoneError(sentence("phone_bad_characters"))
    return compact


def normalise_phone(raw: str, region: str = DEFAULT_REGION, *, dialable: bool = True) -> str:
    """Return the E.164 form of ``raw`` or raise :class:`PhoneError`.

    Accepts ``+<digits>``, ``00<digits>`` (international prefix), and national numbers of ``region``
    with or without the trunk ``0``; separators are dropped and digits of any script are read as
    ASCII. The number must be valid for its country; with ``dialable`` it must also be a mobile,
    fixed-line, VoIP or personal number (not premium-rate, toll-free, shared-cost, pager...).
    """
    compact = _compact(raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        number = phonenumbers.parse(compact, None if compact.startswith("+") else region)
    except NumberParseException as exc:
        raise PhoneError(sentence("phone_unparsable", reason=str(exc))) from exc
    if number.extension:
        raise PhoneError(sentence("phone_extension"))
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(sentence("phone_invalid", region=region))
    if dialable:
        kind = phonenumbers.number_type(number)
        if kind not in DIALABLE_TYPES:
            kind_name = _TYPE_NAMES.get(kind, "unknown").replace("_", "-")
            raise PhoneError(sentence("phone_not_dialled", kind=kind_name))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
