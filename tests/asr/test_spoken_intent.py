"""Whisper n-best and spoken intent (customer audio → ASR n-best → NLU) on the project's own clips.

The clip library is synthesised here when missing (cached by fingerprint under the data directory);
these tests never read another library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asr.whisper_backend import WhisperConfig, WhisperRecognizer, assemble_whisper_base
from dialog.loader import load_flow
from nlu.factory import build_classifier
from nlu.intent_space import candidates
from nlu.nbest import classify_nbest
from tests.asr.conftest import read_pcm
from tests.conftest import FLOWS
from waihu.voice.loop import vocabulary_hint

pytestmark = pytest.mark.models

#: Every third clip of the 65 (22 clips, 15 of the 16 intents).
SUBSET = slice(0, None, 3)
# Measured on SUBSET with the hint on, as calls run: the pipeline before n-best and phonetic repair
# (greedy, first transcript, no repair) gets 17/22 (0.77); n-best 5 + repair gets 20/22 (0.91).
# The bound (18/22) fails the former and leaves two clips for int8 differences between machines.
SPOKEN_INTENT_BOUND = 0.80


@pytest.fixture(scope="session")
def own_clips() -> list[tuple[str, str, bytes, int]]:
    """(intent, text, pcm, rate) of the project's own Kokoro customer clips (built when missing)."""
    from waihu.voice.customer_audio import customer_library

    library = customer_library()  # ensure_clip_library into the data directory, cached
    clips = []
    for line in (library / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            file, intent, text, *_ = line.split("\t")
            pcm, rate = read_pcm(library / file)
            clips.append((intent, text, pcm, rate))
    assert len(clips) == 65
    return clips


@pytest.fixture(scope="session")
def nbest_zh(models_dir: Path) -> WhisperRecognizer:
    config = WhisperConfig(
        model_dir=assemble_whisper_base(models_dir), language="zh", cpu_threads=2, num_hypotheses=5
    )
    return WhisperRecognizer(config)


@pytest.fixture(scope="module")
def flow():
    return load_flow(FLOWS / "credit_card_installment.yaml")


def test_nbest_gives_distinct_ranked_hypotheses(nbest_zh: WhisperRecognizer, own_clips) -> None:
    _intent, _text, pcm, rate = next(clip for clip in own_clips if clip[1] == "有几种期数")
    transcript = nbest_zh.transcribe(pcm, rate)
    texts = [hypothesis for hypothesis, _score in transcript.alternatives]
    scores = [score for _hypothesis, score in transcript.alternatives]
    assert len(set(texts)) == len(texts) >= 2
    assert texts[0] == transcript.text
    assert scores == sorted(scores, reverse=True)
    assert all(score < 0 for score in scores)  # log-probabilities per token
    assert transcript.confidence is not None and 0 < transcript.confidence <= 1


def test_greedy_has_no_alternatives(models_dir: Path, own_clips) -> None:
    greedy = WhisperRecognizer(
        WhisperConfig(model_dir=assemble_whisper_base(models_dir), language="zh", cpu_threads=2)
    )
    _intent, _text, pcm, rate = own_clips[0]
    assert greedy.transcribe(pcm, rate).alternatives == ()


def test_spoken_intent_with_nbest_and_repair(nbest_zh: WhisperRecognizer, own_clips, flow) -> None:
    classifier = build_classifier(flow)
    allowed = candidates(flow)
    hint = vocabulary_hint(flow, None)
    subset = own_clips[SUBSET]
    wrong = []
    for intent, text, pcm, rate in subset:
        transcript = nbest_zh.transcribe(pcm, rate, initial_prompt=hint)
        result = classify_nbest(classifier, transcript.text, transcript.alternatives, allowed)
        if result.intent != intent:
            wrong.append((text, transcript.text, result.intent))
    accuracy = 1 - len(wrong) / len(subset)
    assert accuracy >= SPOKEN_INTENT_BOUND, wrong
