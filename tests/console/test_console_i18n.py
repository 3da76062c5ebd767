"""The console in Chinese (the default) and English, in Chromium: the main pages in both languages."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from tests.console.conftest import Console
from waihu.console import i18n
from waihu.service.models import Attempt

pytest.importorskip("playwright.sync_api", reason="pip install playwright; apt-get install chromium")
from playwright.sync_api import Page, expect

#: A catalogue key left on a page: namespace.word (the t() of a missing message shows its key).
_NAMESPACES = "|".join(sorted({key.split(".")[0] for key in i18n.catalogue("en")}))
RAW_KEY = re.compile(rf"\b(?:{_NAMESPACES})\.[a-z_]+\b")
#: The page, an element, and a text of it in each language (proof the page speaks that language).
PAGES = [
    ("/console/flows", "#flows-table thead", {"zh-CN": "上传时间", "en": "Uploaded"}),
    ("/console/campaigns", "#create-form", {"zh-CN": "新建活动", "en": "New campaign"}),
    ("/console/campaigns/{campaign}", "#progress-text", {"zh-CN": "个联系人", "en": "contacts done"}),
    ("/console/screen", "#foot", {"zh-CN": "最近", "en": "latest"}),
    ("/console/dnc", "#add-form", {"zh-CN": "拦截号码", "en": "Block a number"}),
    ("/console/seats", "#seat-form", {"zh-CN": "登记坐席", "en": "Register a seat"}),
    ("/console/keys", "#key-form", {"zh-CN": "创建密钥", "en": "Create a key"}),
    ("/console/simulator", "#start", {"zh-CN": "开始通话", "en": "Start call"}),
    ("/console/kb", "#ask-form", {"zh-CN": "匹配", "en": "Match"}),
    ("/console/calls/{attempt}", "#regrade", {"zh-CN": "保存等级", "en": "Save grade"}),
    ("/console/flows/{flow}?version=1", "#tests-source", {"zh-CN": "随附测试：", "en": "Shipped tests: "}),
    (
        "/console/flows/{flow}/table?version=1",
        "#answers thead",
        {"zh-CN": "节点 \\ 意图", "en": "node \\ intent"},
    ),
    (
        "/console/campaigns/{campaign}/ab",
        "#variants-table",
        {"zh-CN": "未设置 AB 分流", "en": "no A/B variants"},
    ),
    ("/console/audit", "#audit-table thead", {"zh-CN": "操作者", "en": "Actor"}),
    ("/console/inbox", "#groups", {"zh-CN": "代表语句", "en": "Utterance"}),
]
FLOW = "credit_card_installment"
NAV_FLOWS = {"zh-CN": "流程", "en": "Flows"}


def walk(page: Page, console: Console, lang: str) -> None:
    """Open each main page; check <html lang>, a translated text, the header, and no raw key."""
    warnings: list[str] = []
    page.on(
        "console", lambda message: warnings.append(message.text) if "missing in" in message.text else None
    )
    for path, selector, texts in PAGES:
        seeded = console.seeded
        page.goto(
            console.url(path.format(campaign=seeded.campaign_id, attempt=seeded.answered_attempt, flow=FLOW))
        )
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator(selector)).to_contain_text(texts[lang])
        if path != "/console/screen":  # the big screen's header has no navigation
            expect(page.locator('header nav a[href="/console/flows"]')).to_have_text(NAV_FLOWS[lang])
        expect(page.locator(f'#lang-switch a[data-lang="{lang}"]')).to_have_class("active")
        body = page.locator("body").inner_text()
        # Code and data (YAML, audit action codes such as dnc.add, JSON) may look like keys.
        data = "\n".join(page.locator("code, pre, #backdrop").all_inner_texts())
        raw = set(RAW_KEY.findall(body)) - set(RAW_KEY.findall(data))
        assert not raw, f"{path}: untranslated keys {raw}"
    assert not warnings, warnings


def test_main_pages_in_chinese(chinese_page: Page, console: Console) -> None:
    walk(chinese_page, console, "zh-CN")


def test_main_pages_in_english(admin_page: Page, console: Console) -> None:
    walk(admin_page, console, "en")


def test_switch_language_in_the_header_and_keep_it(chinese_page: Page, console: Console) -> None:
    page = chinese_page
    page.goto(console.url("/console/campaigns"))
    expect(page.locator("h1")).to_have_text("外呼活动")
    page.locator('#lang-switch a[data-lang="en"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Campaigns")
    page.goto(console.url("/console/flows"))  # no ?lang=: the cookie remembers English
    expect(page.locator("#new-flow")).to_have_text("+ New flow")
    page.goto(console.url("/console/flows?lang=zh-CN"))
    expect(page.locator("#new-flow")).to_have_text("+ 新建流程")


def test_login_page_in_both_languages(anonymous_page: Page, console: Console) -> None:
    page = anonymous_page
    page.goto(console.url("/console/login?lang=zh-CN"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#login-button")).to_have_text("登录")
    page.fill("#key", "whk_nobody.wrong")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_contain_text("该密钥无效")
    page.locator('#lang-switch a[data-lang="en"]').click()
    expect(page.locator("#login-button")).to_have_text("Log in")
    expect(page.locator(".login code").first).to_have_text("whk_…")  # the catalogue's markup renders


def test_call_times_are_in_the_campaigns_time_zone(chinese_page: Page, console: Console) -> None:
    seeded = console.seeded
    with console.factory() as session:
        attempt = session.get(Attempt, seeded.answered_attempt)
        assert attempt is not None and attempt.end_at is not None
        ended = attempt.end_at.astimezone(ZoneInfo("Asia/Shanghai"))  # the seeded campaign's zone
    page = chinese_page
    page.goto(console.url(f"/console/calls/{seeded.answered_attempt}"))
    expect(page.locator('#sip dd[data-key="Ended"]')).to_contain_text(ended.strftime("%H:%M:%S"))
    expect(page.locator("#sip dt").first).to_have_text("SIP 状态码")


#: A 422 answer as the API sends it (FastAPI's validation problems: loc, type, msg, ctx).
_PROBLEMS = [
    {
        "loc": ["body", "uri"],
        "type": "string_too_short",
        "msg": "String should have at least 5 characters",
        "ctx": {"min_length": 5},
    },
    {"loc": ["body", "skill_group"], "type": "missing", "msg": "Field required"},
    {
        "loc": ["query", "limit"],
        "type": "less_than_equal",
        "msg": "Input should be less than or equal to 500",
        "ctx": {"le": 500},
    },
    {"loc": ["body", "note"], "type": "some_new_type", "msg": "Something else"},
]
_DESCRIBE = """async (problems) => {
  const common = await import("/console/static/js/common.js");
  return common.describe(new common.ApiError(422, problems));
}"""


def test_validation_errors_are_worded_in_the_pages_language(
    chinese_page: Page, admin_page: Page, console: Console
) -> None:
    for page, expected in (
        (chinese_page, ["uri：至少 5 个字符", "skill_group：为必填项", "query.limit：须不大于 500"]),
        (
            admin_page,
            [
                "uri: must be at least 5 characters",
                "skill_group: is required",
                "query.limit: must be at most 500",
            ],
        ),
    ):
        page.goto(f"{console.base_url}/console/seats")
        lines = page.evaluate(_DESCRIBE, _PROBLEMS).split("\n")
        assert lines[:3] == expected
        assert lines[3].endswith("Something else")  # a type the console does not know: the server's text
