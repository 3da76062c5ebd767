"""What callees say about calling back, read into a moment on the campaign's clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlu.callback_time import CallbackSpec, parse_callback, parse_token, resolve_callback
from nlu.entities import extract_entities

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Monday 2026-11-23 10:30 in Shanghai.
SAID_AT = dt.datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "token", "moment"),
    [
        ("明天下午", "D+1T14:00", dt.datetime(2026, 11, 24, 14, 0)),
        ("明天下午三点半再打", "D+1T15:30", dt.datetime(2026, 11, 24, 15, 30)),
        ("后天上午十点", "D+2T10:00", dt.datetime(2026, 11, 25, 10, 0)),
        ("大后天吧", "D+3T10:00", dt.datetime(2026, 11, 26, 10, 0)),
        ("今晚八点", "D+0T20:00", dt.datetime(2026, 11, 23, 20, 0)),
        ("两个小时后", "+7200s", dt.datetime(2026, 11, 23, 12, 30)),
        ("半小时之后再说", "+1800s", dt.datetime(2026, 11, 23, 11, 0)),
        ("我在忙 晚一点再打", "+7200s", dt.datetime(2026, 11, 23, 12, 30)),
        ("周五晚上", "W5T19:00", dt.datetime(2026, 11, 27, 19, 0)),
        ("下周三", "W3+T10:00", dt.datetime(2026, 12, 2, 10, 0)),
        ("周一", "W1T10:00", dt.datetime(2026, 11, 30, 10, 0)),  # today is Monday: the next one
    ],
)
def test_callback_phrases(text: str, token: str, moment: dt.datetime) -> None:
    spec = parse_callback(text)
    assert spec is not None and spec.token() == token
    assert parse_token(token) == spec
    assert resolve_callback(spec, SAID_AT) == moment.replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", ["我在开会", "快一点", "有点忙", "一点点", "不需要", ""])
def test_no_callback_named(text: str) -> None:
    assert parse_callback(text) is None


def test_the_entity_is_extracted_beside_the_others() -> None:
    assert extract_entities("明天下午打给我") == {"callback": "D+1T14:00"}
    assert extract_entities("我要分二十四期 一共三千块") == {"periods": "24", "amount": "3000"}


@pytest.mark.parametrize("token", ["D+1T25:00", "W8T10:00", "tomorrow", "+s", "D+1T10:61"])
def test_malformed_tokens(token: str) -> None:
    assert parse_token(token) is None


def test_a_time_in_a_dst_gap_maps_to_a_real_instant() -> None:
    new_york = dt.datetime(2026, 3, 7, 12, 0, tzinfo=ZoneInfo("America/New_York"))  # Saturday
    moment = resolve_callback(CallbackSpec(days=1, hour=2, minute=30), new_york)  # 02:30 does not exist
    assert moment.astimezone(dt.UTC) == dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)
