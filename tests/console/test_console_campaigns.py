"""Campaigns: create one in the form, the live dashboard, pause/resume, and a call's detail page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.console.conftest import Console, shoot
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Campaign, Contact

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect


def test_create_a_campaign_and_watch_its_dashboard_update(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url("/console/campaigns"))
    expect(page.locator(f'tr[data-campaign="{console.seeded.campaign_id}"]')).to_contain_text(
        "Instalment offer"
    )
    page.fill("#name", "Plan upgrade — pilot")
    page.select_option("#flow", "telecom_plan_upgrade")
    expect(page.locator("#flow-version option")).to_have_count(1)
    expect(page.locator("#windows .win")).to_have_count(2)
    page.click("#add-window")
    page.locator("#windows .win").nth(2).locator("button").click()  # and remove it again
    page.fill("#concurrency", "8")
    page.locator('#retry tr[data-outcome="busy"] .interval').fill("45")
    page.fill("#callers", "+862100000009")
    page.fill("#webhook", "https://crm.example.com/hooks/waihu")
    shoot(page, shots, "campaigns")
    page.click("#create")
    expect(page.locator("#create-result .secret")).to_be_visible()  # the webhook secret, shown once
    page.locator("#create-result a").click()
    expect(page).to_have_url(re.compile(r"/console/campaigns/\d+$"))
    campaign_id = int(page.url.rsplit("/", 1)[1])
    with console.factory() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.concurrency == 8
        assert campaign.retry_policy["busy"]["interval_s"] == 2700
        assert campaign.windows[0] == {"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "09:00", "end": "12:00"}
    expect(page.locator("#state")).to_have_attribute("data-state", "scheduling")
    expect(page.locator("#state")).to_have_text("Scheduling")  # the label; the raw value is data-state
    expect(page.locator('[data-stat="contacts"] .n')).to_have_text("0")

    # Contacts arriving from elsewhere show up without a reload (the dashboard polls every 2 s).
    with console.factory() as session:
        rows = [RawRow(i + 1, {"reference_id": f"p{i}", "phone": f"1390000{i:04d}"}) for i in range(3)]
        import_contacts(session, campaign_id, rows)
        session.commit()
    expect(page.locator('[data-stat="contacts"] .n')).to_have_text("3", timeout=6000)
    page.fill("#csv", "reference_id,phone,name\np9,13900009999,李女士\nbad,123,x\n")
    page.click("#import")
    expect(page.locator("#import-result")).to_contain_text("1 added, 0 already there, 1 rejected")
    expect(page.locator('[data-stat="pending"] .n')).to_have_text("4")

    page.click("#pause")
    expect(page.locator("#state")).to_have_attribute("data-state", "paused")
    expect(page.locator("#resume")).to_be_enabled()
    page.click("#resume")
    expect(page.locator("#state")).to_have_attribute("data-state", "scheduling")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    expect(page.locator("#state")).to_have_attribute("data-state", "cancelled")
    with console.factory() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.campaign_id == campaign_id, Contact.state == "pending")
        )
    assert pending == 0


def test_dashboard_of_a_campaign_with_calls(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url(f"/console/campaigns/{console.seeded.campaign_id}"))
    funnel = page.locator("#funnel")
    expect(funnel.locator('[data-label="dialled"] .count')).to_have_text("3 · 100%")
    expect(funnel.locator('[data-label="answered"] .count')).to_have_text("2 · 67%")
    expect(funnel.locator('[data-label="graded A/B"] .count')).to_have_text("1 · 33%")
    expect(funnel.locator('[data-label="transferred"] .count')).to_have_text("1 · 33%")
    expect(page.locator('#grades [data-label="A"] .count')).to_contain_text("1")
    expect(page.locator("#latency circle")).to_have_count(2)
    expect(page.locator("#latency-basis")).to_contain_text(
        "measured by the voice loop + call length ÷ rounds"
    )
    expect(page.locator("#calls tbody tr")).to_have_count(3)
    expect(page.locator("#live")).to_contain_text("updated")
    shoot(page, shots, "dashboard")


def test_call_detail_with_trace_recording_and_regrade(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    seeded = console.seeded
    page.goto(console.url(f"/console/campaigns/{seeded.campaign_id}"))
    page.locator(f'#calls tr[data-attempt="{seeded.answered_attempt}"] a').click()
    expect(page).to_have_url(console.url(f"/console/calls/{seeded.answered_attempt}"))
    rows = page.locator("#transcript tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("greeting")
    expect(rows.nth(0)).to_contain_text("是我")
    expect(rows.nth(1)).to_contain_text("faq:fee")
    expect(rows.nth(0).locator("td").last).to_have_text("620 ms")
    expect(page.locator('#sip dd[data-key="SIP code"]')).to_have_text("200")
    expect(page.locator('#sip dd[data-key="Hung up by"] [data-hangup-by="seat"]')).to_have_text("Seat")
    expect(page.locator("#call-grade")).to_contain_text("A")
    audio = page.locator("#recording-audio")
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    duration = audio.evaluate(
        "a => a.readyState >= 1 ? a.duration : new Promise(r => a.addEventListener('loadedmetadata', () => r(a.duration)))"
    )
    assert abs(duration - 2.0) < 0.05
    expect(page.locator("#current-grade")).to_have_text("A")
    page.select_option("#new-grade", "B")
    page.fill("#grade-label", "wants a call back next week")
    page.click("#regrade")
    expect(page.locator("#grade-result .alert.ok")).to_have_text("Re-graded to B.")
    expect(page.locator("#current-grade")).to_have_text("B")
    expect(page.locator("#contact-grade")).to_contain_text("re-graded")
    shoot(page, shots, "call_detail")


def test_a_call_without_recording_says_so(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto(console.url(f"/console/campaigns/{console.seeded.campaign_id}"))
    page.locator("#calls tbody tr", has=page.locator('[data-outcome="no_answer"]')).locator("a").click()
    expect(page.locator("#recording")).to_have_text("No recording for this call.")
    expect(page.locator("#transcript tbody")).to_contain_text("not answered")
    expect(page.locator('#sip dd[data-key="SIP code"]')).to_have_text("480")
