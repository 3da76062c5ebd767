"""Training-data augmentation at flow load, measured: does it lift blind accuracy without losing OOD?

Each example (and KB question) of a flow gets variants as callees really say them — a leading filler
or hedge and a trailing particle in Mandarin (那个…, 我觉得…, …吧, …呢), a hedge or a tail in English
(well …, … i guess, … then) — and the e5 model learns from the examples plus their variants (the rules
keep the examples as written). Prints the blind/dev per-node accuracy and the OOD rejection of
``bench/nlu_blind.py`` for the augmented classifier; compare with that script's output (no variants).

Usage: WAIHU_DATA_DIR=var .venv/bin/python bench/nlu_augment.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nlu.factory  # noqa: E402
from bench import nlu_blind  # noqa: E402
from dialog.schema import Flow  # noqa: E402
from nlu.normalize import is_cjk  # noqa: E402

_ZH_PREFIXES = ("那个", "我觉得")
_ZH_SUFFIXES = ("吧", "呢")
_EN_PREFIXES = ("well", "i think")
_EN_SUFFIXES = ("i guess", "then")
_ENDINGS = "吧呢吗啊呀嘛啦?？"


def variants(text: str) -> list[str]:
    """The example and its filler/particle variants (questions keep their ending)."""
    text = text.strip()
    if not text:
        return []
    out = [text]
    if any(is_cjk(char) for char in text):
        out += [f"{prefix} {text}" for prefix in _ZH_PREFIXES]
        if text[-1] not in _ENDINGS:
            out += [text + suffix for suffix in _ZH_SUFFIXES]
    else:
        out += [f"{prefix} {text}" for prefix in _EN_PREFIXES]
        if not text.endswith("?"):
            out += [f"{text} {suffix}" for suffix in _EN_SUFFIXES]
    return out


_plain = nlu.factory.flow_examples


def augmented_examples(flow: Flow) -> dict[str, list[str]]:
    """:func:`nlu.factory.flow_examples` with every example's variants (keywords stay as they are)."""
    plain = _plain(flow)
    out: dict[str, list[str]] = {}
    for name, texts in plain.items():
        grown = [variant for text in texts for variant in (variants(text) if len(text) > 2 else [text])]
        out[name] = list(dict.fromkeys(grown))
    return out


if __name__ == "__main__":
    nlu.factory.flow_examples = augmented_examples  # the model learns from the augmented set
    nlu_blind.main()
