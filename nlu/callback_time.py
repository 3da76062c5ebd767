"""When the callee asks to be called back: "明天下午" → tomorrow 14:00, "两个小时后" → in 2 h.

:func:`parse_callback` reads an utterance into a :class:`CallbackSpec`, which is *relative* (a day
offset or a weekday, a time of day, or a delay) because the words mean nothing without the moment and
the time zone they were said in. Its :meth:`CallbackSpec.token` is what the NLU puts in a turn's
entities (``callback``: ``D+1T14:00``, ``W3+T10:00``, ``+7200s``); the service resolves it with
:func:`resolve_callback` on the campaign's wall clock when the call has ended.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from nlu.entities import chinese_to_number

#: Times of day the words stand for (a bank's callback habits: morning calls after 10).
PART_OF_DAY = {
    "早上": (9, 0),
    "早晨": (9, 0),
    "明早": (9, 0),
    "上午": (10, 0),
    "中午": (12, 0),
    "下午": (14, 0),
    "傍晚": (17, 0),
    "晚上": (19, 0),
    "今晚": (19, 0),
    "明晚": (19, 0),
}
_PM_PARTS = ("下午", "傍晚", "晚上", "今晚", "明晚")
_DAYS = {"今天": 0, "今儿": 0, "今晚": 0, "明天": 1, "明儿": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3}
_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "末": 6}
_DAYS_LONGEST_FIRST = sorted(_DAYS.items(), key=lambda item: -len(item[0]))  # 大后天 before 后天
#: Default time when only a day is said ("明天打吧").
DEFAULT_TIME = (10, 0)

_NUM = r"[0-9零一二两三四五六七八九十]+"
_WEEKDAY_RE = re.compile(r"(下个?)?(?:周|星期|礼拜)([一二三四五六日天末])")
_CLOCK_RE = re.compile(rf"({_NUM})\s*(?:点|点钟|:|：)\s*(半|{_NUM}分?|一刻)?")
_AFTER_RE = re.compile(rf"({_NUM}|半)\s*(?:个)?\s*(小时|钟头|分钟)\s*(?:以后|之后|后)")
_LATER = ("晚点", "晚些", "过会", "等会", "一会儿")
_LATER_S = 2 * 3600
#: "一点" that is "a little", not one o'clock ("晚一点", "快一点", "一点点").
_NOT_CLOCK_RE = re.compile(r"[晚早快慢好多少差有]一点|一点点|一点儿")


@dataclass(frozen=True)
class CallbackSpec:
    """A callback moment relative to when it was said.

    Either ``after_s`` (a delay), or a day (``days`` from today, or the next ``weekday`` 1-7, in the
    following week when ``next_week``) at ``hour``:``minute``.
    """

    days: int | None = None
    weekday: int | None = None
    next_week: bool = False
    hour: int = DEFAULT_TIME[0]
    minute: int = DEFAULT_TIME[1]
    after_s: int | None = None

    def token(self) -> str:
        """The entity value: ``+<s>s``, ``D+<n>T<HH:MM>`` or ``W<d>[+]T<HH:MM>``."""
        if self.after_s is not None:
            return f"+{self.after_s}s"
        clock = f"T{self.hour:02d}:{self.minute:02d}"
        if self.weekday is not None:
            return f"W{self.weekday}{'+' if self.next_week else ''}{clock}"
        return f"D+{self.days or 0}{clock}"


_TOKEN_RE = re.compile(r"^\+(\d{1,7})s$|^D\+(\d{1,3})T(\d\d):(\d\d)$|^W([1-7])(\+?)T(\d\d):(\d\d)$")


def parse_token(token: str) -> CallbackSpec | None:
    """The spec of an entity value written by :meth:`CallbackSpec.token`; None if malformed."""
    match = _TOKEN_RE.match(token.strip())
    if match is None:
        return None
    delay, days, d_hour, d_minute, weekday, plus, w_hour, w_minute = match.groups()
    if delay is not None:
        return CallbackSpec(after_s=int(delay))
    hour, minute = (int(d_hour), int(d_minute)) if days is not None else (int(w_hour), int(w_minute))
    if hour > 23 or minute > 59:
        return None
    if days is not None:
        return CallbackSpec(days=int(days), hour=hour, minute=minute)
    return CallbackSpec(weekday=int(weekday), next_week=plus == "+", hour=hour, minute=minute)


def _number(text: str) -> int | None:
    value = chinese_to_number(text)
    return int(value) if value is not None else None


def _clock(text: str, part: str | None) -> tuple[int, int] | None:
    match = _CLOCK_RE.search(text)
    if match is None:
        return None
    hour = _number(match.group(1))
    if hour is None or hour > 24:
        return None
    extra = match.group(2) or ""
    minute = 30 if extra == "半" else 15 if extra == "一刻" else (_number(extra.rstrip("分")) or 0)
    if minute > 59:
        return None
    if hour < 12 and (part in _PM_PARTS or (part is None and 1 <= hour <= 7)):
        hour += 12  # "下午三点"; a bare "两点" is business hours, so the afternoon
    return hour % 24, minute


def parse_callback(text: str) -> CallbackSpec | None:
    """The callback moment said in ``text`` (normalised Chinese), or None when it names none."""
    after = _AFTER_RE.search(text)
    if after is not None:
        amount = 0.5 if after.group(1) == "半" else _number(after.group(1))
        if amount:
            unit = 60 if after.group(2) == "分钟" else 3600
            return CallbackSpec(after_s=int(amount * unit))
    text = _NOT_CLOCK_RE.sub(lambda match: match.group(0)[0] + "些", text)
    part = next((word for word in PART_OF_DAY if word in text), None)
    days = next((offset for word, offset in _DAYS_LONGEST_FIRST if word in text), None)
    weekday_match = _WEEKDAY_RE.search(text)
    clock = _clock(text, part)
    if days is None and weekday_match is None and part is None and clock is None:
        if any(word in text for word in _LATER):
            return CallbackSpec(after_s=_LATER_S)
        return None
    hour, minute = clock or (PART_OF_DAY[part] if part else DEFAULT_TIME)
    if weekday_match is not None:
        weekday = _WEEKDAYS[weekday_match.group(2)]
        return CallbackSpec(weekday=weekday, next_week=bool(weekday_match.group(1)), hour=hour, minute=minute)
    return CallbackSpec(days=days or 0, hour=hour, minute=minute)


def resolve_callback(spec: CallbackSpec, local_now: dt.datetime) -> dt.datetime:
    """The aware moment ``spec`` means when said at ``local_now`` (aware, on the campaign's clock).

    A weekday means its next occurrence after today (``next_week``: in the following week).
    """
    if spec.after_s is not None:
        return local_now + dt.timedelta(seconds=spec.after_s)
    today = local_now.date()
    if spec.weekday is not None:
        ahead = (spec.weekday - today.isoweekday()) % 7 or 7
        if spec.next_week:
            monday_next = today + dt.timedelta(days=7 - today.isoweekday() + 1)
            day = monday_next + dt.timedelta(days=spec.weekday - 1)
        else:
            day = today + dt.timedelta(days=ahead)
    else:
        day = today + dt.timedelta(days=spec.days or 0)
    naive = dt.datetime.combine(day, dt.time(spec.hour, spec.minute))
    # Through UTC: a wall time inside a DST gap still maps to a real instant.
    return naive.replace(tzinfo=local_now.tzinfo).astimezone(dt.UTC).astimezone(local_now.tzinfo)
