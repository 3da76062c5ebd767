"""The A/B comparison page (AB分流对比) in Chromium: per-variant numbers, the verdict (Chinese and
English), weights."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.console.conftest import Console, shoot
from tests.console.seed import ALL_DAY
from tests.service.helpers import graded_call
from waihu.call_record import CallRecord
from waihu.service.scheduler import claim_due_contacts, record_result

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

#: What the comparison of ``ab_campaign`` says in each language: (selector, text).
SAYS = {
    "zh-CN": [
        ("h1", "AB分流对比"),
        ("#verdict", "版本 B 转化率最高"),
        ("#verdict", "差异显著"),
        ("#test-line", "双比例 z 检验"),
        ("#test-line", "；转化 = 评级 A"),
        ('tr[data-variant="B"]', "胜出"),
    ],
    "en": [
        ("h1", "A/B comparison"),
        ("#verdict", "Variant B converts best"),
        ("#verdict", "statistically significant"),
        ("#test-line", "two-proportion z-test: statistic"),
        ("#test-line", "; conversion = grade A"),
        ('tr[data-variant="B"]', "winner"),
    ],
}


def expect_the_verdict(page: Page, lang: str) -> None:
    """The page shows B winning, in ``lang``."""
    for selector, text in SAYS[lang]:
        expect(page.locator(selector)).to_contain_text(text)


@pytest.fixture(scope="module")
def ab_campaign(console: Console) -> int:
    """A campaign split A/B (two voices) whose B variant converts clearly better: 160 finished calls."""
    headers = {"Authorization": f"Bearer {console.seeded.admin_key}"}
    with httpx.Client(base_url=console.base_url, headers=headers, timeout=30) as admin:
        body = {
            "name": "AB 试验",
            "flow_id": "credit_card_installment",
            "windows": ALL_DAY,
            "retry_policy": {},
            "concurrency": 200,
        }
        campaign = admin.post("/v1/campaigns", json=body).json()
        variants = [{"name": "A", "voice": "zf_xiaoxiao"}, {"name": "B", "voice": "zm_yunjian"}]
        assert (
            admin.put(f"/v1/campaigns/{campaign['id']}/variants", json={"variants": variants}).status_code
            == 200
        )
        rows = [
            {"reference_id": f"ab{i}", "phone": f"137{i:08d}", "variables": {"name": "张先生"}}
            for i in range(161)  # one stays pending: the campaign keeps running
        ]
        assert admin.post(f"/v1/campaigns/{campaign['id']}/contacts", json=rows).status_code in (200, 201)
    now = dt.datetime.now(dt.UTC)
    with console.factory() as session:
        claims = claim_due_contacts(session, "ab-test", now, 160, campaign_ids=[campaign["id"]])
        for index, claim in enumerate(claims):
            good = claim.extra["variant"] == "B" and index % 2 == 0
            result = CallRecord(
                "answered",
                sip_code=200,
                answer_at=now,
                end_at=now + dt.timedelta(seconds=40),
                conversation=graded_call("A" if good else "C", flow_id="credit_card_installment"),
            )
            record_result(session, claim.attempt_id, result, now + dt.timedelta(seconds=41))
    return int(campaign["id"])


def test_operator_reads_the_verdict_and_shifts_weights(
    operator_page: Page, console: Console, ab_campaign: int, shots
) -> None:
    page = operator_page
    page.goto(console.url(f"/console/campaigns/{ab_campaign}?lang=zh-CN"))  # an operator reads Chinese
    page.click("#ab-link")
    rows = page.locator("#variants-table tbody tr[data-variant]")
    expect(rows).to_have_count(2)
    expect_the_verdict(page, "zh-CN")
    expect(page.locator('tr[data-variant="A"] .conversion-rate')).to_have_text("0.0%")
    expect(page.locator('tr[data-variant="A"] .answer-rate')).to_have_text("100.0%")
    shoot(page, shots, "ab_comparison")
    page.fill('input.weight[data-variant="A"]', "1")
    page.fill('input.weight[data-variant="B"]', "9")
    page.click("#save-weights")
    expect(page.locator("#toast")).to_contain_text("权重已保存")
    headers = {"Authorization": f"Bearer {console.seeded.operator_key}"}
    with httpx.Client(base_url=console.base_url, headers=headers, timeout=30) as operator:
        variants = operator.get(f"/v1/campaigns/{ab_campaign}/variants").json()["variants"]
    assert {v["name"]: v["weight"] for v in variants} == {"A": 1, "B": 9}
    page.fill('input.weight[data-variant="A"]', "0")
    page.fill('input.weight[data-variant="B"]', "0")
    page.click("#save-weights")
    # The server's sentence (code no_positive_weight) in the page's language.
    expect(page.locator("#action-result .alert.error")).to_contain_text(
        "weights：至少要有一个变体的权重大于 0"
    )
    page.select_option("#conversion", "tag")
    page.fill("#conversion-tag", "不存在的标签")
    page.click("#refresh")
    expect(page.locator("#verdict")).to_contain_text("样本量不足")
    expect(page.locator("#test-line")).to_contain_text("转化 = 含标签「不存在的标签」")


def test_the_comparison_in_english(operator_page: Page, console: Console, ab_campaign: int) -> None:
    page = operator_page
    page.goto(console.url(f"/console/campaigns/{ab_campaign}/ab"))
    expect_the_verdict(page, "en")
    expect(page.locator("#variants-table thead")).to_contain_text("Answer rate")
