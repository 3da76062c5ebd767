"""Local caller-ID presentation: show the callee a caller number from their own region.

A campaign may hold ``caller_numbers_by_region`` (province → numbers). The callee's region is the
province of their number by libphonenumber's geocoder (a Chinese mobile's prefix tells it); when the
campaign has numbers for it one of them is shown, otherwise one of the campaign's ``caller_numbers``.
Numbers rotate by contact and attempt so that retries do not always show the same one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, geocoder

from waihu.service.problems import invalid

#: Province-level regions of China by their short names (keys of ``caller_numbers_by_region``).
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
    "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_SUFFIXES = ("特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市")


def normalise_region(name: str) -> str:
    """A province's short name (``广东省`` → ``广东``); raise ValueError naming the known ones."""
    short = name.strip()
    for suffix in _SUFFIXES:
        if short.endswith(suffix) and short[: -len(suffix)] in PROVINCES:
            short = short[: -len(suffix)]
            break
    if short not in PROVINCES:
        raise invalid("region_unknown", region=name)
    return short


@lru_cache(maxsize=65_536)
def callee_region(phone: str) -> str | None:
    """The province of an E.164 number (``+8613800138000`` → ``北京``), or None when unknown."""
    try:
        number = phonenumbers.parse(phone, None)
    except NumberParseException:
        return None
    description = geocoder.description_for_number(number, "zh")
    return next((name for name in PROVINCES if description.startswith(name)), None)


def pick_caller(
    campaign: Any, phone: str, contact_id: int, attempt_number: int
) -> tuple[str | None, str | None]:
    """``(caller number, region it was picked for)`` for dialling ``phone``; the region is None when
    no local number was used (the campaign's general ``caller_numbers``, or none at all)."""
    rotation = contact_id + attempt_number - 1
    by_region = campaign.caller_numbers_by_region or {}
    region = callee_region(phone) if by_region else None
    local = by_region.get(region) if region else None
    if local:
        return local[rotation % len(local)], region
    callers = list(campaign.caller_numbers or [])
    return (callers[rotation % len(callers)] if callers else None), None
