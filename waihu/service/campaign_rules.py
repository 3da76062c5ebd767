"""The campaign rules a strategy system sets on create and changes with PATCH (validated shapes).

- ``frequency_cap``: at most ``max_answered`` answered calls per phone per ``days`` days across the
  tenant's campaigns (:mod:`waihu.service.frequency`).
- ``routing_rules``: result-based routing of answered calls by grade, tag or intent: call back
  (``retry``, optionally at the time the callee named) or hand the contact to a follow-up campaign
  (``route``) (:mod:`waihu.service.routing`).
- ``caller_numbers_by_region``: caller numbers per province of the callee
  (:mod:`waihu.service.caller_id`).
- ``holidays`` / ``holiday_calendars``: dates on which the campaign never dials
  (:mod:`waihu.service.holidays`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from waihu.service.caller_id import normalise_region
from waihu.service.holidays import CALENDAR_PATTERN, MAX_DAYS
from waihu.service.problems import invalid

CallerNumber = Annotated[str, Field(pattern=r"^\+?[0-9]{3,20}$")]
_LABEL = Annotated[str, Field(min_length=1, max_length=64)]
MAX_ROUTING_RULES = 20
#: Retry-count key prefix of a routing rule in a contact's ``retry_counts``.
RULE_KEY_PREFIX = "rule:"


class FrequencyCap(BaseModel):
    """At most ``max_answered`` answered calls per phone within ``days`` days (across campaigns)."""

    model_config = ConfigDict(extra="forbid")

    max_answered: int = Field(ge=1, le=100, examples=[2])
    days: int = Field(default=7, ge=1, le=365)


class RuleMatch(BaseModel):
    """What an answered call must have: any of ``grades``, any of ``tags_any``, any of ``intents_any``
    (the intents the callee expressed during the call); every list given must match."""

    model_config = ConfigDict(extra="forbid")

    grades: list[Annotated[str, Field(pattern=r"^[A-Z][0-9A-Za-z+-]{0,7}$")]] = Field(
        default_factory=list, max_length=20
    )
    tags_any: list[_LABEL] = Field(default_factory=list, max_length=50)
    intents_any: list[_LABEL] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> RuleMatch:
        if not (self.grades or self.tags_any or self.intents_any):
            raise invalid("rule_match_empty")
        return self


class RoutingRule(BaseModel):
    """One result-based rule; the first rule matching an answered call applies.

    ``retry``: call the contact again ``after_s`` later (within the calling windows), at most ``max``
    times by this rule; with ``use_callback_time`` at the time the callee named ("明天下午" → tomorrow
    14:00 in the campaign's time zone) when they named one. ``route``: the contact is done here and a
    new contact (same reference id, phone, name, variables) is added to campaign ``campaign_id``
    (same tenant), due ``after_s`` later.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$", examples=["busy-callback"])
    when: RuleMatch
    action: Literal["retry", "route"]
    after_s: int = Field(default=0, ge=0, le=90 * 86_400)
    max: int = Field(default=1, ge=1, le=20, description="retry: how many times this rule may re-dial.")
    use_callback_time: bool = False
    campaign_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @model_validator(mode="after")
    def _check_action(self) -> RoutingRule:
        if self.action == "route":
            if self.campaign_id is None:
                raise invalid("route_rule_needs_campaign")
            if self.use_callback_time:
                raise invalid("callback_time_for_retry")
        else:
            if self.campaign_id is not None:
                raise invalid("campaign_id_for_route")
            if self.after_s < 60:
                raise invalid("retry_rule_after_s")
        return self


def _check_rule_names(rules: list[RoutingRule]) -> list[RoutingRule]:
    names = [rule.name for rule in rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid("rule_names_duplicate", names=", ".join(duplicates))
    return rules


def _check_by_region(value: dict[str, list[str]]) -> dict[str, list[str]]:
    clean: dict[str, list[str]] = {}
    for region, numbers in value.items():
        short = normalise_region(region)
        if short in clean:
            raise invalid("region_given_twice", region=short)
        clean[short] = numbers
    return clean


class CampaignRules(BaseModel):
    """The rule fields shared by create and PATCH (see each field)."""

    start_at: dt.datetime | None = Field(
        default=None, description="Exact instant before which nothing is dialled (with a UTC offset)."
    )
    stop_at: dt.datetime | None = Field(
        default=None, description="Exact instant from which nothing is dialled; the campaign then ends."
    )
    holidays: list[dt.date] = Field(
        default_factory=list, max_length=MAX_DAYS, description="Local dates on which it never dials."
    )
    holiday_calendars: list[Annotated[str, Field(pattern=CALENDAR_PATTERN)]] = Field(
        default_factory=list,
        max_length=20,
        description="Names of the tenant's shared calendars (/v1/holiday-calendars) it observes.",
    )
    frequency_cap: FrequencyCap | None = Field(
        default=None,
        description="Per-phone cap across the tenant's campaigns; left out: the server's default "
        "(WAIHU_FREQUENCY_CAP), null: no cap.",
    )
    routing_rules: list[RoutingRule] = Field(default_factory=list, max_length=MAX_ROUTING_RULES)
    caller_numbers_by_region: dict[str, list[CallerNumber]] = Field(
        default_factory=dict,
        max_length=40,
        description="Province (广东, 北京, …) → caller numbers shown to callees of that province.",
    )

    @field_validator("routing_rules")
    @classmethod
    def _rule_names(cls, value: list[RoutingRule]) -> list[RoutingRule]:
        return _check_rule_names(value)

    @field_validator("caller_numbers_by_region")
    @classmethod
    def _regions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_by_region(value)

    @field_validator("holidays")
    @classmethod
    def _days(cls, value: list[dt.date]) -> list[dt.date]:
        return sorted(set(value))

    @field_validator("start_at", "stop_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise invalid("time_needs_offset")
        if not 2000 <= value.year <= 2200:
            raise invalid("year_out_of_range")
        return value


def rules_columns(rules: CampaignRules, fields: set[str] | None = None) -> dict[str, Any]:
    """Column values of the rule fields (only ``fields`` when given), JSON-ready."""
    values: dict[str, Any] = {
        "start_at": rules.start_at,
        "stop_at": rules.stop_at,
        "holidays": [day.isoformat() for day in rules.holidays],
        "holiday_calendars": list(rules.holiday_calendars),
        "frequency_cap": rules.frequency_cap.model_dump() if rules.frequency_cap else None,
        "routing_rules": [rule.model_dump(exclude_none=True) for rule in rules.routing_rules],
        "caller_numbers_by_region": dict(rules.caller_numbers_by_region),
    }
    return values if fields is None else {name: values[name] for name in fields if name in values}
