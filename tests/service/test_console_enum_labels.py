"""The console words the API's enum values (states, outcomes, roles …) in the page's language.

Every value of the vocabularies the console shows has an ``enum.<kind>.<value>`` message in both
catalogues, taken from the code itself: a new state or outcome without a translation fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from dialog.state import ConversationEnd, Turn
from waihu.console import i18n
from waihu.console.stats import FUNNEL_STAGES, LATENCY_BASES
from waihu.service import outcomes

CONSOLE = Path(i18n.__file__).parent
#: label("kind", …) in the JS, t("enum.kind." ~ value) in the templates.
USED_KINDS = re.compile(r"""\blabel\(\s*["'](\w+)["']|\bt\(\s*["']enum\.(\w+)\.["']\s*~""")

#: What each label kind words, straight from the code's vocabularies.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "campaign_state": get_args(outcomes.CampaignState),
    # A result's outcome, a contact's final outcome (dashboard mix) and the retry policy's keys.
    "outcome": (
        *get_args(outcomes.AttemptOutcome),
        outcomes.DNC_BLOCKED,
        outcomes.CANCELLED,
        outcomes.EXPIRED,
        outcomes.FREQUENCY_CAPPED,
        *(value for arg in get_args(outcomes.RetryKey) for value in get_args(arg) or (arg,)),
    ),
    "hangup_by": get_args(outcomes.AttemptHangupBy),
    "role": get_args(outcomes.Role),
    "conversation_end": get_args(ConversationEnd),
    "turn_source": get_args(Turn.model_fields["source"].annotation),
    "funnel": FUNNEL_STAGES,
    "latency_basis": LATENCY_BASES,
    # A block-list entry's source is free text (max 32); these are the ones waihu itself writes:
    # the API's default, the console's add form, and a callee who asked during a call (scheduler).
    "dnc_source": ("api", "console", "call"),
}


def test_every_enum_value_has_a_label_in_both_languages() -> None:
    missing = [
        (language, f"enum.{kind}.{value}")
        for language in i18n.LANGUAGES
        for kind, values in VOCABULARIES.items()
        for value in values
        if f"enum.{kind}.{value}" not in i18n.catalogue(language)
    ]
    assert not missing, missing
    assert len({value for values in VOCABULARIES.values() for value in values}) > 40


def test_the_chinese_labels_are_chinese_and_differ_from_the_raw_value() -> None:
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    for kind, values in VOCABULARIES.items():
        for value in values:
            key = f"enum.{kind}.{value}"
            assert re.search(r"[\u4e00-\u9fff]", zh[key]), key
            assert en[key] != value, f"{key}: the English label is the raw value"


def test_no_stale_labels_and_every_kind_the_pages_use_is_checked() -> None:
    expected = {f"enum.{kind}.{value}" for kind, values in VOCABULARIES.items() for value in values}
    present = {key for key in i18n.catalogue("zh-CN") if key.startswith("enum.")}
    assert present == expected, present ^ expected
    used: set[str] = set()
    for path in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("static/js/*.js")]:
        used |= {js or jinja for js, jinja in USED_KINDS.findall(path.read_text(encoding="utf-8"))}
    assert used == set(VOCABULARIES), used ^ set(VOCABULARIES)


def test_the_catalogue_labels_match_what_an_operator_expects() -> None:
    zh = i18n.catalogue("zh-CN")
    assert zh["enum.campaign_state.executing"] == "执行中"
    assert zh["enum.outcome.no_answer"] == "未接听"
    assert zh["enum.outcome.invalid_number"] == "空号"
    assert i18n.catalogue("en")["enum.outcome.no_answer"] == "No answer"
