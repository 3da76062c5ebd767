"""Calling rules of a campaign: calling windows in its time zone, date bounds, exact start/stop
times, holidays and the retry policy.

Pure functions of their arguments (no database): the scheduler and the API both use them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from waihu.service.outcomes import RetryKey
from waihu.service.problems import invalid

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class CallingWindow(BaseModel):
    """Dial on these ISO weekdays (1 = Monday … 7 = Sunday) from ``start`` to ``end`` (local ``HH:MM``)."""

    model_config = ConfigDict(extra="forbid")

    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7)
    start: str = Field(examples=["09:00"])
    end: str = Field(examples=["12:00"])

    @field_validator("weekdays")
    @classmethod
    def _check_weekdays(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value):
            raise invalid("weekdays_invalid")
        return sorted(set(value))

    @field_validator("start", "end")
    @classmethod
    def _check_time(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise invalid("time_not_hhmm")
        return value

    @model_validator(mode="after")
    def _check_order(self) -> CallingWindow:
        if _minutes(self.start) >= _minutes(self.end):
            raise invalid("window_start_not_before_end")
        return self

    def contains(self, local: dt.datetime) -> bool:
        """Whether the local (wall-clock) time is inside this window."""
        minute = local.hour * 60 + local.minute + local.second / 60
        return local.isoweekday() in self.weekdays and _minutes(self.start) <= minute < _minutes(self.end)


class RetryRule(BaseModel):
    """Re-dial after an attempt with this outcome: at most ``max`` times, ``interval_s`` apart."""

    model_config = ConfigDict(extra="forbid")

    interval_s: int = Field(ge=60, le=30 * 86_400)
    max: int = Field(ge=0, le=20)


DEFAULT_RETRY_POLICY: dict[RetryKey, RetryRule] = {
    "no_answer": RetryRule(interval_s=3600, max=2),
    "busy": RetryRule(interval_s=1800, max=2),
    "unavailable": RetryRule(interval_s=3600, max=1),
    "failed": RetryRule(interval_s=600, max=1),
    "lost": RetryRule(interval_s=600, max=1),
    # Carrier announcements: a phone that is off or out of coverage comes back; a suspended line
    # rarely does within a campaign; an answering machine means the person may pick up later.
    "powered_off": RetryRule(interval_s=7200, max=2),
    "unreachable": RetryRule(interval_s=3600, max=2),
    "voicemail": RetryRule(interval_s=7200, max=1),
}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid("time_zone_unknown", zone=name) from exc


def holiday_dates(values: Any) -> frozenset[dt.date]:
    """ISO dates (strings or dates, as stored in a campaign's ``holidays``) as a set of dates."""
    return frozenset(
        value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)) for value in values or ()
    )


@dataclass(frozen=True)
class Schedule:
    """Where and when a campaign may dial.

    ``holidays``: local dates on which it never dials; ``start_at``/``stop_at``: exact instants (aware)
    before and from which it never dials, besides the ``not_before``/``not_after`` dates.
    """

    timezone: str
    windows: list[CallingWindow]
    not_before: dt.date | None = None
    not_after: dt.date | None = None
    holidays: frozenset[dt.date] = frozenset()
    start_at: dt.datetime | None = None
    stop_at: dt.datetime | None = None

    @classmethod
    def from_campaign(cls, campaign: Any, shared_holidays: frozenset[dt.date] = frozenset()) -> Schedule:
        """Build from a :class:`~waihu.service.models.Campaign` row; ``shared_holidays``: the dates of
        the tenant calendars it observes (:func:`waihu.service.holidays.schedule_for` loads them)."""
        return cls(
            timezone=campaign.timezone,
            windows=[CallingWindow.model_validate(window) for window in campaign.windows],
            not_before=campaign.not_before,
            not_after=campaign.not_after,
            holidays=holiday_dates(getattr(campaign, "holidays", None)) | shared_holidays,
            start_at=getattr(campaign, "start_at", None),
            stop_at=getattr(campaign, "stop_at", None),
        )

    def local(self, when: dt.datetime) -> dt.datetime:
        """``when`` on the campaign's wall clock."""
        return when.astimezone(zone(self.timezone))

    def local_date(self, when: dt.datetime) -> dt.date:
        """The campaign's calendar date at ``when`` (per-day limits count on this date)."""
        return self.local(when).date()

    def date_allowed(self, day: dt.date) -> bool:
        """Whether ``day`` is within ``not_before``..``not_after`` (inclusive) and not a holiday."""
        return not (
            (self.not_before is not None and day < self.not_before)
            or (self.not_after is not None and day > self.not_after)
            or day in self.holidays
        )

    def ended(self, when: dt.datetime) -> bool:
        """Whether the campaign can never dial again at or after ``when`` (past ``not_after`` or
        ``stop_at``)."""
        return (self.stop_at is not None and when >= self.stop_at) or (
            self.not_after is not None and self.local_date(when) > self.not_after
        )

    def is_open(self, when: dt.datetime) -> bool:
        """Whether dialling is allowed at ``when``: between start and stop, a date within bounds that is
        no holiday, and inside a window."""
        if (self.start_at is not None and when < self.start_at) or (
            self.stop_at is not None and when >= self.stop_at
        ):
            return False
        local = self.local(when)
        return self.date_allowed(local.date()) and any(window.contains(local) for window in self.windows)

    def next_open(self, when: dt.datetime, horizon_days: int = 370) -> dt.datetime | None:
        """The first moment at or after ``when`` when dialling is allowed; None if never (past not_after
        or stop_at)."""
        if self.start_at is not None and when < self.start_at:
            when = self.start_at
        if self.is_open(when):
            return when
        tz = zone(self.timezone)
        local = when.astimezone(tz)
        for offset in range(horizon_days + 1):
            day = local.date() + dt.timedelta(days=offset)
            if self.not_after is not None and day > self.not_after:
                return None
            if self.stop_at is not None and day > self.local_date(self.stop_at):
                return None
            if not self.date_allowed(day):
                continue
            starts = sorted(
                _minutes(window.start) for window in self.windows if day.isoweekday() in window.weekdays
            )
            for start in starts:
                candidate = dt.datetime.combine(day, dt.time(start // 60, start % 60), tzinfo=tz)
                # A start inside a DST gap does not exist on the wall clock: normalise through UTC.
                candidate = candidate.astimezone(dt.UTC).astimezone(tz)
                if candidate >= local and self.is_open(candidate):
                    return candidate.astimezone(dt.UTC)
        return None

    def start_of_next_day(self, when: dt.datetime) -> dt.datetime:
        """Local midnight after ``when``, in UTC (when the per-day attempt counter resets)."""
        tz = zone(self.timezone)
        day = when.astimezone(tz).date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class RetryDecision:
    """What happens to a contact after an attempt: ``final`` or dial again at ``next_attempt_at``."""

    final: bool
    next_attempt_at: dt.datetime | None
    reason: str


def decide_retry(
    *,
    outcome: str,
    retry_policy: dict[str, Any],
    retries_used: int,
    attempts_total: int,
    max_attempts: int,
    attempts_today: int,
    max_attempts_per_day: int,
    schedule: Schedule,
    now: dt.datetime,
) -> RetryDecision:
    """Apply the retry policy after an attempt with ``outcome``.

    ``retries_used``: retries already spent on this outcome; ``attempts_total``/``attempts_today``: attempts
    made so far including the one just finished. The next attempt waits ``interval_s``, then for the next
    local day when today's quota is spent, then for the next open calling window.
    """
    raw_rule = retry_policy.get(outcome)
    if raw_rule is None:
        return RetryDecision(True, None, f"no retry for {outcome}")
    rule = RetryRule.model_validate(raw_rule)
    if retries_used >= rule.max:
        return RetryDecision(True, None, f"{outcome}: {rule.max} retries spent")
    if attempts_total >= max_attempts:
        return RetryDecision(True, None, f"max attempts ({max_attempts}) reached")
    due = now + dt.timedelta(seconds=rule.interval_s)
    if attempts_today >= max_attempts_per_day:
        due = max(due, schedule.start_of_next_day(now))
    opening = schedule.next_open(due)
    if opening is None:
        return RetryDecision(True, None, "no calling window left before not_after")
    return RetryDecision(False, opening, f"retry {retries_used + 1}/{rule.max} for {outcome}")
