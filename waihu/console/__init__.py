"""The operator web console: server-rendered pages plus small JS modules calling the /v1 API.

Mounted on the service app by :func:`install`; open ``/console`` and log in with an API key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from waihu.console import api_flows, api_inbox, api_ops, api_screen, pages
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, config: ConsoleConfig | None = None) -> None:
    """Add the console's pages, its JSON endpoints (``/console/api``) and static files to ``app``."""
    app.state.console = ConsoleState.from_config(config or ConsoleConfig.from_env())
    # api_inbox serves /v1/flows/{id}/inbox: it runs the console's flow tests and classifier cache.
    for module in (pages, api_flows, api_ops, api_screen, api_inbox):
        app.include_router(module.router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
