"""The inbox's grouping with the real e5 encoder: paraphrases of one answer share a group, others not."""

from __future__ import annotations

from nlu.lint import CachedEmbedder
from nlu.paths import data_dir
from waihu.service.inbox_groups import Utterance, group_utterances

SAID = ["我在开车呢", "你们是哪个营业厅", "我正在开车", "明天再说吧", "开车呢不方便", "改天再聊",
        "你说慢一点", "let me talk to a human", "put me through to a real person", "我在开车呢"]  # fmt: skip


def test_paraphrases_share_a_group_by_embedding() -> None:
    items = [Utterance(index, text) for index, text in enumerate(SAID, start=1)]
    groups = group_utterances(items, CachedEmbedder(data_dir()))
    texts = [sorted({member.text for member in group.members}) for group in groups]
    assert texts[0] == sorted(["我在开车呢", "我正在开车", "开车呢不方便"])
    assert groups[0].representative.text == "我在开车呢" and len(groups[0].members) == 4
    assert sorted(["明天再说吧", "改天再聊"]) in texts
    assert sorted(["let me talk to a human", "put me through to a real person"]) in texts
    assert ["你们是哪个营业厅"] in texts and ["你说慢一点"] in texts
