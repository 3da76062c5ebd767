"""Times on screen are in a named zone, never the browser's: lists in the display zone
(``WAIHU_TIME_ZONE``, default Asia/Shanghai), a campaign's pages in the campaign's zone.

The browser runs in Los Angeles (an operator's remote desktop may be anywhere); the stored instant
2026-03-05 23:30:15 UTC is 07:30:15 on 6 March in Shanghai, 23:30:15 on 5 March in UTC, 08:30:15 on
6 March in Tokyo (the campaign's zone) and 15:30:15 on 5 March in Los Angeles (never shown).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tests.console.conftest import Console, _page
from tests.console.seed import seed
from tests.service.helpers import run_server
from waihu.service.models import ApiKey, Attempt, AuditEntry, Campaign, Dnc, FlowVersion, Seat
from waihu.service.settings import Settings
from waihu_env import reload_environment

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

INSTANT = dt.datetime(2026, 3, 5, 23, 30, 15, tzinfo=dt.UTC)
BROWSER_ZONE = "America/Los_Angeles"
CAMPAIGN_ZONE = "Asia/Tokyo"
FLOW = "credit_card_installment"
#: How each language writes INSTANT in a zone (dateStyle short, timeStyle medium).
WALL = {
    ("zh-CN", "Asia/Shanghai"): "2026/3/6 07:30:15",
    ("en", "Asia/Shanghai"): "3/6/26, 7:30:15 AM",
    ("zh-CN", "UTC"): "2026/3/5 23:30:15",
    ("en", "UTC"): "3/5/26, 11:30:15 PM",
    ("zh-CN", CAMPAIGN_ZONE): "2026/3/6 08:30:15",
    ("en", CAMPAIGN_ZONE): "3/6/26, 8:30:15 AM",
}
#: The browser's own wall time of INSTANT: on no page.
BROWSER_WALL = {"zh-CN": "15:30:15", "en": "3:30:15 PM"}
LABEL = {"Asia/Shanghai": "Asia/Shanghai UTC+8", "UTC": "UTC", CAMPAIGN_ZONE: "Asia/Tokyo UTC+9"}
IN_ZONE = {"zh-CN": "（{}）", "en": "({})"}


def stamp(factory: Any, campaign_id: int, attempt_id: str) -> None:
    """Put INSTANT on a flow version, a key, a block-list entry, a seat, an audit entry, the
    campaign's creation and a call's end; the campaign calls in Tokyo."""
    with factory() as session:
        session.execute(update(FlowVersion).where(FlowVersion.flow_id == FLOW).values(created_at=INSTANT))
        session.execute(
            update(ApiKey).where(ApiKey.role == "operator").values(created_at=INSTANT, last_used_at=INSTANT)
        )
        session.add(Dnc(tenant="default", phone="+8613800009999", reason="投诉", created_at=INSTANT))
        session.add(
            Seat(
                uri="sip:2001@127.0.0.1",
                name="李娜",
                skill_group="vip",
                created_at=INSTANT,
                updated_at=INSTANT,
            )
        )
        session.add(
            AuditEntry(
                at=INSTANT,
                actor_name="Lead admin",
                actor_role="admin",
                actor_tenant="default",
                tenant="default",
                action="seat.register",
                resource_type="seat",
                resource_id="sip:2001@127.0.0.1",
            )
        )
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(created_at=INSTANT, timezone=CAMPAIGN_ZONE)
        )
        session.execute(update(Attempt).where(Attempt.id == attempt_id).values(end_at=INSTANT))
        session.commit()
        assert session.scalar(select(Dnc.created_at).where(Dnc.phone == "+8613800009999")) == INSTANT


def _zoned_console(tmp: Path, time_zone: str | None) -> Iterator[Console]:
    """A service started as ``waihu serve`` is: the console's settings from the environment."""
    recordings = tmp / "recordings"
    recordings.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAIHU_CONSOLE_NLU", "rules")
        env.setenv("WAIHU_RECORDINGS_DIR", str(recordings))
        if time_zone:
            env.setenv("WAIHU_TIME_ZONE", time_zone)
        else:
            env.delenv("WAIHU_TIME_ZONE", raising=False)
        reload_environment()
        settings = Settings(database_url=f"sqlite:///{tmp / 'zoned.db'}", background=False)
        with run_server(settings) as server:
            factory = server.app.state.service.factory
            seeded = seed(factory, recordings)
            stamp(factory, seeded.campaign_id, seeded.answered_attempt)
            yield Console(server.base_url, seeded, factory)


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """WAIHU_TIME_ZONE unset: the default display zone, Asia/Shanghai."""
    yield from _zoned_console(tmp_path_factory.mktemp("shanghai"), None)


@pytest.fixture(scope="module")
def utc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """WAIHU_TIME_ZONE=UTC."""
    yield from _zoned_console(tmp_path_factory.mktemp("utc"), "UTC")


def far_page(browser: Any, console: Console, lang: str) -> Iterator[Page]:
    """An admin's page on ``console`` in a browser whose own zone is Los Angeles."""
    yield from _page(browser, console, console.seeded.admin_key, "admin", lang=lang, timezone_id=BROWSER_ZONE)


#: List page, the row that carries INSTANT, the time cells of that row, and their header cells.
LISTS = [
    ("/console/flows", f'#flows-table tr[data-flow="{FLOW}"]', 1, "#flows-table thead [data-zone]"),
    ("/console/keys", "#keys-table tbody tr:has-text('Wang (operator)')", 2, "#keys-table thead [data-zone]"),
    ("/console/dnc", "#dnc-table tbody tr:has-text('投诉')", 1, "#dnc-table thead [data-zone]"),
    ("/console/seats", "#seats-table tbody tr:has-text('李娜')", 1, "#seats-table thead [data-zone]"),
    ("/console/campaigns", "#campaigns-table tr[data-campaign]", 1, "#campaigns-table thead [data-zone]"),
    ("/console/audit", '#audit-table tr[data-action="seat.register"]', 1, "#audit-table thead [data-zone]"),
]


def check_lists(page: Page, console: Console, lang: str, zone: str) -> None:
    """Every list shows INSTANT's wall time in ``zone`` and names ``zone`` in its time columns."""
    label = IN_ZONE[lang].format(LABEL[zone])
    for path, row, times, headers in LISTS:
        page.goto(console.url(path))
        expect(page.locator(row).first).to_contain_text(WALL[lang, zone])
        assert page.locator(row).first.inner_text().count(WALL[lang, zone]) == times, path
        expect(page.locator(row).first).not_to_contain_text(BROWSER_WALL[lang])
        for header in page.locator(headers).all():
            expect(header).to_contain_text(label)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_lists_show_the_display_zone_not_the_browsers(browser: Any, shanghai: Console, lang: str) -> None:
    for page in far_page(browser, shanghai, lang):
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE
        check_lists(page, shanghai, lang, "Asia/Shanghai")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_campaign_pages_keep_the_campaigns_zone(browser: Any, shanghai: Console, lang: str) -> None:
    seeded = shanghai.seeded
    for page in far_page(browser, shanghai, lang):
        page.goto(shanghai.url(f"/console/calls/{seeded.answered_attempt}"))
        expect(page.locator('#sip dd[data-key="Ended"]')).to_have_text(WALL[lang, CAMPAIGN_ZONE])
        expect(page.locator('#sip dd[data-key="Time zone"]')).to_have_text(LABEL[CAMPAIGN_ZONE])
        page.goto(shanghai.url(f"/console/campaigns/{seeded.campaign_id}"))
        row = page.locator(f'#calls tr[data-attempt="{seeded.answered_attempt}"]')
        expect(row).to_contain_text(WALL[lang, CAMPAIGN_ZONE])
        expect(page.locator("#calls thead [data-zone=campaign]")).to_contain_text(LABEL[CAMPAIGN_ZONE])


def test_waihu_time_zone_utc_changes_the_lists_not_the_campaign_pages(browser: Any, utc: Console) -> None:
    for lang in ("zh-CN", "en"):
        for page in far_page(browser, utc, lang):
            check_lists(page, utc, lang, "UTC")
            page.goto(utc.url(f"/console/calls/{utc.seeded.answered_attempt}"))
            expect(page.locator('#sip dd[data-key="Ended"]')).to_have_text(WALL[lang, CAMPAIGN_ZONE])


def test_the_big_screens_clock_names_the_display_zone(browser: Any, shanghai: Console) -> None:
    for page in far_page(browser, shanghai, "zh-CN"):
        page.goto(shanghai.url("/console/screen"))
        expect(page.locator("#clock-zone")).to_have_text("（Asia/Shanghai UTC+8）")
        now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
        hours = {f"{moment:%H}" for moment in (now, now + dt.timedelta(minutes=1))}  # at an hour's turn
        expect(page.locator("#clock")).to_have_text(re.compile(rf"^(?:{'|'.join(hours)}):\d\d:\d\d$"))


def test_audit_since_is_read_in_the_display_zone(browser: Any, shanghai: Console) -> None:
    """07:30 in Shanghai is before the entry (07:30:15); 07:31 after it, whatever the browser's zone."""
    for page in far_page(browser, shanghai, "en"):
        page.goto(shanghai.url("/console/audit"))
        expect(page.locator('label[for="f-since"]')).to_contain_text("(Asia/Shanghai UTC+8)")
        entry = page.locator('#audit-table tr[data-action="seat.register"]')
        expect(entry).to_have_count(1)  # the first, unfiltered load is over: the next answer is ours
        for since, shown in (("2026-03-06T07:30", 1), ("2026-03-06T07:31", 0)):
            page.fill("#f-since", since)
            with page.expect_response(lambda r: "/v1/audit?" in r.url and "since=" in r.url) as answer:
                page.click("#f-apply")
            assert "since=2026-03-05T23%3A3" in answer.value.url
            expect(entry).to_have_count(shown)
