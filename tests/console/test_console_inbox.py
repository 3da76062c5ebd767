"""收件箱: what real calls could not classify, grouped; one click makes a group examples of an intent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import FLOWS
from tests.console.conftest import Console, _page, shoot
from tests.console.seed import converse
from tests.service.helpers import ALL_DAY
from waihu.call_record import CallRecord
from waihu.service.apikeys import create_api_key
from waihu.service.flows import store_flow
from waihu.service.imports import RawRow, import_contacts
from waihu.service.models import Campaign, utcnow
from waihu.service.policy import DEFAULT_RETRY_POLICY
from waihu.service.scheduler import claim_due_contacts, record_result

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

TENANT = "learning"
#: Two callees of the telecom flow saying what it does not know (the rules NLU hears no_match).
CALLS = [["能不能便宜点", "我先看看账单"], ["能不能便宜点"]]


@pytest.fixture
def inbox_page(browser: Any, console: Console) -> Iterator[Page]:
    """An operator of a tenant of its own, whose telecom flow has saved calls with unclassified turns
    (a tenant apart: the other console tests keep their flows at version 1)."""
    text = (FLOWS / "telecom_plan_upgrade.yaml").read_text(encoding="utf-8")
    with console.factory() as session:
        _row, key = create_api_key(session, "Li (operator)", "operator", tenant=TENANT)
        flow = store_flow(session, text, tenant=TENANT).version
        now = utcnow()
        campaign = Campaign(tenant=TENANT, name="learning", flow_version_id=flow.id, flow_id=flow.flow_id,
                            flow_version=flow.version, timezone="Asia/Shanghai", windows=ALL_DAY, max_attempts=1,
                            max_attempts_per_day=1, retry_policy={k: v.model_dump() for k, v in DEFAULT_RETRY_POLICY.items()},
                            concurrency=4, caller_numbers=["+862100000001"], state="scheduling",
                            created_at=now, updated_at=now)  # fmt: skip
        session.add(campaign)
        session.commit()
        rows = [
            RawRow(i + 1, {"reference_id": f"l{i}", "phone": f"1390000{i:04d}"}) for i in range(len(CALLS))
        ]
        import_contacts(session, campaign.id, rows)
        session.commit()
        claims = claim_due_contacts(session, "inbox-test", limit=len(CALLS), campaign_ids=[campaign.id])
        for claim, turns in zip(claims, CALLS, strict=True):
            call = converse(text, turns, hang_up=True)
            record_result(session, claim.attempt_id, CallRecord("answered", conversation=call))
    yield from _page(browser, console, key, "operator")


def test_inbox_adds_a_group_as_examples_and_dismisses_another(
    inbox_page: Page, console: Console, shots
) -> None:
    page = inbox_page
    page.goto(console.url("/console/inbox?flow=telecom_plan_upgrade&lang=zh-CN"))  # the page speaks Chinese
    expect(page.locator("header nav a.active")).to_have_text("收件箱")
    rows = page.locator("#groups tbody tr")
    expect(rows).to_have_count(2)
    cheaper = rows.filter(has_text="能不能便宜点")
    expect(cheaper.locator(".count")).to_have_text("2")
    expect(cheaper.locator(".guess")).to_have_text("busy")  # the rules' guess, wrong: the operator knows
    expect(cheaper.locator("select.target")).to_have_value("intent:busy")
    shoot(page, shots, "inbox")
    cheaper.locator("select.target").select_option("intent:too_expensive")
    cheaper.locator("button.add").click()
    status = page.locator("#inbox-status .alert.ok")
    expect(status).to_contain_text("已加为 too_expensive")
    expect(status).to_contain_text("已生成新版本 v2")
    expect(status).to_contain_text("流程测试通过 23 个")
    expect(rows).to_have_count(1)
    rows.filter(has_text="我先看看账单").locator("button.dismiss").click()
    expect(page.locator("#inbox-status .alert.ok")).to_contain_text("已忽略")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("收件箱是空的")
    page.locator('#lang-switch a[data-lang="en"]').click()  # the same page in English
    expect(page.locator("h1")).to_contain_text("Inbox")
    expect(page.locator("header nav a.active")).to_have_text("Inbox")
    expect(rows.first).to_contain_text("The inbox is empty")
