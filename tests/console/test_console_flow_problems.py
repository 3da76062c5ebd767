"""The flow editor words each flow problem in the console's language (its registry code and params),
at the problem's line: Chinese by default, the validator's English when the operator chose English."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.console.conftest import Console

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

#: Line 11 of the editor's new-flow template: the affirm cell of greeting.
UNKNOWN_NEXT = ("affirm: {reply: 好的。, next: bye}", "affirm: {reply: 好的。, next: byee}")
#: After line 15 (`then: hangup` of bye): a fetch without its required on_success, on line 16.
MISSING_FIELD = (
    "    then: hangup\n",
    "    then: hangup\n    fetch: {url: 'https://x.example/a', map: {a: b}, on_timeout: hangup, on_error: hangup}\n",
)
ALLOWED = "hangup, transfer, stay, repeat, return"
HOSTILE = "<img src=x onerror='window.pwned=1'>"


def _type(page: Page, text: str) -> None:
    page.locator("#yaml").evaluate(
        "(t, text) => { t.value = text; t.dispatchEvent(new Event('input')); }", text
    )


def _template(page: Page, console: Console) -> str:
    page.goto(console.url("/console/flows/_new"))
    expect(page.locator("#status.ok")).to_be_visible()
    return page.locator("#yaml").input_value()


def test_the_editor_words_flow_problems_in_chinese_at_their_line(
    chinese_page: Page, console: Console
) -> None:
    page = chinese_page
    template = _template(page, console)
    _type(page, template.replace(*UNKNOWN_NEXT))
    problems = page.locator("#problems li.error")
    expect(problems).to_have_count(1)
    expect(problems.first).to_have_text(f"flow.yaml:11:28: 下一步“byee”既不是节点，也不是 {ALLOWED} 之一")
    expect(page.locator("#gutter div.error")).to_have_text(["● 11"])
    expect(page.locator('#backdrop div.error[data-line="11"] .msg')).to_contain_text("下一步“byee”既不是节点")

    _type(page, template.replace(*MISSING_FIELD))
    expect(problems).to_have_count(1)
    expect(problems.first).to_have_text("flow.yaml:16:5: nodes.bye.fetch：缺少必填字段“on_success”")
    expect(page.locator("#gutter div.error")).to_have_text(["● 16"])
    expect(page.locator('#backdrop div.error[data-line="16"] .msg')).to_contain_text(
        "缺少必填字段“on_success”"
    )
    assert not re.search(r"missing required|is not a node", page.locator("#problems").inner_text())

    # A param is text, never markup: an unknown field named like an HTML tag stays visible as written.
    _type(page, template + f'"{HOSTILE}": 1\n')
    expect(problems.first).to_contain_text(f"未知字段“{HOSTILE}”")
    assert page.evaluate("window.pwned") is None


def test_the_editor_keeps_the_english_in_english(admin_page: Page, console: Console) -> None:
    page = admin_page
    template = _template(page, console)
    _type(page, template.replace(*UNKNOWN_NEXT))
    problems = page.locator("#problems li.error")
    expect(problems).to_have_text([f"flow.yaml:11:28: next step 'byee' is not a node nor one of {ALLOWED}"])
    _type(page, template.replace(*MISSING_FIELD))
    expect(problems).to_have_text(["flow.yaml:16:5: nodes.bye.fetch: missing required field 'on_success'"])
    expect(page.locator('#backdrop div.error[data-line="16"] .msg')).to_contain_text(
        "missing required field 'on_success'"
    )


def test_an_unknown_code_falls_back_to_the_servers_english(chinese_page: Page, console: Console) -> None:
    """A newer server's code this console's catalogue lacks: the English message, not a raw key."""
    page = chinese_page
    _template(page, console)
    worded = page.evaluate(
        """async () => {
          const m = await import("/console/static/js/flow_problems.js");
          return m.problemLine({file: "f.yaml", line: 2, col: 3, severity: "warning",
                                code: "brand_new", params: {}, message: "something new"});
        }"""
    )
    assert worded == "f.yaml:2:3: 警告：something new"


def test_validate_and_upload_answers_carry_code_and_params_beside_the_english(console: Console) -> None:
    headers = {"Authorization": f"Bearer {console.seeded.admin_key}"}
    with httpx.Client(base_url=console.base_url, headers=headers, timeout=30) as admin:
        flow = "flow: {id: x}\n"
        validated = admin.post("/console/api/flows/validate", json={"yaml": flow, "filename": "bad.yaml"})
        problem = validated.json()["problems"][0]
        assert problem["code"] == "schema.missing"
        assert problem["params"] == {"field": "flow.name", "parent": "flow", "name": "name"}
        assert problem["message"] == "flow: missing required field 'name'"
        assert problem["text"] == "bad.yaml:1:1: flow: missing required field 'name'"
        uploaded = admin.post("/v1/flows", files={"file": ("bad.yaml", flow.encode(), "text/yaml")})
        assert uploaded.status_code == 422 and uploaded.json()["code"] == "flow_has_errors"
        detail = uploaded.json()["detail"]
        assert detail["problems"][0] == "bad.yaml:1:1: flow: missing required field 'name'"  # as before
        item = detail["problem_items"][0]
        assert (item["file"], item["line"], item["col"], item["code"]) == ("bad.yaml", 1, 1, "schema.missing")
        assert item["params"]["name"] == "name" and item["message"] == "flow: missing required field 'name'"


def test_a_rejected_upload_lists_its_problems_in_chinese(chinese_page: Page, console: Console) -> None:
    page = chinese_page
    page.goto(console.url("/console/flows"))
    page.set_input_files(
        "#upload", {"name": "bad.yaml", "mimeType": "text/yaml", "buffer": b"flow: {id: x}\n"}
    )
    listed = page.locator("#upload-result .alert.error pre")
    expect(listed).to_contain_text("bad.yaml:1:1: flow：缺少必填字段“name”")
    expect(listed).to_contain_text("bad.yaml:1:1: flow：缺少必填字段“language”")
    expect(listed).to_contain_text("bad.yaml:1:1: （顶层）：缺少必填字段“nodes”")  # the file's top level
    expect(page.locator("#upload-result .alert.error")).not_to_contain_text("missing required")
