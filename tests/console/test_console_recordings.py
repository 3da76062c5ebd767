"""A bundle (flow YAML + WAV recordings) uploaded in the console; its recordings shown and playable;
the flows page and the flow editor as a Chinese operator reads them."""

from __future__ import annotations

import httpx
import pytest

from tests.console.conftest import Console, shoot
from tests.security.test_flow_bundles import FLOW, WAV, make_zip

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

FLOW_ID = "recorded_greeting"


def test_upload_a_bundle_see_and_play_its_recordings_and_keep_them_on_save(
    chinese_page: Page, console: Console, shots
) -> None:
    page = chinese_page
    page.goto(console.url("/console/flows"))
    bundle = make_zip(
        {"greeting.yaml": FLOW.replace("id: tone", f"id: {FLOW_ID}").encode(), "prompts/greeting.wav": WAV}
    )
    page.set_input_files("#upload", {"name": "greeting.zip", "mimeType": "application/zip", "buffer": bundle})
    expect(page.locator("#upload-result .alert.ok")).to_have_text(f"已上传 {FLOW_ID} v1（含 1 段录音）。")
    page.locator(f'tr[data-flow="{FLOW_ID}"] a', has_text="编辑").click()

    recording = page.locator('#recordings li[data-name="prompts/greeting.wav"]')
    expect(page.locator("#recordings-panel h2")).to_have_text("录音")
    expect(recording).to_contain_text("prompts/greeting.wav 0.5 秒")
    expect(page.locator("#tests-source")).to_have_text("该流程没有随附测试，请在下方粘贴测试用例。")
    expect(page.locator("#no-problems")).to_have_text("没有问题。")
    page.wait_for_function("document.querySelector('#recordings audio').duration > 0.4")
    duration = page.evaluate("document.querySelector('#recordings audio').duration")
    assert 0.45 < duration < 0.55, duration
    # The YAML names the recording: valid here, although a YAML alone may reference no files.
    expect(page.locator("#status")).to_have_text(f"✓ 校验通过 — 流程 {FLOW_ID}")
    shoot(page, shots, "flow_recordings")

    textarea = page.locator("#yaml")
    textarea.evaluate("(t) => { t.focus(); t.setSelectionRange(t.value.length, t.value.length); }")
    page.keyboard.type("# 已试听录音\n")
    expect(page.locator("#status")).to_contain_text("✓ 校验通过")
    page.click("#save")
    expect(page.locator("#save-result .alert.ok")).to_have_text(f"已保存 {FLOW_ID}，版本 2。")
    with httpx.Client(headers={"Authorization": f"Bearer {console.seeded.admin_key}"}) as client:
        second = client.get(console.url(f"/v1/flows/{FLOW_ID}/versions/2")).json()
    assert second["yaml"].endswith("# 已试听录音\n")
    assert [r["name"] for r in second["recordings"]] == ["prompts/greeting.wav"]
