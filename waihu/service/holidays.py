"""Holiday calendars: dates on which a campaign never dials.

A campaign has its own ``holidays`` (dates) and may observe any of its tenant's shared calendars
(``holiday_calendars``: names of calendars kept with ``PUT /v1/holiday-calendars/{name}``). Dates are
local dates in the campaign's time zone. :func:`schedule_for` builds the campaign's
:class:`~waihu.service.policy.Schedule` with both, so the scheduler and the retry decisions honour them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from waihu.service.models import Campaign, Holiday
from waihu.service.policy import Schedule

#: A calendar name: letters, digits, ``_``, ``-`` and ``.``.
CALENDAR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: At most this many dates per calendar and per campaign (a few years of public holidays).
MAX_DAYS = 1000
#: Shared dates older than this before today are not loaded (they cannot matter to a decision now).
_LOOK_BACK = dt.timedelta(days=2)


def shared_holidays(
    session: Session, tenant: str, calendars: list[Any], since: dt.date | None = None
) -> frozenset[dt.date]:
    """The dates of ``tenant``'s calendars named in ``calendars`` (from ``since`` on)."""
    names = [str(name) for name in calendars or ()]
    if not names:
        return frozenset()
    query = select(Holiday.day).where(Holiday.tenant == tenant, Holiday.calendar.in_(names))
    if since is not None:
        query = query.where(Holiday.day >= since)
    return frozenset(session.scalars(query))


def schedule_for(session: Session, campaign: Campaign, now: dt.datetime | None = None) -> Schedule:
    """The campaign's schedule with its own holidays and those of the shared calendars it observes."""
    since = (now.date() - _LOOK_BACK) if now is not None else None
    shared = shared_holidays(session, campaign.tenant, campaign.holiday_calendars, since)
    return Schedule.from_campaign(campaign, shared)
