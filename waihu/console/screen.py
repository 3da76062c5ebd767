"""The big screen's snapshot (大屏): live numbers across all running campaigns of one tenant.

One function, :func:`screen_snapshot`, computes everything the full-screen page shows; the SSE stream
(:mod:`waihu.console.api_screen`) calls it every ~2 s. Counters (answer rate, grades, transfers) are
SQL aggregates over the running campaigns' finished attempts; intents, FAQ hits and reply latency need
the transcripts, so they are read from the most recent :data:`RECENT_CALLS` finished attempts only,
which keeps every snapshot's cost bounded however long a campaign runs.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from waihu.service.models import Attempt, Campaign, utcnow
from waihu.service.outcomes import IN_PROGRESS, RUNNABLE_STATES
from waihu.service.views import iso

#: Minutes of the calls-per-minute chart.
CPM_MINUTES = 15
#: How many of the latest finished calls the transcript-based figures (intents, FAQ, latency) read.
RECENT_CALLS = 500
#: How many intents / FAQ entries the top lists show.
TOP_N = 8
#: Keys a transcript turn carries a measured robot reply latency under (ms), as the voice worker writes.
_LATENCY_KEYS = ("latency_ms", "response_ms", "turn_latency_ms")
_FAQ_PREFIX = "faq:"


class ScreenCampaign(BaseModel):
    """One running campaign as the screen lists it."""

    id: int
    name: str
    state: str
    in_progress: int = Field(description="Attempts dialling or in a call now")


class MinuteCount(BaseModel):
    """Calls that ended in one minute (UTC start of the minute)."""

    minute: str
    count: int


class NamedCount(BaseModel):
    """An intent, FAQ entry or grade and how often it occurred."""

    name: str
    count: int


class ReplyLatency(BaseModel):
    """The robot's reply latency measured by voice workers (end of callee speech to first robot audio)."""

    available: bool = Field(description="False when no recent result carries a measured latency")
    samples: int = 0
    mean_ms: float | None = None
    p90_ms: float | None = None


class ScreenSnapshot(BaseModel):
    """Everything the big screen shows, for one tenant at one moment."""

    generated_at: str
    campaigns: list[ScreenCampaign]
    in_progress: int = Field(description="Calls dialling or connected now, all running campaigns")
    calls_per_minute: list[MinuteCount] = Field(description=f"Finished calls per minute, last {CPM_MINUTES}")
    finished: int = Field(description="Finished attempts of the running campaigns")
    answered: int
    answer_rate: float | None = Field(description="answered / finished, 0–1; None before any call")
    transfers: int = Field(description="Calls handed to a human seat")
    grades: list[NamedCount]
    top_intents: list[NamedCount] = Field(description=f"Of the latest {RECENT_CALLS} calls; FAQ excluded")
    faq_hits: list[NamedCount] = Field(
        description=f"FAQ intents and knowledge-base hits, latest {RECENT_CALLS}"
    )
    recent_calls: int = Field(description="How many recent calls the intent/FAQ/latency figures read")
    latency: ReplyLatency


def _campaigns(session: Session, tenant: str) -> list[ScreenCampaign]:
    in_progress = func.sum(case((Attempt.status.in_(IN_PROGRESS), 1), else_=0))
    rows: Any = session.execute(  # SQL sums type as object: read as ints below
        select(Campaign.id, Campaign.name, Campaign.state, in_progress)
        .outerjoin(Attempt, Attempt.campaign_id == Campaign.id)
        .where(Campaign.tenant == tenant, Campaign.state.in_(RUNNABLE_STATES))
        .group_by(Campaign.id, Campaign.name, Campaign.state)
        .order_by(Campaign.id)
    ).all()
    return [ScreenCampaign(id=i, name=n, state=s, in_progress=int(p or 0)) for i, n, s, p in rows]


def _per_minute(session: Session, ids: list[int], now: dt.datetime) -> list[MinuteCount]:
    start = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=CPM_MINUTES - 1)
    ends = session.scalars(
        select(Attempt.end_at).where(
            Attempt.campaign_id.in_(ids), Attempt.status == "finished", Attempt.end_at >= start
        )
    ).all()
    # Bucketed here rather than in SQL: date truncation differs between SQLite and PostgreSQL.
    buckets = Counter(int((end - start).total_seconds() // 60) for end in ends if end is not None)
    return [
        MinuteCount(minute=iso(start + dt.timedelta(minutes=m)) or "", count=buckets.get(m, 0))
        for m in range(CPM_MINUTES)
    ]


def _transcript_figures(
    session: Session, ids: list[int]
) -> tuple[Counter[str], Counter[str], list[float], int]:
    rows: Any = session.execute(  # JSON columns: lists, checked turn by turn
        select(Attempt.transcript, Attempt.kb_hits)
        .where(Attempt.campaign_id.in_(ids), Attempt.status == "finished")
        .order_by(Attempt.end_at.desc(), Attempt.id.desc())
        .limit(RECENT_CALLS)
    ).all()
    intents: Counter[str] = Counter()
    faq: Counter[str] = Counter()
    latencies: list[float] = []
    for transcript, kb_hits in rows:
        for turn in transcript or []:
            if not isinstance(turn, dict):
                continue
            intent = turn.get("intent")
            if isinstance(intent, str) and intent:
                (faq if intent.startswith(_FAQ_PREFIX) else intents)[intent] += 1
            latency = next((turn[k] for k in _LATENCY_KEYS if isinstance(turn.get(k), int | float)), None)
            if latency is not None:
                latencies.append(float(latency))
        for hit in kb_hits or []:
            faq[f"kb:{hit}"] += 1
    return intents, faq, latencies, len(rows)


def _latency(samples: list[float]) -> ReplyLatency:
    if not samples:
        return ReplyLatency(available=False)
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return ReplyLatency(
        available=True, samples=len(ordered), mean_ms=round(sum(ordered) / len(ordered), 1), p90_ms=p90
    )


def _top(counter: Counter[str]) -> list[NamedCount]:
    return [NamedCount(name=name, count=n) for name, n in counter.most_common(TOP_N)]


def screen_snapshot(session: Session, tenant: str, now: dt.datetime | None = None) -> ScreenSnapshot:
    """The big screen's numbers for ``tenant``'s running campaigns (scheduling or executing) at ``now``."""
    now = now or utcnow()
    campaigns = _campaigns(session, tenant)
    ids = [c.id for c in campaigns]
    finished_q = (Attempt.campaign_id.in_(ids), Attempt.status == "finished")
    totals: Any = session.execute(
        select(
            func.count(),
            func.sum(case((Attempt.outcome == "answered", 1), else_=0)),
            func.sum(case((Attempt.transfer_answered.is_(True), 1), else_=0)),
        ).where(*finished_q)
    ).one()
    finished, answered, transfers = totals
    grades = session.execute(
        select(Attempt.grade, func.count())
        .where(*finished_q, Attempt.grade.is_not(None))
        .group_by(Attempt.grade)
        .order_by(Attempt.grade)
    ).all()
    intents, faq, latencies, recent = _transcript_figures(session, ids)
    finished, answered = int(finished or 0), int(answered or 0)
    return ScreenSnapshot(
        generated_at=iso(now) or "",
        campaigns=campaigns,
        in_progress=sum(c.in_progress for c in campaigns),
        calls_per_minute=_per_minute(session, ids, now),
        finished=finished,
        answered=answered,
        answer_rate=round(answered / finished, 4) if finished else None,
        transfers=int(transfers or 0),
        grades=[NamedCount(name=str(g), count=n) for g, n in grades],
        top_intents=_top(intents),
        faq_hits=_top(faq),
        recent_calls=recent,
        latency=_latency(latencies),
    )


def snapshot_event(snapshot: ScreenSnapshot) -> str:
    """One server-sent event frame carrying ``snapshot`` as JSON."""
    return f"event: snapshot\ndata: {snapshot.model_dump_json()}\n\n"
