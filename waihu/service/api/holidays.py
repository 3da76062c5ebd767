"""/v1/holiday-calendars: a tenant's shared holiday calendars (dates on which campaigns never dial).

A campaign observes the calendars named in its ``holiday_calendars`` (and its own ``holidays``);
changing a calendar changes every campaign observing it at the scheduler's next claim.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, func, select

from waihu.service.api.deps import SessionDep, Strategy
from waihu.service.api.errors import not_found
from waihu.service.api.pagination import Page
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.audit import record_change
from waihu.service.holidays import CALENDAR_PATTERN, MAX_DAYS
from waihu.service.models import Holiday, utcnow
from waihu.service.problems import invalid
from waihu.service.views import DateText, PublicModel

router = APIRouter(prefix="/v1/holiday-calendars", tags=["holidays"], responses=errors(*AUTH, 422))
CalendarName = Annotated[str, Path(pattern=CALENDAR_PATTERN, examples=["cn-public"])]


class HolidayDay(BaseModel):
    """One date of a calendar (local date in each observing campaign's time zone)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    name: str = Field(default="", max_length=200, examples=["国庆节"])


class HolidayCalendarUpdate(BaseModel):
    """The whole calendar: its dates replace the ones it had."""

    model_config = ConfigDict(extra="forbid")

    days: list[HolidayDay] = Field(max_length=MAX_DAYS)

    @field_validator("days")
    @classmethod
    def _unique(cls, value: list[HolidayDay]) -> list[HolidayDay]:
        seen: set[dt.date] = set()
        for day in value:
            if day.date in seen:
                raise invalid("holiday_listed_twice", date=day.date.isoformat())
            seen.add(day.date)
        return sorted(value, key=lambda day: day.date)


def _days(session: SessionDep, tenant: str, name: str) -> list[Holiday]:
    return list(
        session.scalars(
            select(Holiday).where(Holiday.tenant == tenant, Holiday.calendar == name).order_by(Holiday.day)
        )
    )


class HolidayCalendarPublic(PublicModel):
    """A calendar and its dates, in date order."""

    name: str
    days: list[HolidayDay]


class HolidayCalendarSummary(PublicModel):
    """A calendar's name, how many dates it holds, its first and last date."""

    name: str
    days: int
    first: DateText
    last: DateText


class HolidayCalendarsPublic(Page[HolidayCalendarSummary]):
    """The tenant's calendars by name (one page: ``next_cursor`` is always null)."""


def _public(name: str, days: list[Holiday]) -> HolidayCalendarPublic:
    return HolidayCalendarPublic(name=name, days=[HolidayDay(date=day.day, name=day.name) for day in days])


def _view(name: str, days: list[Holiday]) -> dict[str, Any]:
    return _public(name, days).model_dump(mode="json")


@router.get("", summary="List the tenant's holiday calendars", response_model=HolidayCalendarsPublic)
def list_calendars(session: SessionDep, key: Strategy) -> HolidayCalendarsPublic:
    """Calendar names with how many dates each holds and the first and last date."""
    rows = session.execute(
        select(Holiday.calendar, func.count(), func.min(Holiday.day), func.max(Holiday.day))
        .where(Holiday.tenant == key.tenant)
        .group_by(Holiday.calendar)
        .order_by(Holiday.calendar)
    ).all()
    items = [
        HolidayCalendarSummary(name=name, days=count, first=first.isoformat(), last=last.isoformat())
        for name, count, first, last in rows
    ]
    return HolidayCalendarsPublic(items=items, next_cursor=None)


@router.get(
    "/{name}",
    summary="A holiday calendar's dates",
    response_model=HolidayCalendarPublic,
    responses=errors(404),
)
def get_calendar(name: CalendarName, session: SessionDep, key: Strategy) -> HolidayCalendarPublic:
    """The dates of calendar ``name``."""
    days = _days(session, key.tenant, name)
    if not days:
        raise not_found("holiday_calendar_not_found", name=name)
    return _public(name, days)


@router.put(
    "/{name}",
    summary="Create or replace a holiday calendar",
    response_model=HolidayCalendarPublic,
    responses=errors(*JSON_BODY),
)
def put_calendar(
    name: CalendarName, body: HolidayCalendarUpdate, session: SessionDep, key: Strategy
) -> HolidayCalendarPublic:
    """Replace calendar ``name``'s dates (an empty list empties it); audited."""
    before = _days(session, key.tenant, name)
    now = utcnow()
    session.execute(delete(Holiday).where(Holiday.tenant == key.tenant, Holiday.calendar == name))
    session.add_all(
        Holiday(tenant=key.tenant, calendar=name, day=day.date, name=day.name, created_at=now)
        for day in body.days
    )
    session.flush()
    after = _days(session, key.tenant, name)
    record_change(
        session,
        key,
        "holiday_calendar.put",
        "holiday_calendar",
        name,
        tenant=key.tenant,
        before=_view(name, before) if before else None,
        after=_view(name, after),
        at=now,
    )
    session.commit()
    return _public(name, after)


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a holiday calendar",
    responses=errors(404),
)
def delete_calendar(name: CalendarName, session: SessionDep, key: Strategy) -> Response:
    """Remove every date of calendar ``name``; campaigns naming it then observe nothing from it."""
    before = _days(session, key.tenant, name)
    if not before:
        raise not_found("holiday_calendar_not_found", name=name)
    session.execute(delete(Holiday).where(Holiday.tenant == key.tenant, Holiday.calendar == name))
    record_change(
        session,
        key,
        "holiday_calendar.delete",
        "holiday_calendar",
        name,
        tenant=key.tenant,
        before=_view(name, before),
    )
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
