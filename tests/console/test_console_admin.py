"""Block list, seats and keys; an operator key is refused what only admins may do, with a clear 403."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import Console, shoot

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect


def test_block_list_add_find_remove(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url("/console/dnc"))
    expect(page.locator("#dnc-table tbody")).to_contain_text("The list is empty.")
    for phone, reason in [("13800138000", "asked on the phone"), ("+86 139 0000 1111", "complaint")]:
        page.fill("#phone", phone)
        page.fill("#reason", reason)
        page.click("#add")
        expect(page.locator("#add-result .alert.ok")).to_be_visible()
    expect(page.locator("#dnc-table tbody tr")).to_have_count(2)
    page.fill("#phone", "12")
    page.click("#add")
    expect(page.locator("#add-result .alert.error")).to_contain_text("phone")
    shoot(page, shots, "block_list")
    page.fill("#lookup", "13900001111")
    page.click("#lookup-form button[type=submit]")
    expect(page.locator("#dnc-table tbody tr")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#dnc-table tbody tr button").click()
    expect(page.locator("#dnc-table tbody tr")).to_have_count(1)
    expect(page.locator("#dnc-table tbody tr")).not_to_contain_text("13900001111")


def test_seats_register_and_switch_availability(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url("/console/seats"))
    page.fill("#uri", "sip:1001@10.0.0.5")
    page.fill("#seat-name", "Li Na")
    page.fill("#group", "credit_card")
    page.click("#register")
    row = page.locator('tr[data-seat="sip:1001@10.0.0.5"]')
    expect(row).to_contain_text("credit_card")
    expect(row).to_contain_text("away")
    row.locator("input[type=checkbox]").check()
    expect(row).to_contain_text("available")
    shoot(page, shots, "seats")


def test_keys_admin_creates_a_key(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url("/console/keys"))
    expect(page.locator("#keys-table tbody")).to_contain_text("Wang (operator)")
    page.fill("#key-name", "CRM integration")
    page.select_option("#role", "strategy")
    page.click("#create-key")
    expect(page.locator("#new-key")).to_have_text(re.compile(r"^whk_[0-9a-f]{16}\."))
    expect(page.locator("#keys-table tbody")).to_contain_text("CRM integration")
    shoot(page, shots, "keys")


def test_operator_is_refused_keys_and_seat_registration(operator_page: Page, console: Console, shots) -> None:
    page = operator_page
    page.goto(console.url("/console/keys"))
    alert = page.locator("#page-error .alert.forbidden")
    expect(alert).to_have_text(
        '403 — Not allowed: your key\'s role is "operator" and this needs one of: admin. Ask an admin if you need it.'
    )
    expect(page.locator("#keys-table")).to_be_hidden()
    expect(page.locator('header nav a[href="/console/keys"]')).to_be_hidden()
    expect(page.locator('header nav a[href="/console/campaigns"]')).to_be_hidden()
    shoot(page, shots, "keys_forbidden")
    page.goto(console.url("/console/seats"))
    page.fill("#uri", "sip:2002@10.0.0.6")
    page.click("#register")
    expect(page.locator("#seat-result .alert.forbidden")).to_contain_text("403")
    # What operators may do still works: the flows list.
    page.goto(console.url("/console/flows"))
    expect(page.locator('tr[data-flow="credit_card_installment"]')).to_be_visible()
