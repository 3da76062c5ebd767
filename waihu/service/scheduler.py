"""The contact life cycle: claim due contacts, track the call, record its result, recover lost attempts.

A worker does, for each free line::

    claims = claim_due_contacts(session, worker_id, now, limit)   # attempt rows written, committed
    ... dial claims[i].phone; mark_ringing / mark_answered; heartbeat every lease_s / 3 ...
    record_result(session, claims[i].attempt_id, CallRecord(...))

Every change is an UPDATE guarded by the expected current state, so two workers (or a restarted one) can
never both act on the same contact or attempt. The attempt row exists before the INVITE; a worker that
dies leaves it in progress until its lease expires, then :func:`recover_stale` marks it ``lost`` and
schedules a *new* attempt per the retry policy (the lost one is never re-dialled).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Select, Table, and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from waihu.call_record import CallRecord
from waihu.privacy import mask_phone
from waihu.service import ab, post_call
from waihu.service.caller_id import pick_caller
from waihu.service.db import begin_write
from waihu.service.finishing import finish_pending
from waihu.service.frequency import apply_frequency_cap
from waihu.service.holidays import schedule_for
from waihu.service.inbox import collect as collect_unclassified
from waihu.service.lifecycle import StateConflict, change_campaign_state, finish_campaign_if_done
from waihu.service.models import DEFAULT_TENANT, Attempt, Campaign, Contact, Dnc, utcnow
from waihu.service.outcomes import DNC_BLOCKED, IN_PROGRESS, LOST_AFTER_ANSWER, RUNNABLE_STATES
from waihu.service.policy import decide_retry
from waihu.service.routing import matching_rule, retry_by_rule, route_contact
from waihu.service.trunk_limits import TrunkBudget, count_attempts, trunk_budget
from waihu.service.views import AttemptView, ContactView
from waihu.service.webhooks import enqueue_event

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 120


class AttemptNotInProgress(Exception):
    """The attempt is unknown or already finished (e.g. recovered as lost after its lease expired)."""


@dataclass(frozen=True)
class Claim:
    """A claimed contact: everything a worker needs to dial it and run the flow."""

    attempt_id: str
    attempt_number: int
    campaign_id: int
    contact_id: int
    reference_id: str
    phone: str
    name: str
    variables: dict[str, Any]
    caller_number: str | None
    flow_id: str
    flow_version: int
    flow_version_id: int
    lease_until: dt.datetime
    timezone: str = "UTC"
    extra: dict[str, Any] = field(default_factory=dict)
    #: The campaign's tenant: seats for a transfer must be this tenant's (:func:`seats.available_seat`).
    tenant: str = DEFAULT_TENANT
    #: On an answering machine: ``hangup`` or ``message`` (say ``voicemail_message``), see waihu.cpa.
    voicemail_action: str = "hangup"
    voicemail_message: str | None = None


def _ensure_writer(session: Session) -> None:
    if not session.in_transaction():
        begin_write(session)


@contextmanager
def _commit_or_rollback(session: Session) -> Iterator[Session]:
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _in_progress_count(session: Session, campaign_id: int) -> int:
    return count_attempts(session, Attempt.campaign_id == campaign_id, Attempt.status.in_(IN_PROGRESS))


def _lock_campaign(session: Session, campaign: Campaign) -> bool:
    """Take the campaign row's lock before counting its lines; False when it stopped being runnable.

    Claimers of one campaign serialise here (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already made this transaction the only writer), so the in-progress count read
    next includes every attempt another claimer committed: two workers can never both fill the same
    free lines. The row is reloaded (concurrency or state may have changed since it was listed).
    """
    query = select(Campaign).where(Campaign.id == campaign.id).execution_options(populate_existing=True)
    if _is_postgres(session):
        query = query.with_for_update()
    fresh = session.scalars(query).one_or_none()
    return fresh is not None and fresh.state in RUNNABLE_STATES


def _block_dnc_contacts(session: Session, campaign: Campaign, ids: list[int], now: dt.datetime) -> None:
    """Finish contacts whose number is on the DNC list instead of dialling them."""
    finish_pending(session, campaign, ids, DNC_BLOCKED, now, "on the block list: not dialled")


def blocking_entry(campaign: Campaign) -> Any:
    """A correlated subquery: the id of a block-list entry for the contact's number that applies to
    ``campaign`` (its tenant's list or the global list), or NULL."""
    return (
        select(Dnc.id)
        .where(Dnc.phone == Contact.phone, or_(Dnc.tenant == campaign.tenant, Dnc.tenant.is_(None)))
        .limit(1)
        .scalar_subquery()
    )


def due_contacts_query(campaign: Campaign, now: dt.datetime, today: dt.date, limit: int) -> Select[Any]:
    """Due pending contacts of ``campaign`` (id, DNC entry id or None), oldest due first.

    Served by the index ``(campaign_id, state, next_attempt_at)``: no scan of the campaign's contacts;
    the block-list look-up per contact uses the index on ``dnc.phone``.
    """
    return (
        select(Contact.id, blocking_entry(campaign))
        .where(
            Contact.campaign_id == campaign.id,
            Contact.state == "pending",
            Contact.next_attempt_at <= now,
            Contact.attempts_total < campaign.max_attempts,
            or_(
                Contact.attempts_day.is_(None),
                Contact.attempts_day != today,
                Contact.attempts_on_day < campaign.max_attempts_per_day,
            ),
        )
        .order_by(Contact.next_attempt_at, Contact.id)
        .limit(limit)
    )


def _claim_in_campaign(
    session: Session,
    campaign: Campaign,
    worker_id: str,
    now: dt.datetime,
    wanted: int,
    lease_s: int,
    trunk: TrunkBudget | None = None,
) -> list[Claim]:
    schedule = schedule_for(session, campaign, now)
    today = schedule.local_date(now)
    claims: list[Claim] = []
    for _round in range(5):  # DNC-blocked rows free their place; look again a few times
        need = wanted - len(claims)
        if need <= 0:
            break
        query = due_contacts_query(campaign, now, today, need)
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True, of=Contact)
        rows: list[Any] = list(session.execute(query).all())
        if not rows:
            break
        blocked = [contact_id for contact_id, dnc_id in rows if dnc_id is not None]
        dialable = [contact_id for contact_id, dnc_id in rows if dnc_id is None]
        if blocked:
            _block_dnc_contacts(session, campaign, blocked, now)
        dialable = apply_frequency_cap(session, campaign, dialable, schedule, now)  # defers capped phones
        if dialable:
            claims += _claim_rows(session, campaign, dialable, worker_id, now, today, lease_s, trunk)
        if len(rows) < need:
            break
    return claims


def _claim_rows(
    session: Session,
    campaign: Campaign,
    ids: list[int],
    worker_id: str,
    now: dt.datetime,
    today: dt.date,
    lease_s: int,
    trunk: TrunkBudget | None = None,
) -> list[Claim]:
    """Guarded UPDATE pending → dialling, then one attempt row per contact actually claimed.

    ``trunk``: the trunk the worker dials on; each attempt records it and the budget's DB-clock stamp.
    """
    claimed: list[Any] = session.execute(  # RETURNING rows: (id, attempts, reference, phone, name, vars)
        update(Contact)
        .where(Contact.id.in_(ids), Contact.state == "pending")
        .values(
            state="dialling",
            attempts_total=Contact.attempts_total + 1,
            attempts_on_day=case(
                (
                    and_(Contact.attempts_day.is_not(None), Contact.attempts_day == today),
                    Contact.attempts_on_day + 1,
                ),
                else_=1,
            ),
            attempts_day=today,
            updated_at=now,
        )
        .returning(
            Contact.id,
            Contact.attempts_total,
            Contact.reference_id,
            Contact.phone,
            Contact.name,
            Contact.variables,
            Contact.variant,
        )
        .execution_options(synchronize_session=False)
    ).all()  # type: ignore[assignment]  # Sequence[Row] of plain column values
    lease_until = now + dt.timedelta(seconds=lease_s)
    claims = []
    attempt_rows = []
    order = {contact_id: index for index, contact_id in enumerate(ids)}  # keep the pick order
    for contact_id, number, reference_id, phone, name, variables, current_variant in sorted(
        claimed, key=lambda r: order[r[0]]
    ):
        attempt_id = uuid.uuid4().hex
        variant = ab.assign(campaign, reference_id, current_variant)  # None: no A/B split
        caller, caller_region = pick_caller(campaign, phone, contact_id, number)  # local number first
        attempt_rows.append(
            {
                "id": attempt_id,
                "contact_id": contact_id,
                "campaign_id": campaign.id,
                "number": number,
                "phone": phone,
                "caller_number": caller,
                "caller_region": caller_region,
                "flow_id": variant.flow_id if variant else campaign.flow_id,
                "flow_version": variant.flow_version if variant else campaign.flow_version,
                "variant": variant.name if variant else None,
                "status": "dialling",
                "claimed_by": worker_id,
                "claimed_at": now,
                "lease_until": lease_until,
                "grade_label": "",
                "tags": [],
                "kb_hits": [],
                "rounds": 0,
                "transcript": [],
                "trunk": trunk.trunk if trunk else None,
                "trunk_claimed_at": trunk.stamp if trunk else None,
            }
        )
        claims.append(
            Claim(
                attempt_id=attempt_id,
                attempt_number=number,
                campaign_id=campaign.id,
                contact_id=contact_id,
                reference_id=reference_id,
                phone=phone,
                name=name,
                variables=dict(variables or {}),
                caller_number=caller,
                flow_id=variant.flow_id if variant else campaign.flow_id,
                flow_version=variant.flow_version if variant else campaign.flow_version,
                flow_version_id=variant.flow_version_id if variant else campaign.flow_version_id,
                lease_until=lease_until,
                timezone=campaign.timezone,
                extra={"variant": variant.name, "voice": variant.voice} if variant else {},
                tenant=campaign.tenant,
                voicemail_action=campaign.voicemail_action or "hangup",
                voicemail_message=campaign.voicemail_message,
            )
        )
    if attempt_rows:
        session.execute(cast(Table, Attempt.__table__).insert(), attempt_rows)
        session.execute(
            update(Contact)
            .execution_options(synchronize_session=False)
            .where(Contact.id.in_([row["contact_id"] for row in attempt_rows]))
            .values(
                last_attempt_id=case(
                    {row["contact_id"]: row["id"] for row in attempt_rows}, value=Contact.id, else_=None
                ),
                variant=case(  # the first claim fixes the A/B variant for every retry
                    {row["contact_id"]: row["variant"] for row in attempt_rows if row["variant"]},
                    value=Contact.id,
                    else_=Contact.variant,
                )
                if campaign.variants
                else Contact.variant,
            )
        )
    return claims


def claim_due_contacts(
    session: Session,
    worker_id: str,
    now: dt.datetime | None = None,
    limit: int = 1,
    *,
    lease_s: int = DEFAULT_LEASE_S,
    campaign_ids: list[int] | None = None,
    trunk: str | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due contacts for ``worker_id`` and write their attempt rows; commits.

    ``trunk``: the trunk the worker dials on; the claim first takes that trunk's row lock and starts no
    more calls than its ``max_lines`` and ``max_cps`` leave (:mod:`waihu.service.trunk_limits`).

    Campaigns are served by priority (highest first), each only inside its calling windows and date
    bounds, and never beyond its line concurrency (in-progress attempts count, read under the campaign
    row's lock so that concurrent claimers, on any number of hosts, serialise per campaign and each
    takes only the remaining lines). Contacts are due when
    pending with ``next_attempt_at <= now`` and under the total and per-day attempt limits; numbers on
    the DNC list are finished as ``dnc_blocked`` instead. On PostgreSQL rows are locked with
    ``FOR UPDATE SKIP LOCKED`` (concurrent claimers skip each other); on SQLite the transaction is
    ``BEGIN IMMEDIATE`` (one writer) and the UPDATE is guarded by ``state = 'pending'``.
    """
    now = now or utcnow()
    _ensure_writer(session)
    try:
        budget = trunk_budget(session, trunk, limit) if trunk is not None else None
        if budget is not None and budget.allowed < limit:
            log.debug(
                "trunk %s allows %d of %d starts now (%s)", trunk, budget.allowed, limit, budget.limited_by
            )
            limit = budget.allowed
        query = (
            select(Campaign)
            .where(Campaign.state.in_(RUNNABLE_STATES))
            .order_by(Campaign.priority.desc(), Campaign.id)
        )
        if campaign_ids is not None:
            query = query.where(Campaign.id.in_(campaign_ids))
        claims: list[Claim] = []
        for campaign in session.scalars(query).all():
            if len(claims) >= limit:
                break
            if not schedule_for(session, campaign, now).is_open(now):  # windows, dates, holidays
                continue
            if not _lock_campaign(session, campaign):
                continue
            free = campaign.concurrency - _in_progress_count(session, campaign.id)
            wanted = min(free, limit - len(claims))
            if wanted <= 0:
                continue
            got = _claim_in_campaign(session, campaign, worker_id, now, wanted, lease_s, budget)
            if got and campaign.state == "scheduling":
                with contextlib.suppress(StateConflict):  # another claimer moved it first: fine
                    change_campaign_state(session, campaign, "executing", now, "first attempt claimed")
            claims += got
        session.commit()
    except BaseException:
        session.rollback()
        raise
    for claim in claims:
        log.info(
            "claimed contact %s (%s) attempt %s #%d for %s",
            claim.contact_id,
            mask_phone(claim.phone),
            claim.attempt_id,
            claim.attempt_number,
            worker_id,
        )
    return claims


def _guarded_attempt_update(
    session: Session, attempt_id: str, statuses: tuple[str, ...], **values: Any
) -> None:
    done = session.execute(
        update(Attempt)
        .where(Attempt.id == attempt_id, Attempt.status.in_(statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise AttemptNotInProgress(f"attempt {attempt_id} is not in progress")


def mark_ringing(session: Session, attempt_id: str, at: dt.datetime | None = None) -> None:
    """Record the first 18x (ringing); commits. Raises :class:`AttemptNotInProgress`."""
    at = at or utcnow()
    _ensure_writer(session)
    with _commit_or_rollback(session):
        _guarded_attempt_update(session, attempt_id, ("dialling",), ring_at=at)


def mark_answered(
    session: Session, attempt_id: str, at: dt.datetime | None = None, *, lease_s: int = DEFAULT_LEASE_S
) -> None:
    """The callee answered: attempt and contact go to ``in_call``; commits."""
    at = at or utcnow()
    _ensure_writer(session)
    with _commit_or_rollback(session):
        _guarded_attempt_update(
            session,
            attempt_id,
            ("dialling",),
            status="in_call",
            answer_at=at,
            lease_until=at + dt.timedelta(seconds=lease_s),
        )
        session.execute(
            update(Contact)
            .where(Contact.last_attempt_id == attempt_id, Contact.state == "dialling")
            .values(state="in_call", updated_at=at)
            .execution_options(synchronize_session=False)
        )


def heartbeat(
    session: Session,
    worker_id: str,
    now: dt.datetime | None = None,
    *,
    lease_s: int = DEFAULT_LEASE_S,
    attempt_ids: Iterable[str] | None = None,
) -> int:
    """Extend the lease of in-progress attempts of ``worker_id``; returns how many; commits.

    ``attempt_ids``: only these (the calls the worker is still handling; an attempt whose result could
    not be saved must be left out so that :func:`recover_stale` takes it); None: all of the worker's.
    Call it every ``lease_s / 3`` seconds while calls are up; a worker that stops calling it loses its
    attempts to :func:`recover_stale` once the lease expires.
    """
    now = now or utcnow()
    conditions = [Attempt.claimed_by == worker_id, Attempt.status.in_(IN_PROGRESS)]
    if attempt_ids is not None:
        ids = list(attempt_ids)
        if not ids:
            return 0
        conditions.append(Attempt.id.in_(ids))
    _ensure_writer(session)
    with _commit_or_rollback(session):
        result = session.execute(
            update(Attempt)
            .where(*conditions)
            .values(lease_until=now + dt.timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Recorded:
    """What :func:`record_result` decided for the contact."""

    attempt_id: str
    contact_id: int
    final: bool
    next_attempt_at: dt.datetime | None
    reason: str


def _add_dnc(session: Session, tenant: str, phone: str, reason: str, source: str, now: dt.datetime) -> None:
    """Put ``phone`` on ``tenant``'s block list (the tenant whose campaign called); no-op if there."""
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    session.execute(
        insert(Dnc)
        .values(tenant=tenant, phone=phone, reason=reason, source=source, created_at=now)
        .on_conflict_do_nothing(index_elements=["tenant", "phone"])
    )


def _finish_attempt(
    session: Session,
    attempt_id: str,
    result: CallRecord,
    now: dt.datetime,
    *,
    retry_key: str | None = None,
) -> Recorded:
    """The shared body of :func:`record_result` and :func:`recover_stale` (caller commits).

    ``retry_key``: the retry-policy rule to apply (default: the result's outcome).
    """
    retry_key = retry_key or result.outcome
    query = select(Attempt).where(Attempt.id == attempt_id)
    if _is_postgres(session):
        query = query.with_for_update()
    attempt = session.scalars(query).one_or_none()
    if attempt is None or attempt.status not in IN_PROGRESS:
        raise AttemptNotInProgress(f"attempt {attempt_id} is not in progress")
    columns = result.columns(now)
    _guarded_attempt_update(session, attempt_id, IN_PROGRESS, status="finished", **columns)
    session.refresh(attempt)
    contact = session.get(Contact, attempt.contact_id, with_for_update=_is_postgres(session))
    campaign = session.get(Campaign, attempt.campaign_id)
    assert contact is not None and campaign is not None  # foreign keys
    collect_unclassified(session, campaign.tenant, attempt, result.conversation)  # the operator's NLU inbox
    if result.dnc:
        _add_dnc(
            session, campaign.tenant, attempt.phone, "asked not to be called (during a call)", "call", now
        )
    schedule = schedule_for(session, campaign, now)
    rule = (
        matching_rule(campaign.routing_rules, attempt)
        if result.outcome == "answered"
        and not result.dnc
        and campaign.routing_rules
        and campaign.state not in ("cancelled", "failed")
        else None
    )
    if rule is not None and rule["action"] == "retry":
        retry_key = f"rule:{rule['name']}"
    retries_used = int((contact.retry_counts or {}).get(retry_key, 0))
    if result.dnc or campaign.state in ("cancelled", "failed", "succeeded"):
        final, next_at, reason = True, None, "dnc" if result.dnc else f"campaign {campaign.state}"
    elif rule is not None and rule["action"] == "retry":
        decision = retry_by_rule(rule, attempt, contact, campaign, schedule, now)
        final, next_at, reason = decision.final, decision.next_attempt_at, decision.reason
    else:
        today = schedule.local_date(now)
        decision = decide_retry(
            outcome=retry_key,
            retry_policy=campaign.retry_policy or {},
            retries_used=retries_used,
            attempts_total=contact.attempts_total,
            max_attempts=campaign.max_attempts,
            attempts_today=contact.attempts_on_day if contact.attempts_day == today else 0,
            max_attempts_per_day=campaign.max_attempts_per_day,
            schedule=schedule,
            now=now,
        )
        final, next_at, reason = decision.final, decision.next_attempt_at, decision.reason
    values: dict[str, Any] = {"last_outcome": result.outcome, "updated_at": now}
    if result.outcome == "answered" and attempt.grade is not None:
        values |= {"final_grade": attempt.grade, "grade_label": attempt.grade_label, "tags": attempt.tags}
    if final:
        values |= {
            "state": "done",
            "final_outcome": result.outcome,
            "next_attempt_at": None,
            "finished_at": now,
        }
    else:
        counts = dict(contact.retry_counts or {})
        counts[retry_key] = retries_used + 1
        values |= {"state": "pending", "next_attempt_at": next_at, "retry_counts": counts}
    moved = session.execute(
        update(Contact)
        .where(
            Contact.id == contact.id,
            Contact.state.in_(IN_PROGRESS),
            Contact.last_attempt_id == attempt_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise AttemptNotInProgress(f"contact {contact.id} is not in progress with attempt {attempt_id}")
    session.refresh(contact)
    if final and rule is not None and rule["action"] == "route" and not result.dnc:
        routed = route_contact(session, rule, campaign, contact, now)
        if routed is not None:
            contact.routed_to_contact_id = routed.contact_id
            session.flush()
            reason = f"routed by rule {rule['name']} to campaign {routed.campaign_id}"
    enqueue_event(session, campaign, "call.finished", AttemptView.from_row(attempt, contact), now)
    post_call.enqueue_actions(session, campaign, attempt, contact, now)  # 挂机短信 etc., same transaction
    if final:
        enqueue_event(session, campaign, "contact.finished", ContactView.from_row(contact), now)
        finish_campaign_if_done(session, campaign, now)
    log.info(
        "attempt %s (%s) %s -> contact %s %s",
        attempt_id,
        mask_phone(attempt.phone),
        result.outcome,
        contact.id,
        "done" if final else f"retry at {next_at:%Y-%m-%d %H:%M}Z" if next_at else "pending",
    )
    return Recorded(attempt_id, contact.id, final, next_at, reason)


def record_result(
    session: Session, attempt_id: str, result: CallRecord, now: dt.datetime | None = None
) -> Recorded:
    """Write the attempt's result, schedule or finish its contact and queue the webhook events; commits.

    One transaction: the attempt (outcome, SIP code, times, grade, tags, KB hits, rounds, trace), the
    contact (pending with the next due time per the retry policy, or done), the DNC entry when the callee
    asked for it, ``call.finished`` and — when no retry remains — ``contact.finished``. Raises
    :class:`AttemptNotInProgress` when the attempt was already finished or recovered.
    """
    now = now or utcnow()
    _ensure_writer(session)
    with _commit_or_rollback(session):
        return _finish_attempt(session, attempt_id, result, now)


def recover_stale(session: Session, now: dt.datetime | None = None, *, limit: int = 500) -> list[Recorded]:
    """Finish attempts whose worker stopped heart-beating (lease expired) as ``lost``; commits.

    Each one's contact is scheduled per the ``lost`` retry rule (a new attempt with the next number) or
    finished. The lost attempt itself is never dialled again. An attempt whose callee had answered
    (``in_call`` or ``answer_at`` set) follows the ``lost_after_answer`` rule instead, and a policy
    without one (the default) finishes the contact: a customer who was talking is not called again.
    """
    now = now or utcnow()
    _ensure_writer(session)
    with _commit_or_rollback(session):
        query = (
            select(Attempt.id, Attempt.status, Attempt.ring_at, Attempt.answer_at)
            .where(Attempt.status.in_(IN_PROGRESS), Attempt.lease_until < now)
            .order_by(Attempt.lease_until)
            .limit(limit)
        )
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        recorded = []
        for attempt_id, status, ring_at, answer_at in session.execute(query).all():
            answered = status == "in_call" or answer_at is not None
            reason = "worker lease expired while " + ("in call" if answered else "dialling")
            lost = CallRecord(
                outcome="lost",
                hangup_by="system",
                sip_reason=reason,
                ring_at=ring_at,  # what the worker recorded before it died stays on the attempt
                answer_at=answer_at,
                end_at=now,
            )
            key = LOST_AFTER_ANSWER if answered else None
            recorded.append(_finish_attempt(session, attempt_id, lost, now, retry_key=key))
            log.warning("attempt %s lost: %s", attempt_id, reason)
    return recorded
