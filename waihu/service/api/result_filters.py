"""The filters of finished attempts shared by ``/v1/results`` and the exports: one spelling, one check."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy import Select, and_, or_, select

from waihu.service.api.errors import field_error
from waihu.service.api.scope import campaign_ids
from waihu.service.models import Attempt, Contact
from waihu.service.outcomes import AttemptOutcome


def _aware(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise field_error(["query", name], "time_needs_zone")
    return value


@dataclass(frozen=True)
class ResultFilters:
    """Which finished attempts a query wants (every field optional)."""

    campaign_id: int | None = None
    outcome: str | None = None
    grade: str | None = None
    reference_id: str | None = None
    variant: str | None = None
    ended_after: dt.datetime | None = None
    ended_before: dt.datetime | None = None

    def query(self, tenant: str) -> Select[Attempt, Contact]:
        """``(Attempt, Contact)`` rows of ``tenant``'s finished attempts matching the filters, in order of
        end time then id (the keyset :meth:`after` continues)."""
        query = (
            select(Attempt, Contact)
            .join(Contact, Contact.id == Attempt.contact_id)
            .where(Attempt.status == "finished", Attempt.campaign_id.in_(campaign_ids(tenant)))
            .order_by(Attempt.end_at, Attempt.id)
        )
        if self.campaign_id is not None:
            query = query.where(Attempt.campaign_id == self.campaign_id)
        if self.outcome:
            query = query.where(Attempt.outcome == self.outcome)
        if self.grade:
            query = query.where(Attempt.grade == self.grade)
        if self.reference_id:
            query = query.where(Contact.reference_id == self.reference_id)
        if self.variant:
            query = query.where(Attempt.variant == self.variant)
        if self.ended_after:
            query = query.where(Attempt.end_at >= self.ended_after)
        if self.ended_before:
            query = query.where(Attempt.end_at < self.ended_before)
        return query


def after(query: Select[Attempt, Contact], end_at: dt.datetime, attempt_id: str) -> Select[Attempt, Contact]:
    """``query`` continued after the row that ended at ``end_at`` with id ``attempt_id`` (keyset)."""
    return query.where(or_(Attempt.end_at > end_at, and_(Attempt.end_at == end_at, Attempt.id > attempt_id)))


def result_filters(
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    outcome: Annotated[AttemptOutcome | None, Query()] = None,
    grade: Annotated[str | None, Query(max_length=8)] = None,
    reference_id: Annotated[str | None, Query(max_length=128)] = None,
    variant: Annotated[str | None, Query(max_length=32, description="A/B variant name.")] = None,
    ended_after: Annotated[dt.datetime | None, Query(description="Inclusive, ISO 8601 with zone.")] = None,
    ended_before: Annotated[dt.datetime | None, Query(description="Exclusive, ISO 8601 with zone.")] = None,
) -> ResultFilters:
    """The filters from the query string; a 422 naming the field for a time without a zone."""
    return ResultFilters(
        campaign_id=campaign_id,
        outcome=outcome,
        grade=grade,
        reference_id=reference_id,
        variant=variant,
        ended_after=_aware(ended_after, "ended_after"),
        ended_before=_aware(ended_before, "ended_before"),
    )


ResultFiltersDep = Annotated[ResultFilters, Depends(result_filters)]
