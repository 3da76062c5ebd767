"""Result-based routing (结果分流) of answered calls: call back by rule, or hand over to a follow-up
campaign.

A campaign's ``routing_rules`` (validated by :class:`waihu.service.campaign_rules.RoutingRule`) are
looked at in order after an answered attempt; the first whose ``when`` matches the call's grade, tags
and the intents the callee expressed applies:

- ``retry``: the contact stays pending and is called again ``after_s`` later, or — with
  ``use_callback_time`` — at the moment the callee named (the ``callback`` entity of the call's trace,
  "明天下午" → tomorrow 14:00 on the campaign's clock), always inside the calling windows, at most
  ``max`` times by this rule and never beyond the campaign's attempt limits;
- ``route``: the contact is done here and a new contact with its reference id, phone, name and
  variables is added to the follow-up campaign (same tenant), due ``after_s`` later.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu.callback_time import parse_callback, parse_token, resolve_callback
from waihu.privacy import mask_phone
from waihu.service.campaign_rules import RULE_KEY_PREFIX
from waihu.service.lifecycle import change_campaign_state
from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.policy import RetryDecision, Schedule

log = logging.getLogger(__name__)

#: A callback time named by the callee is honoured at the earliest this long after the call.
MIN_CALLBACK_DELAY = dt.timedelta(minutes=5)
#: Follow-up campaigns in these states take no routed contacts.
_CLOSED = ("cancelled", "failed")


def _intents(transcript: list[Any]) -> set[str]:
    return {
        str(turn.get("intent")) for turn in transcript or () if isinstance(turn, dict) and turn.get("intent")
    }


def matching_rule(rules: list[Any], attempt: Attempt) -> dict[str, Any] | None:
    """The first rule of ``rules`` (stored dicts) whose ``when`` matches the answered ``attempt``."""
    tags = set(attempt.tags or [])
    intents = _intents(attempt.transcript)
    for rule in rules or ():
        when = rule.get("when") or {}
        if when.get("grades") and attempt.grade not in when["grades"]:
            continue
        if when.get("tags_any") and not tags & set(when["tags_any"]):
            continue
        if when.get("intents_any") and not intents & set(when["intents_any"]):
            continue
        return dict(rule)
    return None


def callback_time(transcript: list[Any], schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    """The moment the callee asked to be called back (their last mention wins), or None.

    Reads the turns' ``callback`` entities and, for traces of classifiers that do not extract it, the
    utterances themselves; resolved on the campaign's wall clock at ``now``.
    """
    found = None
    for turn in transcript or ():
        if not isinstance(turn, dict):
            continue
        token = (turn.get("entities") or {}).get("callback")
        spec = parse_token(str(token)) if token else None
        if spec is None and turn.get("utterance"):
            spec = parse_callback(str(turn["utterance"]))
        if spec is not None:
            found = spec
    if found is None:
        return None
    moment = resolve_callback(found, schedule.local(now)).astimezone(dt.UTC)
    return moment if moment >= now + MIN_CALLBACK_DELAY else None


def retry_by_rule(
    rule: dict[str, Any],
    attempt: Attempt,
    contact: Contact,
    campaign: Campaign,
    schedule: Schedule,
    now: dt.datetime,
) -> RetryDecision:
    """The decision of a ``retry`` rule for the contact of an answered attempt."""
    key = RULE_KEY_PREFIX + rule["name"]
    used = int((contact.retry_counts or {}).get(key, 0))
    if used >= int(rule.get("max", 1)):
        return RetryDecision(True, None, f"rule {rule['name']}: {used} call-backs spent")
    if contact.attempts_total >= campaign.max_attempts:
        return RetryDecision(True, None, f"max attempts ({campaign.max_attempts}) reached")
    due = now + dt.timedelta(seconds=int(rule.get("after_s", 0)))
    said = callback_time(attempt.transcript, schedule, now) if rule.get("use_callback_time") else None
    if said is not None:
        due = said
    today = schedule.local_date(now)
    done_today = contact.attempts_on_day if contact.attempts_day == today else 0
    if done_today >= campaign.max_attempts_per_day and schedule.local_date(due) == today:
        due = schedule.start_of_next_day(now)
    opening = schedule.next_open(due)
    if opening is None:
        return RetryDecision(True, None, f"rule {rule['name']}: no calling window left")
    how = "at the time the callee named" if said is not None else f"after {rule.get('after_s', 0)} s"
    return RetryDecision(False, opening, f"rule {rule['name']}: call back {how}")


@dataclass(frozen=True)
class Routed:
    """A contact handed to a follow-up campaign."""

    campaign_id: int
    contact_id: int


def route_contact(
    session: Session, rule: dict[str, Any], source: Campaign, contact: Contact, now: dt.datetime
) -> Routed | None:
    """Add ``contact`` to the rule's follow-up campaign (caller commits); None when it cannot take it
    (gone, another tenant's, closed, or it has the reference id or the phone already)."""
    target = session.get(Campaign, int(rule["campaign_id"]))
    if target is None or target.tenant != source.tenant or target.id == source.id or target.state in _CLOSED:
        log.warning(
            "rule %s of campaign %s: follow-up campaign %s unusable",
            rule["name"],
            source.id,
            rule["campaign_id"],
        )
        return None
    clash = session.scalar(
        select(Contact.id).where(
            Contact.campaign_id == target.id,
            (Contact.reference_id == contact.reference_id) | (Contact.phone == contact.phone),
        )
    )
    if clash is not None:
        log.info(
            "contact %s (%s) already in campaign %s: not routed",
            contact.id,
            mask_phone(contact.phone),
            target.id,
        )
        return None
    follow_up = Contact(
        campaign_id=target.id,
        reference_id=contact.reference_id,
        phone=contact.phone,
        name=contact.name,
        variables=dict(contact.variables or {}),
        state="pending",
        next_attempt_at=now + dt.timedelta(seconds=int(rule.get("after_s", 0))),
        attempts_total=0,
        attempts_on_day=0,
        retry_counts={},
        grade_label="",
        tags=[],
        routed_from_contact_id=contact.id,
        created_at=now,
        updated_at=now,
    )
    session.add(follow_up)
    session.flush()
    if target.state == "succeeded":  # like an import: a finished campaign runs again for its new contact
        change_campaign_state(session, target, "executing", now, f"contact routed from campaign {source.id}")
    log.info(
        "contact %s (%s) routed by rule %s to campaign %s as contact %s",
        contact.id,
        mask_phone(contact.phone),
        rule["name"],
        target.id,
        follow_up.id,
    )
    return Routed(target.id, follow_up.id)
