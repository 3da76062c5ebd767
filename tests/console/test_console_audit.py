"""The audit log page (admins, in Chinese) and the block list as an operator sees it: numbers masked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import Console, shoot

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

NUMBERS = ("13800004321", "13900008765")


def _client(console: Console, key: str) -> httpx.Client:
    return httpx.Client(base_url=console.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def blocked(console: Console) -> Iterator[None]:
    """Two numbers blocked by the operator (audited), removed again by the admin afterwards."""
    with _client(console, console.seeded.operator_key) as operator:
        for phone in NUMBERS:
            assert operator.post("/v1/dnc", json={"phone": phone, "reason": "投诉"}).status_code in (200, 201)
    yield
    with _client(console, console.seeded.admin_key) as admin:
        for phone in NUMBERS:
            admin.delete(f"/v1/dnc/{phone}")


def test_admin_reads_the_audit_log_in_chinese(
    admin_page: Page, console: Console, blocked: None, shots
) -> None:
    page = admin_page
    page.goto(console.url("/console/audit?lang=zh-CN"))
    expect(page.locator("h1")).to_have_text("审计日志")
    rows = page.locator("#audit-table tbody tr[data-action='dnc.add']")
    expect(rows.first).to_contain_text("加入拦截名单")
    expect(rows.first).to_contain_text("Wang (operator)")
    expect(rows.first).to_contain_text("+86139****8765")  # newest first, the number masked
    expect(page.locator("#audit-table")).not_to_contain_text("13900008765")
    page.fill("#f-action", "dnc.add")
    page.click("#f-apply")
    body = page.locator("#audit-table tbody")
    expect(body.locator("tr:not([data-action='dnc.add'])")).to_have_count(0)
    expect(body.locator("tr[data-action='dnc.add']", has_text="Wang (operator)")).to_have_count(2)
    page.fill("#f-action", "")
    page.select_option("#f-resource", "seat")
    page.click("#f-apply")
    expect(body.locator("tr[data-action^='dnc.']")).to_have_count(0)
    page.select_option("#f-resource", "dnc")
    page.click("#f-apply")
    shoot(page, shots, "audit_log")
    expect(page.locator('header nav a[href="/console/audit"]')).to_be_visible()
    page.locator('#lang-switch a[data-lang="en"]').click()
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("#audit-table tbody tr[data-action='dnc.add']").first).to_contain_text(
        "Added to the block list"
    )


def test_operator_sees_masked_numbers_and_no_audit_log(
    operator_page: Page, console: Console, blocked: None
) -> None:
    page = operator_page
    page.goto(console.url("/console/dnc"))
    table = page.locator("#dnc-table tbody")
    expect(table).to_contain_text("+86138****4321")
    expect(table).not_to_contain_text("13800004321")
    expect(page.locator("#dnc-table tbody tr button")).to_have_count(0)  # removing is for admins
    expect(page.locator('header nav a[href="/console/audit"]')).to_be_hidden()
    page.goto(console.url("/console/audit"))
    expect(page.locator("#page-error .alert.forbidden")).to_contain_text("403")
    expect(page.locator("#audit-table")).to_be_hidden()
