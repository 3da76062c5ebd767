"""The console formats no time in the browser's zone: every date/time call names a ``timeZone``.

Operators are in China but their browser may run anywhere (a bank's remote desktop in UTC); a bare
``toLocaleString()`` or ``getHours()`` would silently show that zone. ``static/js/time.js`` is the
one formatter (campaign zone or the display zone ``WAIHU_TIME_ZONE``); this test keeps the others out.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.service.helpers import run_server
from tests.test_cli import waihu
from waihu.console import i18n
from waihu.console.config import ConsoleConfig
from waihu.service.settings import Settings
from waihu_env import reload_environment

CONSOLE = Path(i18n.__file__).parent
#: Date methods that format in a locale: allowed only with a timeZone option among their arguments.
FORMATTERS = re.compile(r"\.toLocale(?:Date|Time)?String\(|\bIntl\.DateTimeFormat\(")
#: Date getters that read the browser's zone; never allowed (time.js uses formatToParts instead).
LOCAL_GETTERS = re.compile(
    r"\.get(?:Hours|Minutes|Seconds|Date|Day|Month|FullYear|Year|TimezoneOffset)\(|\.toTimeString\("
    r"|\.toDateString\(|new Date\(\)\.toString\("
)


def _arguments(text: str, start: int) -> str:
    """The text between the parenthesis that ends at ``start`` and its matching close."""
    depth, end = 1, start
    while depth and end < len(text):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        end += 1
    return text[start : end - 1]


def browser_zone_uses(text: str) -> list[str]:
    """The calls in ``text`` (JS) that would format or read a time in the browser's zone."""
    found = [match.group(0) for match in LOCAL_GETTERS.finditer(text)]
    for match in FORMATTERS.finditer(text):
        if "timeZone" not in _arguments(text, match.end()):
            found.append(text[match.start() : match.end()] + _arguments(text, match.end()) + ")")
    return found


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        ("new Date().toLocaleTimeString()", True),
        ('d.toLocaleString(lang, { dateStyle: "short" })', True),
        ("x.toLocaleDateString(lang)", True),
        ('new Intl.DateTimeFormat(lang, { hour: "2-digit" }).format(d)', True),
        ("const hour = new Date().getHours();", True),
        ("new Date(iso).getTimezoneOffset()", True),
        ('d.toLocaleString(lang, { dateStyle: "short", timeZone: known(zone) })', False),
        ("d.toLocaleTimeString(lang, options(f(x), { timeZone }))", False),
        ("Date.UTC(2026, 0, 1) + Date.now()", False),
    ],
)
def test_the_checker_finds_browser_zone_formatting(code: str, bad: bool) -> None:
    assert bool(browser_zone_uses(code)) is bad


def test_no_console_script_formats_a_time_in_the_browsers_zone() -> None:
    scripts = [*CONSOLE.glob("static/js/*.js"), *CONSOLE.glob("templates/*.html")]
    assert len(scripts) > 20
    found = {
        path.name: uses for path in scripts if (uses := browser_zone_uses(path.read_text(encoding="utf-8")))
    }
    assert not found, f"use fmtTime/fmtClock of static/js/time.js (they name the zone): {found}"


def test_only_time_js_formats_times() -> None:
    """The pages call time.js's helpers; a page formatting dates itself would bypass the zone rules."""
    formatting = {
        path.name
        for path in CONSOLE.glob("static/js/*.js")
        if FORMATTERS.search(path.read_text(encoding="utf-8"))
    }
    assert formatting == {"time.js"}


def test_the_display_zone_defaults_to_shanghai_and_is_set_by_waihu_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WAIHU_TIME_ZONE", raising=False)
    assert reload_environment().time_zone == "Asia/Shanghai"
    assert ConsoleConfig.from_env().time_zone == "Asia/Shanghai"
    monkeypatch.setenv("WAIHU_TIME_ZONE", "UTC")
    reload_environment()
    assert ConsoleConfig.from_env().time_zone == "UTC"


@pytest.mark.parametrize("bad", ["Asia/Beijing", "CST", "localtime", "../../etc/passwd", "UTC+8"])
def test_a_bad_time_zone_stops_the_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("WAIHU_TIME_ZONE", bad)
    with pytest.raises(ValidationError, match=r"WAIHU_TIME_ZONE=.* is not an IANA time zone"):
        reload_environment()
    with pytest.raises(ValueError, match="WAIHU_TIME_ZONE"):
        ConsoleConfig(time_zone=bad)


def test_waihu_config_shows_the_time_zone_and_refuses_a_bad_one() -> None:
    shown = waihu("config", env={"WAIHU_TIME_ZONE": "Europe/Berlin"})
    assert shown.returncode == 0, shown.stderr
    assert "WAIHU_TIME_ZONE" in shown.stdout and "Europe/Berlin" in shown.stdout
    refused = waihu("config", env={"WAIHU_TIME_ZONE": "Mars/Olympus"})
    assert (
        refused.returncode == 2 and "WAIHU_TIME_ZONE" in refused.stderr and "Mars/Olympus" in refused.stderr
    )


def test_every_page_carries_the_display_zone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The service started with WAIHU_TIME_ZONE hands it to the pages (static/js/time.js reads it)."""
    monkeypatch.setenv("WAIHU_TIME_ZONE", "Europe/Berlin")
    reload_environment()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'zone.db'}", background=False)
    with run_server(settings) as server, server.client() as client:
        for path in ("/console/login", "/console/flows", "/console/screen", "/console/campaigns/1"):
            page = client.get(path)
            assert page.status_code == 200
            assert 'data-time-zone="Europe/Berlin"' in page.text, path
