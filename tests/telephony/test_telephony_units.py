"""Pure-Python parts of telephony: outcome table, masking, summary header, playback queue, recorder."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from dialog.actions import TransferSummary
from telephony import CallOutcome, SipConfig, classify, decode_summary, encode_summary, mask_number, mask_uri
from telephony.call import add_uri_header
from telephony.pcm import FRAME_BYTES, PlaybackQueue, to_phone_rate
from telephony.recording import StereoRecorder


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (200, CallOutcome.ANSWERED),
        (408, CallOutcome.NO_ANSWER),
        (480, CallOutcome.NO_ANSWER),
        (487, CallOutcome.NO_ANSWER),
        (486, CallOutcome.BUSY),
        (600, CallOutcome.BUSY),
        (404, CallOutcome.INVALID_NUMBER),
        (484, CallOutcome.INVALID_NUMBER),
        (604, CallOutcome.INVALID_NUMBER),
        (603, CallOutcome.REJECTED),
        (403, CallOutcome.REJECTED),
        (503, CallOutcome.UNAVAILABLE),
        (502, CallOutcome.UNAVAILABLE),
        (500, CallOutcome.UNAVAILABLE),
        (488, CallOutcome.UNAVAILABLE),
        (606, CallOutcome.REJECTED),
    ],
)
def test_outcome_table(code: int, outcome: CallOutcome) -> None:
    assert classify(code) is outcome


def test_outcome_flags() -> None:
    assert classify(487, cancelled_by_us=True) is CallOutcome.NO_ANSWER
    assert classify(200, cancelled_by_us=True) is CallOutcome.NO_ANSWER  # answered after our CANCEL
    assert classify(408, transport_error=True) is CallOutcome.FAILED
    assert classify(503, transport_error=True) is CallOutcome.FAILED


def test_masking_keeps_last_four_digits_only() -> None:
    assert mask_number("13812341234") == "*******1234"
    assert mask_uri("sip:+8613812341234@10.0.0.1:5060") == "sip:**********1234@10.0.0.1:5060"
    assert mask_uri("sip:seat@127.0.0.1:5060") == "sip:seat@127.0.0.1:5060"


def test_summary_header_round_trip_is_uri_safe() -> None:
    s = TransferSummary(name="张三", grade="A", tags=["有意向"], last_turns=[{"callee": "转人工"}], node="n")
    value = encode_summary(s)
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_summary(value)["name"] == "张三"
    assert add_uri_header("sip:seat@h", "X-A", value) == f"<sip:seat@h?X-A={value}>"
    assert add_uri_header("<sip:seat@h?a=b>", "X-A", "v") == "<sip:seat@h?a=b&X-A=v>"


def test_summary_over_the_header_limit_is_truncated_with_a_pointer_not_an_error() -> None:
    """A long call's summary (here 40 long turns) used to raise ValueError in the transfer path,
    leaving the callee in silence: it is cut to fit, marked, and points at the full record."""
    from telephony.summary import MAX_HEADER_BYTES

    turns = [{"robot": "您好" * 30, "callee": "我想问一下分期的手续费是多少" * 5} for _ in range(40)]
    s = TransferSummary(name="张三", grade="A", tags=["有意向"], last_turns=turns, node="n")
    value = encode_summary(s, reference="attempt-42")
    assert len(value) <= MAX_HEADER_BYTES
    decoded = decode_summary(value)
    assert decoded["truncated"] is True and decoded["ref"] == "attempt-42"
    assert decoded["name"] == "张三" and decoded["grade"] == "A" and decoded["tags"] == ["有意向"]
    assert decoded["last_turns"] == turns[-len(decoded["last_turns"]) :]  # the latest turns kept
    huge = decode_summary(encode_summary({"x": "y" * 50_000}))
    assert huge["truncated"] is True and len(encode_summary({"x": "y" * 50_000})) <= MAX_HEADER_BYTES
    small = decode_summary(encode_summary(s.__class__("李四", "B", [], [], "n")))
    assert "truncated" not in small


def test_playback_queue_drain_and_barge_in() -> None:
    q = PlaybackQueue()
    assert q.push(bytes(FRAME_BYTES * 2 + 10)) == 3  # padded to whole 20 ms frames
    assert q.queued_ms == 60
    assert q.pop()[1] is False
    q.pop()
    q.pop()
    assert q.pop() == (None, True)  # drained once
    assert q.pop() == (None, False)
    q.push(bytes(FRAME_BYTES * 10))
    assert q.clear() == 10
    assert q.pop() == (None, False)  # a barge-in is not a drain


def test_resampling_to_phone_rate() -> None:
    assert len(to_phone_rate(bytes(32000), 16000)) == 16000
    assert to_phone_rate(b"\x01\x00", 8000) == b"\x01\x00"


def test_stereo_recorder(tmp_path: Path) -> None:
    rec = StereoRecorder(tmp_path / "r.wav")
    rec.add_left(b"\x01\x00" * 160)
    rec.add_right(b"\x02\x00" * 80)
    path = rec.write()
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 8000, 160)
        frames = w.readframes(2)
    assert frames == b"\x01\x00\x02\x00\x01\x00\x02\x00"


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SipConfig(rtp_port_range=4)
    with pytest.raises(ValueError):
        SipConfig(sip_port=70000)
