"""The speech service over real HTTP: protocol, fairness, limits, and remote parts in a voice loop.

Light engines (scripted recogniser, tone voice, rule classifier) keep this fast; the real models run
behind the same API in ``make demo`` and bench/call_load.py.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from nlu.rules import RuleClassifier
from sip_peers.peers import free_udp_port
from tests.conftest import MINIMAL_FLOW
from tests.fakes import ScriptedRecognizer, ToneSynthesizer
from tts.base import Audio
from waihu.speech.client import (
    RemoteClassifier,
    RemoteRecognizer,
    RemoteSynthesizer,
    SpeechClient,
    SpeechServiceError,
)
from waihu.speech.fair_queue import FairQueue
from waihu.speech.server import SpeechEngines, create_speech_app


@contextlib.contextmanager
def serving(engines: SpeechEngines) -> Iterator[str]:
    """The speech app under uvicorn on a free loopback port; yields its base URL."""
    port = free_udp_port()
    server = uvicorn.Server(
        uvicorn.Config(create_speech_app(engines), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


def _engines(texts: list[str]) -> SpeechEngines:
    recognizer = ScriptedRecognizer(texts)
    return SpeechEngines(
        recognizer_for=lambda language: recognizer,
        synthesizer_for=ToneSynthesizer,
        classifier_for=lambda flow, kind: RuleClassifier.from_flow(flow),
    )


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """A speech service whose recogniser answers 好的 then 多少钱."""
    with serving(_engines(["好的", "多少钱"])) as base:
        yield base


def test_remote_parts_speak_the_protocol(service: str) -> None:
    client = SpeechClient(service)
    recognizer = RemoteRecognizer(client, "zh").for_call("call-1")
    transcript = recognizer.transcribe(bytes(3200), 8000, initial_prompt="手续费")
    assert transcript.text == "好的" and transcript.end_s == pytest.approx(0.2)
    classifier = RemoteClassifier(client, MINIMAL_FLOW, "rules")
    result = classifier.classify("可以", ["affirm", "deny"])
    assert result.intent == "affirm" and result.confidence > 0.5
    synthesizer = RemoteSynthesizer(client)
    assert synthesizer.version == "tone-1" and synthesizer.voice_for("zh") == "tone"
    audio = synthesizer.synthesize("你好", language="zh")
    assert audio.sample_rate == 8000 and audio.duration_s == pytest.approx(0.12)
    metrics = httpx.get(f"{service}/metrics").text
    assert 'waihu_speech_requests_total{kind="asr",status="ok"}' in metrics


def test_the_n_best_crosses_the_service() -> None:
    """Whisper's n-best reaches the worker, and one classify request weighs it on the service."""
    n_best = [("不要改", -0.2), ("不要", -0.3), ("不要改", -0.5)]
    with serving(_engines([n_best])) as base:
        client = SpeechClient(base)
        transcript = RemoteRecognizer(client, "zh").transcribe(bytes(3200), 8000)
        assert transcript.text == "不要改" and transcript.alternatives == tuple(n_best)
        classifier = RemoteClassifier(client, MINIMAL_FLOW, "rules")
        alone = classifier.classify("嗯那个", ["affirm", "deny"])
        assert alone.intent == "no_match"
        # the first reading has no intent; the second, close behind in ASR score, decides
        result = classifier.classify_nbest("嗯那个", [("嗯那个", -0.1), ("不用了", -0.2)], ["affirm", "deny"])
        assert result.intent == "deny"
        too_many = {"flow": "x", "text": "a", "hypotheses": [["a", 0.0]] * 9}
        assert httpx.post(f"{base}/v1/nlu/classify", json=too_many).status_code == 422


def test_hostile_requests_get_clear_4xx(service: str) -> None:
    base = f"{service}/v1"
    assert httpx.post(f"{base}/asr/transcribe?sample_rate=44100", content=b"\0\0").status_code == 422
    assert httpx.post(f"{base}/asr/transcribe", content=b"\0").status_code == 422  # odd byte count
    too_long = bytes(30 * 16000 * 2 + 2)
    assert httpx.post(f"{base}/asr/transcribe", content=too_long).status_code == 413
    bad_flow = httpx.post(f"{base}/nlu/flows", json={"yaml": "a: &x [*x]"})
    assert bad_flow.status_code == 422 and "yaml" in bad_flow.text
    file_flow = (
        MINIMAL_FLOW.replace("knowledge_base:\n", "knowledge_base_x:\n")
        + "\nknowledge_base: {file: /etc/passwd}\n"
    )
    assert httpx.post(f"{base}/nlu/flows", json={"yaml": file_flow}).status_code == 422
    unknown = httpx.post(f"{base}/nlu/classify", json={"flow": "nope", "text": "好"})
    assert unknown.status_code == 404
    assert httpx.post(f"{base}/tts/synthesize", json={"text": ""}).status_code == 422
    with pytest.raises(SpeechServiceError):
        RemoteRecognizer(SpeechClient(service), "fr").transcribe(b"\0\0", 8000)


def test_classifier_registers_again_after_a_restart() -> None:
    flow_yaml = MINIMAL_FLOW
    with serving(_engines([])) as first:
        client = SpeechClient(first)
        classifier = RemoteClassifier(client, flow_yaml, "rules")
        assert classifier.classify("不要").intent == "deny"
    with serving(_engines([])) as second:  # a new service knows no flows
        classifier.client = SpeechClient(second)
        assert classifier.classify("不要").intent == "deny"


def test_fair_queue_takes_calls_in_turn() -> None:
    queue = FairQueue(threads=1)
    order: list[str] = []
    gate = threading.Event()
    blocker = queue.submit("x", lambda: gate.wait(5))
    futures = [queue.submit("a", lambda i=i: order.append(f"a{i}")) for i in range(3)]
    futures.append(queue.submit("b", lambda: order.append("b0")))
    futures.append(queue.submit("c", lambda: order.append("c0")))
    gate.set()
    for future in [blocker, *futures]:
        future.result(5)
    queue.stop()
    assert order[:3] == ["a0", "b0", "c0"]  # the chatty call does not hold the line
    assert order[3:] == ["a1", "a2"]


def test_full_queue_refuses_with_overflow() -> None:
    queue = FairQueue(threads=1, max_queued=2)
    gate = threading.Event()
    queue.submit("a", lambda: gate.wait(5))
    time.sleep(0.05)  # the blocker is running, not queued
    queue.submit("a", lambda: None)
    queue.submit("b", lambda: None)
    with pytest.raises(OverflowError):
        queue.submit("c", lambda: None)
    gate.set()
    queue.stop()


def test_a_voice_loop_runs_on_remote_parts(service: str, tmp_path: Path) -> None:
    from dialog.loader import load_flow_text
    from tests.fakes import EnergyVad
    from tests.voice.test_loop_off_media_path import SILENCE, _speak, _until_listening
    from waihu.voice.call_builder import CallSpec, SpeechParts, build_call

    client = SpeechClient(service)
    flow = load_flow_text(MINIMAL_FLOW).flow
    assert flow is not None
    with serving(_engines(["好的"])) as fresh:
        client = SpeechClient(fresh)
        parts = SpeechParts(
            RemoteClassifier(client, MINIMAL_FLOW, "rules"),
            RemoteRecognizer(client, "zh"),
            RemoteSynthesizer(client),
            tmp_path,
            EnergyVad,
        )
        loop = build_call(CallSpec(flow, {"name": "张三"}), parts).loop
        loop.adaptive_endpointing = False
        loop.start()
        _until_listening(loop)
        _speak(loop, 0.6)
        for _ in range(100):
            loop.step(SILENCE)
            if loop.timings:
                break
    assert loop.timings and loop.timings[-1].text == "好的"
    assert loop.conversation.node == "done"


def test_background_work_waits_for_calls() -> None:
    queue = FairQueue(threads=1)
    order: list[str] = []
    gate = threading.Event()
    blocker = queue.submit("x", lambda: gate.wait(5))
    warm = [queue.submit("warm", lambda i=i: order.append(f"warm{i}"), background=True) for i in range(2)]
    call = queue.submit("call-1", lambda: order.append("call"))
    gate.set()
    for future in [blocker, *warm, call]:
        future.result(5)
    queue.stop()
    assert order == ["call", "warm0", "warm1"]  # the call's job jumped the warm-up


def test_remote_synthesizer_can_ask_for_the_background_lane(service: str) -> None:
    audio = RemoteSynthesizer(SpeechClient(service), background=True).synthesize("你好")
    assert audio.duration_s > 0


def test_background_work_leaves_a_thread_for_calls() -> None:
    queue = FairQueue(threads=2)
    gate = threading.Event()
    warm = [queue.submit("warm", lambda: gate.wait(5), background=True) for _ in range(3)]
    time.sleep(0.1)  # one warm job runs; the others wait: a thread stays free
    call = queue.submit("call-1", lambda: "reply")
    assert call.result(2)[0] == "reply"
    gate.set()
    for future in warm:
        future.result(5)
    queue.stop()


class _SlowCountingVoice(ToneSynthesizer):
    """A voice that takes 0.3 s and counts its syntheses."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def synthesize(self, text: str, *, language: str = "zh", rate: int | None = None) -> Audio:
        self.count += 1
        time.sleep(0.3)
        return super().synthesize(text, language=language, rate=rate)


def _voice_engines(voice: _SlowCountingVoice) -> SpeechEngines:
    """The light engines of :func:`_engines`, speaking with ``voice``."""
    return replace(_engines([]), synthesizer_for=lambda: voice)


def test_calls_needing_the_same_clause_at_once_share_one_synthesis() -> None:
    """A campaign's lines start together: 8 calls want the same greeting clause at the same moment."""
    voice = _SlowCountingVoice()
    engines = _voice_engines(voice)
    with serving(engines) as base:
        client = SpeechClient(base)
        synthesizer = RemoteSynthesizer(client)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            audios = list(pool.map(lambda _i: synthesizer.synthesize("张先生您好，"), range(8)))
        assert voice.count == 1 and len({a.pcm for a in audios}) == 1
        synthesizer.synthesize("张先生您好，")  # later requests synthesise again (the worker caches)
        assert voice.count == 2


def test_a_call_joins_its_running_ring_time_synthesis() -> None:
    """The worker pre-renders "请问您是李女士吗？" on the background lane while the phone rings; when
    the greeting needs it the call waits for that synthesis instead of starting a second one."""
    voice = _SlowCountingVoice()
    engines = _voice_engines(voice)
    with serving(engines) as base:
        client = SpeechClient(base)
        ahead = RemoteSynthesizer(client, background=True).for_session("attempt-1")
        assert ahead.session == "attempt-1" and ahead.background
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pre = pool.submit(ahead.synthesize, "请问您是李女士吗？")
            time.sleep(0.15)  # the pre-rendering runs (it takes 0.3 s)
            live = RemoteSynthesizer(client).synthesize("请问您是李女士吗？")
            assert pre.result(5).pcm == live.pcm
        assert voice.count == 1
