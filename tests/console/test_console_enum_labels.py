"""API enum values (states, outcomes, who hung up, roles) shown in the page's language, in Chromium.

The raw value stays in a data-* attribute (a stable hook); only the visible text is translated.
"""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import Console
from waihu.console import i18n

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

#: The labels each language shows for the seeded data (catalogue words, checked against the catalogue).
WORDS = {
    "zh-CN": {
        "answered": "已接通",
        "no_answer": "未接听",
        "seat": "坐席",
        "admin": "管理员",
        "dialled": "已拨打",
    },
    "en": {
        "answered": "Answered",
        "no_answer": "No answer",
        "seat": "Seat",
        "admin": "Admin",
        "dialled": "Dialled",
    },
}
#: Raw values that must not show as visible text (they stay in attributes).
RAW = re.compile(
    r"\b(?:measured|duration/rounds|scheduling|executing|paused|answered|no_answer|callee|robot|seat|operator|strategy|admin)\b"
)


def _page_in(request: pytest.FixtureRequest, lang: str) -> Page:
    page: Page = request.getfixturevalue("chinese_page" if lang == "zh-CN" else "admin_page")
    return page


def _no_raw(page: Page, selector: str) -> None:
    """The visible text of every ``selector`` element holds no raw enum value (zh-CN only)."""
    texts = page.locator(selector).all_inner_texts()
    assert texts, selector
    assert not [text for text in texts if RAW.search(text)], texts


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_enum_values_are_worded_in_the_pages_language(
    request: pytest.FixtureRequest, console: Console, lang: str
) -> None:
    page, seeded, words = _page_in(request, lang), console.seeded, WORDS[lang]
    catalogue = i18n.catalogue(lang)
    assert words["answered"] == catalogue["enum.outcome.answered"]

    # The campaigns list: the state badge, and the state filter's options.
    page.goto(console.url("/console/campaigns"))
    badge = page.locator(f'tr[data-campaign="{seeded.campaign_id}"] .badge')
    expect(badge).to_have_attribute("data-state", re.compile(r"^\w+$"))
    state = badge.get_attribute("data-state")
    expect(badge).to_have_text(catalogue[f"enum.campaign_state.{state}"])
    expect(page.locator('#state-filter option[value="executing"]')).to_have_text(
        catalogue["enum.campaign_state.executing"]
    )
    expect(page.locator('#retry tr[data-outcome="no_answer"] td').first).to_have_text(words["no_answer"])
    if lang == "zh-CN":
        _no_raw(page, "#campaigns-table tbody .badge")
        _no_raw(page, "#state-filter option, #retry td:first-child")

    # A campaign's dashboard: the latest calls' outcomes, the outcome mix, the funnel.
    page.goto(console.url(f"/console/campaigns/{seeded.campaign_id}"))
    calls = page.locator("#calls tbody")
    expect(calls.locator('[data-outcome="no_answer"]')).to_have_text(words["no_answer"])
    expect(calls.locator('[data-outcome="answered"]').first).to_have_text(words["answered"])
    expect(page.locator("#outcomes")).to_contain_text(words["answered"])
    expect(page.locator('#funnel [data-label="dialled"] span').first).to_have_text(words["dialled"])
    expect(page.locator("#state")).to_have_text(catalogue[f"enum.campaign_state.{state}"])
    bases = " + ".join(catalogue[f"enum.latency_basis.{basis}"] for basis in ("measured", "duration/rounds"))
    expect(page.locator("#latency-basis")).to_contain_text(bases)
    if lang == "zh-CN":
        _no_raw(page, "#calls tbody .badge, #outcomes, #funnel .bar > span, #state, #latency-basis")

    # A call: its outcome and who hung up.
    page.goto(console.url(f"/console/calls/{seeded.answered_attempt}"))
    expect(page.locator('#summary dd[data-key="Outcome"] [data-outcome="answered"]')).to_have_text(
        words["answered"]
    )
    expect(page.locator('#sip dd[data-key="Hung up by"] [data-hangup-by="seat"]')).to_have_text(words["seat"])
    if lang == "zh-CN":
        _no_raw(page, '#summary dd[data-key="Outcome"], #sip dd[data-key="Hung up by"]')

    # The keys page: each key's role, and the role choice of the form.
    page.goto(console.url("/console/keys"))
    expect(page.locator('#keys-table .badge[data-role="admin"]').first).to_have_text(words["admin"])
    expect(page.locator('#role option[value="admin"]')).to_have_text(words["admin"])
    if lang == "zh-CN":
        _no_raw(page, "#keys-table .badge[data-role], #role option")
