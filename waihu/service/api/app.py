"""The FastAPI application factory."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from waihu.service.api import ab as ab_split
from waihu.service.api import audit, campaigns, contacts, dnc, exports, flows, keys, metrics, results, seats
from waihu.service.api import campaign_edit as campaign_patch
from waihu.service.api import contact_cancel as contact_cancelling
from waihu.service.api import erasure as contact_erasure
from waihu.service.api import holidays as holiday_calendars
from waihu.service.api import post_call as post_call_actions
from waihu.service.api import trunks as trunk_limits
from waihu.service.api.deps import ServiceState
from waihu.service.api.limits import BodySizeLimit
from waihu.service.background import Chores
from waihu.service.db import make_engine, make_session_factory, upgrade
from waihu.service.problems import PROBLEMS, Problem
from waihu.service.prompt_warmup import start_warmer
from waihu.service.retention import RetentionDefaults
from waihu.service.settings import Settings
from waihu.service.views import PublicModel
from waihu.service.webhook_destinations import policy_from_settings
from waihu_env import environment

log = logging.getLogger(__name__)

DESCRIPTION = """\
Campaigns, contacts and call results for strategy systems; flows for operators; keys and seats for admins.

Authenticate with `Authorization: Bearer <key>`. Every key belongs to a **tenant** and sees only that
tenant's campaigns, contacts, results, flows, seats and block list; another tenant's resource answers 404.
Roles: **strategy** (campaigns, contacts, results, DNC), **operator** (flows, seats' availability, DNC;
phone numbers masked), **admin** (everything in the tenant: keys, seats, removing DNC entries, the audit
log). A **platform admin** (an admin key with `platform_admin`) also keeps the global block list and the
keys of every tenant. Errors are 4xx with a `detail` naming the field, plus a stable `code` and its
`params` (the sentence's values) for clients that word errors themselves. Lists use cursor pagination: pass
`next_cursor` back as `cursor`.
"""


class Health(PublicModel):
    """The service answers and its database too."""

    ok: bool


def create_api(settings: Settings | None = None) -> FastAPI:
    """Build the API app: open (and migrate) the database, mount one router per resource under ``/v1``.

    No console: :func:`waihu.server.create_app` adds it (the console builds on the API, not the reverse).
    """
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    if settings.migrate:
        upgrade(engine)
    webhook_policy = policy_from_settings(settings)  # a bad allow-list entry stops the start here
    state = ServiceState(settings, engine, make_session_factory(engine))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        chores = (
            Chores(
                state.factory,
                settings.background_interval_s,
                webhook_policy=webhook_policy,
                retention=RetentionDefaults(settings.retention_days, settings.mask_after_days),
                recordings_dir=environment().recordings_dir,
            )
            if settings.background
            else None
        )
        if chores:
            chores.start()
        # Prompts of uploaded flow versions are synthesised by the service's background work too.
        warmer = start_warmer(state.factory) if settings.background else None
        _app.state.prompt_warmer = warmer
        try:
            yield
        finally:
            if chores:
                chores.stop()
            if warmer:
                warmer.stop()
            engine.dispose()

    app = FastAPI(title="waihu", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = state
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (campaigns, contacts, results, dnc, seats, flows, keys, audit, metrics):
        app.include_router(module.router)
    app.include_router(exports.router)
    app.include_router(ab_split.router)
    app.include_router(post_call_actions.router)
    app.include_router(contact_erasure.router)
    app.include_router(holiday_calendars.router)
    app.include_router(campaign_patch.router)
    app.include_router(contact_cancelling.router)
    app.include_router(trunk_limits.router)

    @app.get("/healthz", tags=["health"], summary="Liveness and database check", response_model=Health)
    def healthz() -> Health:
        with state.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return Health(ok=True)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, RecursionError):  # FastAPI's JSON body parser hit the stack limit
            exc = Problem(
                status.HTTP_400_BAD_REQUEST, "json_too_deep_for_parser", loc=["body"], item_type="value_error"
            )
        if isinstance(exc, Problem):  # a sentence of the registry: its code and params go along
            return JSONResponse(exc.body(), exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        answer = await request_validation_exception_handler(request, exc)
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") in PROBLEMS:  # a validator's sentence of the registry: its code goes along
            body = {"detail": json.loads(bytes(answer.body))["detail"], "code": first["type"]}
            body["params"] = jsonable_encoder(first.get("ctx") or {})
            return JSONResponse(body, answer.status_code)
        return answer

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("conflict: %s", exc.orig)
        answer = Problem(status.HTTP_409_CONFLICT, "conflicts_with_existing_data")
        return JSONResponse(answer.body(), answer.status_code)

    return app
