"""The simulator (chat to a grade, with the robot's TTS playable) and the knowledge base page."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import Console, shoot

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect


def test_simulator_chat_reaches_a_grade_with_playable_speech(
    admin_page: Page, console: Console, shots
) -> None:
    page = admin_page
    page.goto(console.url("/console/simulator?flow=credit_card_installment&version=1"))
    expect(page.locator("#var-name")).to_be_visible()
    page.fill("#var-name", "张先生")
    page.fill("#var-amount", "12000")
    page.click("#start")
    first = page.locator(".msg.robot").first
    expect(first.locator(".bubble")).to_have_text("您好，这里是星河银行信用卡中心，请问您是张先生吗？")
    audio = first.locator("audio")
    expect(audio).to_have_attribute("src", re.compile(r"^blob:"))
    duration = audio.evaluate(
        "a => a.readyState >= 1 ? a.duration : new Promise(r => a.addEventListener('loadedmetadata', () => r(a.duration)))"
    )
    assert duration > 1.0, duration

    for text, meta in [
        ("是我", "node offer · intent affirm (1.00)"),
        ("手续费怎么算", "intent faq:fee"),
        ("好的 你说", "node explain · intent affirm"),
    ]:
        page.fill("#say", text)
        page.click("#send")
        expect(page.locator(".msg.callee .meta").last).to_contain_text(meta)
    page.fill("#say", "可以")
    page.press("#say", "Enter")
    expect(page.locator("#grade")).to_have_text("A")
    expect(page.locator("#result-tags")).to_contain_text("interested")
    expect(page.locator("#result-meta")).to_contain_text("Transferred")
    expect(page.locator("#send")).to_be_disabled()
    shoot(page, shots, "simulator")


def test_knowledge_base_lists_entries_and_matches_a_question(
    admin_page: Page, console: Console, shots
) -> None:
    page = admin_page
    page.goto(console.url("/console/kb?flow=credit_card_installment&version=1"))
    fee = page.locator('#entries tr[data-entry="fee"]')
    expect(fee).to_contain_text("手续费多少")
    expect(page.locator("#entries tbody tr")).to_have_count(6)
    page.fill("#question", "分期手续费多少钱")
    page.click("#ask-form button")
    best = page.locator("#hits .hit").first
    expect(best.locator(".entry")).to_have_text("fee")
    score = float(best.locator(".value").inner_text())
    assert 0.5 <= score <= 1.0
    expect(fee).to_have_class("hit")
    shoot(page, shots, "knowledge_base")


def test_simulator_speaks_chinese_to_a_chinese_operator(chinese_page: Page, console: Console) -> None:
    page = chinese_page
    page.goto(console.url("/console/simulator?flow=credit_card_installment&version=1"))
    page.fill("#var-name", "张先生")
    page.fill("#var-amount", "12000")
    page.click("#start")
    expect(page.locator(".msg.robot .meta").first).to_have_text("节点 greeting")
    page.fill("#say", "是我")
    page.click("#send")
    expect(page.locator(".msg.callee .meta").last).to_have_text("节点 offer · 意图 affirm（1.00）")
    page.click("#silence")
    expect(page.locator(".msg.callee .bubble").last).to_have_text("（沉默）")
    page.click("#hangup")
    expect(page.locator(".msg.callee .bubble").last).to_have_text("（挂断）")
    expect(page.locator("#chat")).to_contain_text("通话结束（")
    expect(page.locator("#result-meta")).to_contain_text(" 轮")
