"""The console's message catalogue: both languages complete, every used key present, language choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.service.helpers import Server
from waihu.console import i18n
from waihu.console.pages import NAV

CONSOLE = Path(i18n.__file__).parent
#: t("key") / t('key') / t(`key`) with a literal key, in templates and JS.
USED = re.compile(r"""\bt\(\s*["'`]([a-z_]+(?:\.[a-z0-9_]+)+)["'`]""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_key_exists_in_both_languages_with_the_same_placeholders() -> None:
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    assert sorted(zh) == sorted(en), set(zh) ^ set(en)
    for key in zh:
        assert zh[key].strip() and en[key].strip(), f"{key} is empty"
        assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_every_key_the_pages_use_is_in_the_catalogue() -> None:
    used: dict[str, str] = {}
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("static/js/*.js")]:
        for key in USED.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, path.name)
    # Keys built at run time: the navigation, and the dashboard's counters.
    used |= {f"nav.{name}": "base.html" for name, _roles in NAV}
    # Every page's title (pages.py names the page; the catalogue words it).
    pages = re.findall(r'_page\(request, "(\w+)"', (CONSOLE / "pages.py").read_text(encoding="utf-8"))
    used |= {f"title.{page}": "pages.py" for page in pages}
    stats = ("contacts", "pending", "dialling", "in_call", "done", "lines_in_use", "attempts")
    used |= {f"dashboard.stat_{name}": "dashboard.js" for name in stats}
    fields = (
        "contact",
        "phone",
        "flow",
        "attempt",
        "outcome",
        "grade",
        "tags",
        "kb_hits",
        "rounds",
        "duration",
    )
    fields += (
        "sip_code",
        "sip_reason",
        "caller_number",
        "hung_up_by",
        "hang_up_reason",
        "started",
        "ringing",
    )
    used |= {f"call.f_{name}": "call.js" for name in (*fields, "answered", "ended", "ring_time", "time_zone")}
    # Validation problems are worded by their Pydantic type (common.js VALIDATION_TYPES).
    common = (CONSOLE / "static/js/common.js").read_text(encoding="utf-8")
    listed = re.search(r"const VALIDATION_TYPES = \[(.*?)\];", common, re.S)
    assert listed is not None
    used |= {f"err.{name}": "common.js" for name in re.findall(r'"(\w+)"', listed.group(1))}
    missing = {key: where for key, where in used.items() if key not in i18n.catalogue("zh-CN")}
    assert not missing, missing
    assert len(used) > 100


#: Chinese characters and full-width punctuation.
HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: What is not a message: template tags, JS comments, the new-flow YAML (example data).
NOT_MESSAGES = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|^\s*//[^\n]*|\s//\s[^\n]*|/\*.*?\*/|const TEMPLATE = `.*?`;", re.M | re.S
)
#: Example data shown as is in both languages (a CSV sample row).
EXAMPLES = {"dashboard.html": ["张先生"]}


def test_no_chinese_text_is_hard_coded_in_the_pages() -> None:
    """Every Chinese word on a page comes from the catalogue, so the English console shows none."""
    found: dict[str, list[str]] = {}
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("static/js/*.js")]:
        text = NOT_MESSAGES.sub("", path.read_text(encoding="utf-8"))
        for example in EXAMPLES.get(path.name, []):
            text = text.replace(example, "")
        lines = [line.strip() for line in text.splitlines() if HAN.search(line)]
        if lines:
            found[path.name] = lines
    assert not found, found


@pytest.mark.parametrize(
    ("given", "expected"),
    [("en", "en"), ("EN-us", "en"), ("zh", "zh-CN"), ("zh-CN", "zh-CN"), ("fr", None), ("", None)],
)
def test_language_names(given: str, expected: str | None) -> None:
    assert i18n.normalise(given) == expected


def test_missing_key_shows_the_key_and_placeholders_fill() -> None:
    assert i18n.translate("en", "no.such_key") == "no.such_key"
    assert i18n.translate("en", "no.such_key", "fallback") == "fallback"
    assert i18n.translate("zh-CN", "title.dashboard", campaign_id=7) == "活动 7"
    with pytest.raises(ValueError, match="unsupported"):
        i18n.catalogue("fr")


def test_pages_default_to_chinese_and_remember_english(server: Server) -> None:
    with server.client() as client:  # pages need no key; the cookie jar is the browser's
        page = client.get("/console/flows")
        assert '<html lang="zh-CN">' in page.text and ">流程</a>" in page.text
        assert "waihu_lang" not in page.headers.get("set-cookie", "")
        english = client.get("/console/campaigns", params={"lang": "en"})
        assert '<html lang="en">' in english.text and ">Campaigns</a>" in english.text
        assert "waihu_lang=en" in english.headers["set-cookie"]
        assert '<html lang="en">' in client.get("/console/flows").text  # remembered
        ignored = client.get("/console/flows", params={"lang": "fr"})  # unknown: the cookie's choice stays
        assert '<html lang="en">' in ignored.text
        back = client.get("/console/screen", params={"lang": "zh"})
        assert '<html lang="zh-CN">' in back.text and "大屏监控" in back.text
        assert 'href="/console/screen?lang=en"' in back.text  # the header's switch keeps the page
