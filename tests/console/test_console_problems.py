"""Sentences the server writes (404, 409, a validator's 422) shown in the page's language, in Chromium."""

from __future__ import annotations

import pytest

from tests.console.conftest import Console
from waihu.service.models import Campaign

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

#: Call the API through the console's own api() and word the error as the pages do.
_CALL = """async ([path, method, body]) => {
  const common = await import("/console/static/js/common.js");
  try {
    await common.api(path, { method, body });
    return "no error";
  } catch (error) {
    return common.describe(error);
  }
}"""
#: Show a made-up answer whose param holds markup, as a page shows an error.
_SHOW = """async () => {
  const common = await import("/console/static/js/common.js");
  const box = document.createElement("div");
  box.id = "planted";
  document.body.append(box);
  common.showError(box, new common.ApiError(404, "x", "flow_not_found", { flow: "<b>bold</b>" }));
  return box.querySelectorAll("b").length;
}"""
#: A campaign whose quiet dates contradict each other (a validator of the request model refuses it).
_BAD_DATES = {
    "name": "x",
    "flow_id": "credit_card_installment",
    "windows": [{"weekdays": [1], "start": "09:00", "end": "18:00"}],
    "not_before": "2026-12-02T00:00:00Z",
    "not_after": "2026-12-01T00:00:00Z",
}
EXPECTED = {
    "zh-CN": {
        "404": "找不到活动 424242（HTTP 404）",
        "409": "活动 {cid} 当前状态为 {state}，未处于暂停（HTTP 409）",
        "422": "not_before 不能晚于 not_after",
        "unknown": "flow 'x' is new（HTTP 404）",
        "row": "第 1 行 phone：不是有效的电话号码（不带 + 的号码按地区 CN 解析）",
    },
    "en": {
        "404": "campaign 424242 not found (HTTP 404)",
        "409": "campaign {cid} is {state}, not paused (HTTP 409)",
        "422": "not_before must not be after not_after",
        "unknown": "flow 'x' is new (HTTP 404)",
        "row": "row 1 phone: not a valid phone number (region CN for numbers without +)",
    },
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_server_sentences_in_the_pages_language(
    lang: str, chinese_page: Page, admin_page: Page, console: Console
) -> None:
    page = chinese_page if lang == "zh-CN" else admin_page
    expected = EXPECTED[lang]
    # A page that opens a campaign that does not exist shows the 404 in the page's language.
    page.goto(console.url("/console/campaigns/424242"))
    expect(page.locator("#page-error .alert.error")).to_contain_text(expected["404"])
    # A 409 (resume a campaign that is not paused) and a validator's 422, through the pages' api().
    cid = console.seeded.campaign_id
    with console.factory() as session:
        campaign = session.get(Campaign, cid)
        assert campaign is not None and campaign.state != "paused"
        state = campaign.state
    resumed = page.evaluate(_CALL, [f"/v1/campaigns/{cid}/resume", "POST", None])
    assert resumed == expected["409"].format(cid=cid, state=state)
    assert page.evaluate(_CALL, ["/v1/campaigns", "POST", _BAD_DATES]).endswith(expected["422"])
    # A code this console does not know (a newer server): the server's own sentence.
    unknown = """async () => {
      const common = await import("/console/static/js/common.js");
      return common.describe(new common.ApiError(404, "flow 'x' is new", "flow_is_new", { flow: "x" }));
    }"""
    assert page.evaluate(unknown) == expected["unknown"]
    # An import's row error (a 200 answer) is worded by its code too.
    page.goto(console.url(f"/console/campaigns/{cid}"))
    page.fill("#csv", "reference_id,phone\nbad-row,123\n")
    page.click("#import")
    expect(page.locator("#import-result")).to_contain_text(expected["row"])
    # Params are data, never markup.
    assert page.evaluate(_SHOW) == 0
    expect(page.locator("#planted")).to_contain_text("<b>bold</b>")
