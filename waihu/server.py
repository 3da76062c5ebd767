"""The service's one HTTP application: the API with the operator console mounted on it.

The API (:mod:`waihu.service.api`) knows nothing of the console; the console builds on the API's
dependencies (keys, sessions, errors). Composing them here keeps that edge one-way.
"""

from __future__ import annotations

from fastapi import FastAPI

from waihu import console
from waihu.service.api import create_api
from waihu.service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API (database opened and migrated, one router per resource under ``/v1``) plus the console
    at ``/console``."""
    app = create_api(settings)
    console.install(app)
    return app
