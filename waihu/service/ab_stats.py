"""The A/B comparison of a campaign: per variant contacts, answer rate, talk time, grades, conversion,
a significance test and a plain-language verdict in English and Chinese.

Denominator of the rates: the variant's *called* contacts (at least one finished attempt). A contact
converts when its final grade is A, or — when the operator names a tag — when its tags hold that tag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from waihu.service.models import Attempt, Campaign, Contact
from waihu.service.significance import Significance, chi_squared, two_proportion_z

#: Below this many called contacts in a variant no verdict is given.
MIN_CALLED = 30
#: The significance level of the verdict.
ALPHA = 0.05
_BATCH = 5000


@dataclass
class _Tally:
    contacts: int = 0
    called: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    talk_s: float = 0.0
    talks: int = 0
    grades: Counter[str] = field(default_factory=Counter)
    converted: int = 0


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _verdict(rows: list[dict[str, Any]], test: Significance) -> tuple[str, str, str | None]:
    """(English, Chinese, winner or None)."""
    short = [row["variant"] for row in rows if row["called"] < MIN_CALLED]
    if short or not test.reliable:
        en = (
            f"Not enough data yet: every variant needs at least {MIN_CALLED} called contacts "
            "and enough conversions to compare; keep calling."
        )
        zh = (
            f"样本量不足，暂无法判断：每个版本至少需要 {MIN_CALLED} 个已拨打的联系人"
            "和足够的转化数，请继续拨打。"
        )
        return en, zh, None
    ranked = sorted(rows, key=lambda row: row["conversion_rate"], reverse=True)
    best, runner = ranked[0], ranked[1]
    p = f"{test.p_value:.3g}"
    if test.p_value < ALPHA:
        en = (
            f"Variant {best['variant']} converts best ({_percent(best['conversion_rate'])} against "
            f"{_percent(runner['conversion_rate'])} for {runner['variant']}); the difference is "
            f"statistically significant (p = {p} < {ALPHA}): the win is very unlikely to be chance."
        )
        zh = (
            f"版本 {best['variant']} 转化率最高（{_percent(best['conversion_rate'])}，"
            f"{runner['variant']} 为 {_percent(runner['conversion_rate'])}），差异显著（p = {p} < {ALPHA}），"
            "胜出基本不是偶然，可以加大该版本的权重。"
        )
        return en, zh, str(best["variant"])
    en = (
        f"No significant difference yet (p = {p} ≥ {ALPHA}): the gap may be chance; keep calling or treat "
        "the variants as equal."
    )
    zh = f"目前差异不显著（p = {p} ≥ {ALPHA}），差距可能只是偶然：请继续拨打积累样本，或视为效果相同。"
    return en, zh, None


def compare_variants(
    session: Session, campaign: Campaign, conversion_tag: str | None = None
) -> dict[str, Any]:
    """The comparison view of ``campaign``'s variants (an empty list when it runs none)."""
    names = [v["name"] for v in campaign.variants or []]
    weights = {v["name"]: v.get("weight", 0) for v in campaign.variants or []}
    tallies = {name: _Tally() for name in names}
    contacts = session.execute(
        select(Contact.variant, Contact.final_grade, Contact.tags)
        .where(Contact.campaign_id == campaign.id, Contact.variant.is_not(None))
        .execution_options(yield_per=_BATCH)
    )
    contact_rows: Iterable[tuple[str, str | None, list[Any] | None]] = cast(Any, contacts)
    for variant, grade, tags in contact_rows:
        tally = tallies.setdefault(variant, _Tally())
        tally.contacts += 1
        if grade:
            tally.grades[grade] += 1
        if (conversion_tag and conversion_tag in (tags or [])) or (not conversion_tag and grade == "A"):
            tally.converted += 1
    attempts = session.execute(
        select(Attempt.variant, Attempt.contact_id, Attempt.outcome, Attempt.answer_at, Attempt.end_at)
        .where(Attempt.campaign_id == campaign.id, Attempt.status == "finished", Attempt.variant.is_not(None))
        .execution_options(yield_per=_BATCH)
    )
    for ran, contact_id, outcome, answer_at, end_at in attempts:
        tally = tallies.setdefault(str(ran), _Tally())
        tally.called.add(contact_id)
        if outcome == "answered":
            tally.answered.add(contact_id)
            if answer_at is not None and end_at is not None:
                tally.talk_s += (end_at - answer_at).total_seconds()
                tally.talks += 1
    rows = []
    for name, tally in tallies.items():
        called = len(tally.called)
        rows.append(
            {
                "variant": name,
                "weight": weights.get(name),
                "contacts": tally.contacts,
                "called": called,
                "answered": len(tally.answered),
                "answer_rate": round(len(tally.answered) / called, 4) if called else 0.0,
                "avg_talk_s": round(tally.talk_s / tally.talks, 1) if tally.talks else 0.0,
                "grades": dict(sorted(tally.grades.items())),
                "converted": tally.converted,
                "conversion_rate": round(tally.converted / called, 4) if called else 0.0,
            }
        )
    groups = [(row["converted"], row["called"]) for row in rows]
    # Two variants: the z-test (its p equals the 2×2 chi-squared's); more: chi-squared of the k×2 table.
    test = two_proportion_z(*groups[0], *groups[1]) if len(rows) == 2 else chi_squared(groups)
    verdict, verdict_zh, winner = _verdict(rows, test) if len(rows) >= 2 else ("", "", None)
    return {
        "campaign_id": campaign.id,
        "conversion": {"tag": conversion_tag} if conversion_tag else {"grade": "A"},
        "variants": rows,
        "test": {
            "name": test.name,
            "statistic": round(test.statistic, 4),
            "df": test.df,
            "p_value": test.p_value,
            "reliable": test.reliable,
            "alpha": ALPHA,
        },
        "winner": winner,
        "verdict": verdict,
        "verdict_zh": verdict_zh,
    }
