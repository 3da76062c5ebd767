"""/metrics: Prometheus text exposition of calls, live calls, turn latency and webhook backlog.

A key of any role is needed (Prometheus: ``authorization: {credentials: <key>}``), unless the server
runs with ``WAIHU_METRICS_PUBLIC=1`` (e.g. behind a firewall that only lets the scraper in). With a key
the numbers are those of the key's tenant (a platform admin's key: every tenant's); public metrics
cover every tenant.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import func, select

from waihu.service.api.deps import SessionDep, bearer, require, service_state
from waihu.service.api.responses import errors
from waihu.service.api.scope import campaign_ids
from waihu.service.models import ApiKey, Attempt, WebhookEvent
from waihu.service.outcomes import IN_PROGRESS
from waihu.service.tenancy import is_platform_admin

router = APIRouter(tags=["health"])

#: Seconds; the target is 0.8 s from end of speech to the first robot audio.
LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0)
#: The histogram covers the most recent answered attempts (bounded work per scrape).
LATENCY_WINDOW = 2000


def _latency_histogram(transcripts: list[list[Any]]) -> list[str]:
    values = [
        turn["latency_ms"] / 1000
        for transcript in transcripts
        for turn in transcript or []
        if isinstance(turn, dict) and turn.get("latency_ms") is not None
    ]
    lines = [
        "# HELP waihu_turn_latency_seconds End of callee speech to first robot audio (recent calls).",
        "# TYPE waihu_turn_latency_seconds histogram",
    ]
    for bound in LATENCY_BUCKETS:
        lines.append(f'waihu_turn_latency_seconds_bucket{{le="{bound}"}} {sum(v <= bound for v in values)}')
    lines.append(f'waihu_turn_latency_seconds_bucket{{le="+Inf"}} {len(values)}')
    lines.append(f"waihu_turn_latency_seconds_sum {sum(values):.3f}")
    lines.append(f"waihu_turn_latency_seconds_count {len(values)}")
    return lines


_any_key = require("strategy", "operator")


def metrics_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey | None:
    """Admit any valid key, or everybody when the server's ``metrics_public`` setting is on.

    Returns the key whose tenant the numbers are limited to; None for every tenant's numbers.
    """
    if service_state(request).settings.metrics_public:
        return None
    key = _any_key(request, credentials)
    return None if is_platform_admin(key) else key


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses=errors(401, inline=True),
)
def metrics(session: SessionDep, key: Annotated[ApiKey | None, Depends(metrics_access)]) -> str:
    """Calls by outcome, live calls, turn latency histogram, webhook backlog (of the key's tenant)."""
    mine_attempts = [Attempt.campaign_id.in_(campaign_ids(key.tenant))] if key is not None else []
    mine_events = [WebhookEvent.campaign_id.in_(campaign_ids(key.tenant))] if key is not None else []
    lines = [
        "# HELP waihu_calls_total Finished call attempts by outcome.",
        "# TYPE waihu_calls_total counter",
    ]
    rows = session.execute(
        select(Attempt.outcome, func.count())
        .where(Attempt.status == "finished", *mine_attempts)
        .group_by(Attempt.outcome)
    ).all()
    lines += [
        f'waihu_calls_total{{outcome="{outcome}"}} {count}' for outcome, count in sorted(rows) if outcome
    ]
    live = session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.status.in_(IN_PROGRESS), *mine_attempts)
    )
    lines += ["# HELP waihu_live_calls Attempts dialling or in a call.", "# TYPE waihu_live_calls gauge"]
    lines.append(f"waihu_live_calls {live or 0}")
    transcripts: Any = session.scalars(
        select(Attempt.transcript)
        .where(Attempt.status == "finished", Attempt.outcome == "answered", *mine_attempts)
        .order_by(Attempt.end_at.desc())
        .limit(LATENCY_WINDOW)
    ).all()
    lines += _latency_histogram(list(transcripts))
    backlog = session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(WebhookEvent.next_try_at.is_not(None), *mine_events)
    )
    lines += [
        "# HELP waihu_webhook_backlog Webhook events not yet delivered.",
        "# TYPE waihu_webhook_backlog gauge",
    ]
    lines.append(f"waihu_webhook_backlog {backlog or 0}")
    return "\n".join(lines) + "\n"
