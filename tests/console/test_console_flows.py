"""Login, the flows list, the YAML editor with live validation, flow tests and the answer table."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import FLOWS
from tests.console.conftest import Console, shoot

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

CARD = "credit_card_installment"


def test_login_redirects_rejects_a_bad_key_and_lists_flows(
    anonymous_page: Page, console: Console, shots
) -> None:
    page = anonymous_page
    page.goto(console.url("/console/"))
    expect(page).to_have_url(console.url("/console/login?next=%2Fconsole%2Fflows"))
    page.fill("#key", "whk_nope.nope")
    page.click("#login-button")
    expect(page.locator("#login-error .alert")).to_contain_text("not valid")
    shoot(page, shots, "login")
    page.fill("#key", console.seeded.admin_key)
    page.click("#login-button")
    expect(page).to_have_url(console.url("/console/flows"))
    expect(page.locator("#who")).to_have_text("Lead admin · admin")
    row = page.locator(f'tr[data-flow="{CARD}"]')
    expect(row).to_contain_text("信用卡账单分期邀约")
    expect(page.locator('tr[data-flow="telecom_plan_upgrade"]')).to_be_visible()
    page.set_input_files("#upload", str(FLOWS / "appointment_reminder_en.yaml"))
    expect(page.locator("#upload-result .alert.ok")).to_have_text("Uploaded appointment_reminder_en v1.")
    expect(page.locator('tr[data-flow="appointment_reminder_en"]')).to_contain_text("Appointment reminder")
    page.set_input_files(
        "#upload", {"name": "bad.yaml", "mimeType": "text/yaml", "buffer": b"flow: {id: x}\n"}
    )
    expect(page.locator("#upload-result .alert.error")).to_contain_text("bad.yaml: the flow has errors")
    expect(page.locator("#upload-result .alert.error pre")).to_contain_text(
        "bad.yaml:1:1: flow: missing required field 'name'"
    )
    shoot(page, shots, "flows")


def test_editor_shows_an_error_at_its_line_then_saves_a_fixed_version(
    admin_page: Page, console: Console, shots
) -> None:
    page = admin_page
    page.goto(console.url(f"/console/flows/{CARD}"))
    textarea = page.locator("#yaml")
    expect(page.locator("#status")).to_contain_text("Valid")
    original = textarea.input_value()
    assert original == (FLOWS / f"{CARD}.yaml").read_text(encoding="utf-8")

    # Type as an operator would: put the caret after "goto: of" on line 33 and delete the second f.
    caret = original.index("affirm: {goto: offer}") + len("affirm: {goto: off")
    textarea.evaluate("(t, at) => { t.focus(); t.setSelectionRange(at, at); }", caret)
    page.keyboard.press("Backspace")
    problems = page.locator("#problems li.error")
    expect(problems).to_have_count(5)  # the typo, and the four nodes it leaves unreachable
    expect(problems.first).to_have_text(
        f"{CARD}.yaml:33:7: next step 'ofer' is not a node nor one of hangup, transfer, stay, repeat, return"
    )
    expect(page.locator("#gutter div.error").first).to_have_text("● 33")
    expect(page.locator('#backdrop div.error[data-line="33"] .msg')).to_contain_text("next step 'ofer'")
    expect(page.locator('#backdrop div.error[data-line="37"] .msg')).to_contain_text("'offer' is unreachable")
    expect(page.locator("#status")).to_have_text("✗ 5 errors — fix before saving")
    expect(page.locator("#save")).to_be_disabled()
    problems.first.click()  # jumps to the line
    assert page.evaluate("document.querySelector('#yaml').selectionStart") == original.index(
        "affirm: {goto: offer}"
    )
    shoot(page, shots, "flow_editor")

    textarea.evaluate("(t, at) => { t.focus(); t.setSelectionRange(at, at); }", caret - 1)
    page.keyboard.type("f")
    page.keyboard.press("Control+End")
    page.keyboard.type("# reviewed in the console\n")
    fixed = original + "# reviewed in the console\n"
    expect(page.locator("#status")).to_contain_text("✓ Valid")
    expect(page.locator("#problems li")).to_have_count(0)
    page.click("#save")
    expect(page.locator("#save-result .alert.ok")).to_contain_text(f"Saved {CARD} as version")
    with httpx.Client(headers={"Authorization": f"Bearer {console.seeded.admin_key}"}) as client:
        versions = client.get(console.url(f"/v1/flows/{CARD}/versions")).json()["items"]
        latest = client.get(console.url(f"/v1/flows/{CARD}/versions/{versions[0]['version']}")).json()
    assert latest["yaml"] == fixed and latest["version"] == 2
    expect(page.locator("#version option:checked")).to_have_text(f"v{latest['version']} (latest)")


def test_flow_tests_run_in_the_browser(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto(console.url(f"/console/flows/{CARD}?version=1"))
    expect(page.locator("#tests-source")).to_have_text(f"Shipped tests: flows/tests/{CARD}.yaml")
    page.click("#run-tests")
    expect(page.locator("#tests-summary")).to_have_text("17 passed, 0 failed")
    expect(page.locator(".case.pass").first).to_contain_text("interested callee asks two FAQs")
    # A broken expectation shows as a failing case with its reason.
    tests = page.locator("#tests-yaml").input_value()
    page.locator("#tests-details summary").click()
    page.locator("#tests-yaml").evaluate(
        "(t, text) => { t.value = text; }",
        tests.replace(
            "end: {grade: A, outcome: transferred, tags:", "end: {grade: B, outcome: transferred, tags:", 1
        ),
    )
    page.click("#run-tests")
    expect(page.locator("#tests-summary")).to_have_text("16 passed, 1 failed")
    expect(page.locator(".case.fail pre").first).to_contain_text("expected grade B, got A")


def test_answer_table_shows_nodes_by_intents(admin_page: Page, console: Console, shots) -> None:
    page = admin_page
    page.goto(console.url(f"/console/flows/{CARD}/table?version=1"))
    greeting = page.locator('tr[data-node="greeting"]')
    expect(greeting.locator('td[data-intent="affirm"]')).to_contain_text("→ offer")
    expect(greeting.locator('td[data-intent="deny"]')).to_contain_text("不好意思，打扰您了。")
    expect(greeting.locator('td[data-intent="deny"]')).to_contain_text("→ goodbye_plain")
    glob = page.locator("tr.global")
    expect(glob.locator('td[data-intent="do_not_call"]')).to_contain_text("DNC")
    expect(glob.locator('td[data-intent="ask_identity"]')).to_contain_text("→ return")
    expect(page.locator('tr[data-node="offer"] td.inherit').first).to_have_text("↳ global")
    expect(page.locator("#answers thead th").nth(1)).to_have_text("affirm")
    shoot(page, shots, "answer_table")


def test_new_flow_from_the_template_and_markup_in_yaml_stays_text(admin_page: Page, console: Console) -> None:
    page = admin_page
    page.goto(console.url("/console/flows/_new"))
    expect(page.locator("#status")).to_have_text("✓ Valid — flow my_flow")
    template = page.locator("#yaml").input_value()
    hostile = template + "\"<img src=x onerror='window.pwned=1'>\": 1\n"
    page.locator("#yaml").evaluate(
        "(t, text) => { t.value = text; t.dispatchEvent(new Event('input')); }", hostile
    )
    expect(page.locator("#problems li.error")).to_contain_text("unknown field '<img src=x onerror=")
    assert page.evaluate("window.pwned") is None
    page.locator("#yaml").evaluate(
        "(t, text) => { t.value = text; t.dispatchEvent(new Event('input')); }", template
    )
    expect(page.locator("#save")).to_be_enabled()
    page.click("#save")
    expect(page.locator("#save-result .alert.ok")).to_have_text("Saved my_flow as version 1.")
    expect(page).to_have_url(console.url("/console/flows/my_flow?version=1"))
    expect(page.locator("#to-table")).to_be_visible()
