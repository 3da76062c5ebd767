"""/metrics: Prometheus exposition (``prometheus_client``) of what the database knows.

Attempts by campaign and outcome, live calls by campaign and by worker, the webhook backlog: a few
``GROUP BY`` queries per scrape, no transcripts read. What happens inside calls (reply latency per
turn, calls in progress as the worker sees them) is counted by each worker as it happens and served
by ``waihu worker --metrics-port`` (:mod:`waihu.calls.metrics`).

A key of any role is needed (Prometheus: ``authorization: {credentials: <key>}``), unless the server
runs with ``WAIHU_METRICS_PUBLIC=1`` (e.g. behind a firewall that only lets the scraper in). With a key
the numbers are those of the key's tenant (a platform admin's key: every tenant's); public metrics
cover every tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from waihu.service.api.deps import SessionDep, bearer, require, service_state
from waihu.service.api.responses import errors
from waihu.service.api.scope import campaign_ids
from waihu.service.models import ApiKey, Attempt, WebhookEvent
from waihu.service.outcomes import IN_PROGRESS
from waihu.service.tenancy import is_platform_admin

router = APIRouter(tags=["health"])


class DatabaseCollector(Collector):
    """One scrape's metrics, from aggregate queries limited to a tenant (None: every tenant)."""

    def __init__(self, session: Session, tenant: str | None) -> None:
        self.session = session
        self.tenant = tenant

    def collect(self) -> Iterator[Any]:
        """Yield the metric families (called by ``generate_latest``)."""
        attempts = [Attempt.campaign_id.in_(campaign_ids(self.tenant))] if self.tenant is not None else []
        events = [WebhookEvent.campaign_id.in_(campaign_ids(self.tenant))] if self.tenant is not None else []
        calls = CounterMetricFamily(
            "waihu_calls", "Finished call attempts by campaign and outcome.", labels=["campaign", "outcome"]
        )
        for campaign, outcome, count in self.session.execute(
            select(Attempt.campaign_id, Attempt.outcome, func.count())
            .where(Attempt.status == "finished", Attempt.outcome.is_not(None), *attempts)
            .group_by(Attempt.campaign_id, Attempt.outcome)
            .order_by(Attempt.campaign_id, Attempt.outcome)
        ):
            calls.add_metric([str(campaign), str(outcome)], count)
        yield calls
        live = GaugeMetricFamily("waihu_live_calls", "Attempts dialling or in a call.")
        live.add_metric([], self._count(select(func.count()).select_from(Attempt), *attempts, live=True))
        yield live
        by_worker = GaugeMetricFamily(
            "waihu_live_calls_by_worker", "Attempts dialling or in a call, by worker.", labels=["worker"]
        )
        for worker, count in self.session.execute(
            select(Attempt.claimed_by, func.count())
            .where(Attempt.status.in_(IN_PROGRESS), *attempts)
            .group_by(Attempt.claimed_by)
            .order_by(Attempt.claimed_by)
        ):
            by_worker.add_metric([worker], count)
        yield by_worker
        backlog = GaugeMetricFamily("waihu_webhook_backlog", "Webhook events not yet delivered.")
        backlog.add_metric(
            [],
            self._count(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.next_try_at.is_not(None)),
                *events,
            ),
        )
        yield backlog

    def _count(self, query: Any, *where: Any, live: bool = False) -> int:
        if live:
            query = query.where(Attempt.status.in_(IN_PROGRESS))
        return int(self.session.scalar(query.where(*where)) or 0)


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
    response_class=Response,
    summary="Prometheus metrics",
    responses=errors(401, inline=True),
)
def metrics(session: SessionDep, key: Annotated[ApiKey | None, Depends(metrics_access)]) -> Response:
    """Calls by campaign and outcome, live calls (total, by worker), webhook backlog (key's tenant)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(session, key.tenant if key is not None else None))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
