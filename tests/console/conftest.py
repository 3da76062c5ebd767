"""A real console in a real browser: uvicorn on loopback, a temp SQLite DB, headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.console.seed import Seeded, seed
from waihu.console.config import ConsoleConfig
from waihu.console.state import ConsoleState
from waihu.server import create_app
from waihu.service.settings import Settings

CHROMIUM = Path(os.environ.get("WAIHU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Console:
    """The running console and what was seeded into it."""

    base_url: str
    seeded: Seeded
    factory: Any

    def url(self, path: str) -> str:
        """Absolute URL of ``path``."""
        return self.base_url + path


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The service app with the console, seeded, served by uvicorn in a thread."""
    tmp = tmp_path_factory.mktemp("console")
    recordings = tmp / "recordings"
    recordings.mkdir()
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'console.db'}", background=False))
    app.state.console = ConsoleState.from_config(
        ConsoleConfig(classifier_kind="rules", recordings_dir=recordings.resolve())
    )
    seeded = seed(app.state.service.factory, recordings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Console(f"http://127.0.0.1:{port}", seeded, app.state.service.factory)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no downloaded browser).

    Package scope: Playwright's sync API keeps an event loop running in this thread until it stops,
    and later test packages (telephony) call asyncio.run() in the same process.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install chromium")
    # The first synthesis with the neural voice (model and G2P loading, a cold prompt cache) takes
    # seconds on a busy 2-core machine: assertions wait up to 30 s instead of Playwright's 5 s.
    sync_api.expect.set_options(timeout=30_000)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(
    browser: Any,
    console: Console,
    key: str | None,
    role: str,
    lang: str = "en",
    timezone_id: str | None = None,
) -> Iterator[Any]:
    """A browser page on ``console``, logged in with ``key``; ``timezone_id``: the browser's own zone
    (default: the machine's)."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id=timezone_id
    )
    context.set_default_timeout(30_000)
    # The console defaults to Chinese; these fixtures choose English as an operator would (the switch
    # in the header stores this cookie), so the tests read English; zh tests pass lang="zh-CN".
    context.add_cookies([{"name": "waihu_lang", "value": lang, "domain": "127.0.0.1", "path": "/console"}])
    if key:  # logged in already: what the login page stores
        who = json.dumps({"id": "x", "name": f"test {role}", "role": role})
        context.add_init_script(
            f"sessionStorage.setItem('waihu.key', {json.dumps(key)});"
            f"sessionStorage.setItem('waihu.who', {json.dumps(who)});"
        )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def anonymous_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page with nobody logged in."""
    yield from _page(browser, console, None, "")


@pytest.fixture
def admin_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page logged in with the admin key."""
    yield from _page(browser, console, console.seeded.admin_key, "admin")


@pytest.fixture
def chinese_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page logged in with the admin key, in the console's default language (Chinese)."""
    yield from _page(browser, console, console.seeded.admin_key, "admin", lang="zh-CN")


@pytest.fixture
def operator_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page logged in with the operator key."""
    yield from _page(browser, console, console.seeded.operator_key, "operator")


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/screenshots when WAIHU_CONSOLE_SCREENSHOTS=1, else a temp dir."""
    if os.environ.get("WAIHU_CONSOLE_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path_factory.mktemp("screenshots")


def shoot(page: Any, shots: Path, name: str) -> None:
    """Save a full-page screenshot ``<name>.png``."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
