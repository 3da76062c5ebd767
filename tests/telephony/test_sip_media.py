"""Media against real peers: callee frames, robot playback, barge-in, recording, DTMF, remote hang-up."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from sip_peers.peers import Baresip, Sipp, dominant_hz, rms, tone
from telephony import CallOutcome, DtmfReceived, Ended, HangupBy, PlaybackDrained, RemoteHangup
from tests.telephony.conftest import CALLEE_HZ, CUSTOMER_HZ, ROBOT_HZ, engine, run
from tts.audio import read_wav


def _stereo(path: str | Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)


def _drain(q: asyncio.Queue) -> list:  # type: ignore[type-arg]
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


def test_callee_frames_playback_and_stereo_recording(tmp_path: Path, callee_ulaw: Path) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Sipp("uas_answer_stream.xml", tmp_path, wav=callee_ulaw) as callee:
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert result.outcome is CallOutcome.ANSWERED and result.call is not None
                call = result.call
                assert result.setup_s is not None and result.setup_s < 1.0
                assert call.play(tone(ROBOT_HZ, 1.0, rate=16000), 16000) == 1.0  # resampled to 8 kHz
                assert call.playing
                frames = [await asyncio.wait_for(call.frames.get(), 2) for _ in range(60)]
                await asyncio.wait_for(call.wait_played(), 3)
                assert not call.playing
                ended = await call.hangup()
                assert callee.wait(5) == 0
        assert {len(f) for f in frames} == {320}
        assert abs(dominant_hz(b"".join(frames[-40:])) - CALLEE_HZ) < 20
        events = _drain(call.events)
        assert any(isinstance(e, PlaybackDrained) for e in events)
        assert isinstance(events[-1], Ended) and events[-1] is ended
        assert ended.by is HangupBy.ROBOT
        assert ended.recording_path == str(call.recording_path)
        x = _stereo(ended.recording_path)
        assert 1.0 < len(x) / 8000 < 3.0
        assert abs(dominant_hz(x[4000:, 0].tobytes()) - CALLEE_HZ) < 20  # left: callee
        assert abs(dominant_hz(x[:7000, 1].tobytes()) - ROBOT_HZ) < 20  # right: robot
        assert rms(x[8200:, 1].tobytes()) < 50  # robot silent after its prompt

    run(scenario())


def test_callee_hangs_up_in_the_middle_of_playback_after_info_dtmf(tmp_path: Path, callee_ulaw: Path) -> None:
    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Sipp("uas_answer_bye.xml", tmp_path, wav=callee_ulaw) as callee:
                result = await eng.dial(callee.uri, ring_timeout_s=5)
                assert result.call is not None
                call = result.call
                call.play(tone(ROBOT_HZ, 6.0))
                ended = await asyncio.wait_for(call.wait_ended(), 10)
                assert callee.wait(5) == 0, callee.out_file.read_text(errors="replace")[-2000:]
        assert isinstance(ended, RemoteHangup) and ended.by is HangupBy.CALLEE
        assert not call.playing and not call.is_up
        events = _drain(call.events)
        dtmf = [e for e in events if isinstance(e, DtmfReceived)]
        assert [(d.digit, d.method) for d in dtmf] == [("5", "info")]
        assert not any(isinstance(e, PlaybackDrained) for e in events)
        assert 1.5 < ended.at - (call.answer_at or 0) < 3.5
        assert _stereo(ended.recording_path).shape[0] / 8000 < 3.5

    run(scenario())


def test_audio_reaches_baresip_barge_in_and_rfc2833_dtmf(tmp_path: Path, customer_wav: Path) -> None:
    """baresip auto-answers, says 700 Hz, records what it hears; DTMF both ways; barge-in stops us."""

    async def scenario() -> None:
        async with engine(tmp_path) as eng:
            with Baresip(tmp_path, customer_wav) as peer:
                result = await eng.dial(peer.uri, ring_timeout_s=5)
                assert result.call is not None, peer.output()[-2000:]
                call = result.call
                call.play(tone(ROBOT_HZ, 5.0))
                heard = [await asyncio.wait_for(call.frames.get(), 2) for _ in range(40)]
                peer.send("5")
                await asyncio.sleep(0.3)
                peer.send("#")
                await asyncio.sleep(0.3)
                dropped_ms = call.stop_playback()  # barge-in at ~1.4 s: the rest must never be heard
                assert dropped_ms > 2500 and not call.playing
                await call.wait_played()
                await call.send_dtmf("7", method="rfc2833")
                await call.send_dtmf("8", method="info")
                await asyncio.sleep(1.0)
                ended = await call.hangup()
                await asyncio.sleep(0.3)
                output = peer.output()
                recordings = peer.recordings()
        assert abs(dominant_hz(b"".join(heard[5:])) - CUSTOMER_HZ) < 20
        events = _drain(call.events)
        dtmf = [(e.digit, e.method) for e in events if isinstance(e, DtmfReceived)]
        assert dtmf == [("5", "rfc2833"), ("#", "rfc2833")]
        assert not any(isinstance(e, PlaybackDrained) for e in events)
        assert ended.by is HangupBy.ROBOT
        assert "received event: '7'" in output, output[-3000:]  # RFC 2833 reached the peer
        assert "received DTMF: '8'" in output, output[-3000:]  # SIP INFO reached the peer
        decoded = [p for p in recordings if p.name.endswith("-dec.wav")]
        assert decoded, output[-2000:]
        rx = read_wav(decoded[-1])
        first = rx.pcm[: 8000 * 2]
        assert abs(dominant_hz(first) - ROBOT_HZ) < 20  # what we played reached the peer
        tail = rx.pcm[int(8000 * 2 * 2.2) :]
        assert rms(tail) < 100, rms(tail)  # nothing after the barge-in

    run(scenario())
