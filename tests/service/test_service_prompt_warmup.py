"""Fixed prompts synthesised when a flow version is uploaded: after the request, counted per version."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dialog.loader import load_flow_text
from tests.conftest import MINIMAL_FLOW
from tests.fakes import ToneSynthesizer
from tests.service.helpers import Server
from tts.kokoro import split_clauses
from waihu.service.prompt_warmup import PromptWarmer
from waihu.voice.speech_output import fixed_texts

YAML = {"content-type": "application/yaml"}


class CountingSynthesizer(ToneSynthesizer):
    """The tone voice, counting what it is asked to say."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[str] = []

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Any:
        self.said.append(text)
        return super().synthesize(text, language=language, rate=rate)


@pytest.fixture
def warmer(server: Server, tmp_path: Path) -> Iterator[tuple[PromptWarmer, CountingSynthesizer]]:
    """The service's warm-up thread with the tone voice and a fresh prompt cache."""
    voice = CountingSynthesizer()
    warm = PromptWarmer(server.app.state.service.factory, lambda: voice, tmp_path / "prompts", interval_s=0.2)
    warm.start()
    server.app.state.prompt_warmer = warm
    yield warm, voice
    server.app.state.prompt_warmer = None
    warm.stop()


def _warmup(client: Any, version: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        warmup = client.get(f"/v1/flows/mini/versions/{version}").json()["warmup"]
        if warmup["state"] in ("done", "failed") or time.monotonic() > deadline:
            return warmup
        time.sleep(0.1)


def _spoken(text: str) -> list[str]:
    """What warming the flow asks the voice for, in order (as SpeechOutput splits prompts)."""
    flow = load_flow_text(text).flow
    assert flow is not None
    said = []
    for prompt in fixed_texts(flow):
        clauses = split_clauses(prompt)
        said += [prompt] if len(clauses) <= 1 else [clause.text for clause in clauses]
    return said


def test_upload_queues_the_warm_up_and_reports_the_clauses(server: Server, warmer: Any) -> None:
    _warm, voice = warmer
    changed = MINIMAL_FLOW.replace("免费的。", "免费的，不收您任何费用。")
    before, after = _spoken(MINIMAL_FLOW), _spoken(changed)
    with server.client() as client:
        first = client.post("/v1/flows", content=MINIMAL_FLOW, headers=YAML)
        assert first.status_code == 201, first.text
        assert first.json()["warmup"]["state"] in ("pending", "running", "done")  # queued, not in the request
        done = _warmup(client, first.json()["version"])
        distinct = set(before)
        assert done == {
            "state": "done",
            "synthesised": len(distinct),
            "cached": len(before) - len(distinct),
            "error": None,
        }
        assert sorted(voice.said) == sorted(distinct)
        # A new version sharing the prompts finds them in the cache: only its new clauses are spoken.
        second = client.post("/v1/flows", content=changed, headers=YAML)
        assert second.status_code == 201, second.text
        done = _warmup(client, second.json()["version"])
        new = set(after) - distinct
        assert new and done == {
            "state": "done",
            "synthesised": len(new),
            "cached": len(after) - len(new),
            "error": None,
        }
        assert sorted(voice.said) == sorted(distinct | new)
