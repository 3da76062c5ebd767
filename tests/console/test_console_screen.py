"""The big screen (大屏) in Chromium: numbers pushed by server-sent events change without a reload."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import delete, func, select

from tests.console.conftest import Console, shoot
from waihu.service.models import Attempt, Contact, utcnow

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect


def finish_an_attempt(console: Console) -> str:
    """A call of the seeded campaign that ends now, as a worker would have stored it (answered, A)."""
    with console.factory() as session:
        contact = session.scalars(
            select(Contact)
            .where(Contact.campaign_id == console.seeded.campaign_id)
            .order_by(Contact.id.desc())
        ).first()
        assert contact is not None
        number = session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.contact_id == contact.id)
        )
        now = utcnow()
        attempt_id = f"screen{contact.id}x{number}"
        session.add(
            Attempt(
                id=attempt_id,
                contact_id=contact.id,
                campaign_id=contact.campaign_id,
                number=(number or 0) + 1,
                phone=contact.phone,
                flow_id="credit_card_installment",
                flow_version=1,
                status="finished",
                claimed_by="screen-test",
                claimed_at=now - dt.timedelta(seconds=40),
                lease_until=now + dt.timedelta(minutes=5),
                answer_at=now - dt.timedelta(seconds=30),
                end_at=now,
                outcome="answered",
                hangup_by="seat",
                transfer_answered=True,  # the transfer record a worker writes when a seat took the call
                grade="A",
                rounds=2,
                transcript=[{"kind": "utterance", "intent": "faq:fee", "latency_ms": 700.0}],
            )
        )
        session.commit()
    return attempt_id


def forget(console: Console, attempt_id: str) -> None:
    """Delete the attempt again: the other console tests count the seeded campaign's calls."""
    with console.factory() as session:
        session.execute(delete(Attempt).where(Attempt.id == attempt_id))
        session.commit()


def test_big_screen_updates_without_reload(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url("/console/screen?lang=zh-CN"))  # the wall screen in Chinese
    finished = page.locator('[data-stat="finished"] .n')
    transfers = page.locator('[data-stat="transfers"] .n')
    # At least the seeded campaign's three finished calls (other tests of the session may add some).
    expect(finished).to_have_text(re.compile(r"^\d+$"))
    before, transferred = int(finished.inner_text()), int(transfers.inner_text())
    assert before >= 3 and transferred >= 1
    expect(page.locator('[data-stat="answer_rate"] .n')).to_have_text(re.compile(r"^\d+%$"))
    expect(page.locator('[data-stat="latency"] .n')).to_contain_text("ms")
    expect(page.locator("#cpm-chart rect")).to_have_count(15)
    expect(page.locator('#grades [data-label="A"] .count')).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator('#faq li[data-name="faq:fee"]')).to_be_visible()
    expect(page.locator(f'#campaigns li[data-campaign="{console.seeded.campaign_id}"]')).to_be_visible()
    expect(page.locator("#live")).to_contain_text("实时")
    page.evaluate("window.__notReloaded = true")
    shoot(page, shots, "big_screen")

    attempt_id = finish_an_attempt(console)
    try:
        expect(finished).to_have_text(str(before + 1))  # pushed by the stream, no reload
        expect(transfers).to_have_text(str(transferred + 1))
    finally:
        forget(console, attempt_id)
    assert page.evaluate("window.__notReloaded") is True


def test_big_screen_refuses_an_operator(operator_page: Page, console: Console) -> None:
    page = operator_page
    page.goto(console.url("/console/screen"))
    expect(page.locator("#page-error .alert.forbidden")).to_be_visible()
