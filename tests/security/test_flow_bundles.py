"""Flow bundles (zip: YAML + WAV recordings) are hostile input: every attack is refused, naming the member.

Path traversal, absolute paths, symlinks, zip bombs (honest and lying headers), non-WAV files, too
many members, and ``audio:`` references that name no recording of the bundle or escape it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import pytest

from dialog.flow_files import FileAccess, FileReferenceError, bundle_name
from dialog.loader import load_flow_text
from sip_peers.peers import tone
from tts.audio import wav_bytes
from tts.base import Audio
from waihu.service import bundles
from waihu.service.bundles import BundleError, read_bundle

FLOW = """\
flow: {id: tone, name: Tone, language: zh, version: 1}
start: hello
nodes:
  hello:
    prompt: 您好，这是录音。
    audio: prompts/greeting.wav
    then: hangup
"""
WAV = wav_bytes(Audio(tone(550.0, 0.5), 8000))


def make_zip(members: dict[str, bytes], *, infos: Sequence[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    """A zip of ``members`` (name → bytes) plus hand-made entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for info, data in infos:
            archive.writestr(info, data)
    return buf.getvalue()


def refused(data: bytes) -> BundleError:
    with pytest.raises(BundleError) as caught:
        read_bundle(data)
    return caught.value


def test_a_good_bundle_and_a_zipped_folder() -> None:
    bundle = read_bundle(make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": WAV}))
    assert (bundle.yaml_name, bundle.yaml_text, list(bundle.recordings)) == (
        "tone.yaml", FLOW, ["prompts/greeting.wav"])  # fmt: skip
    folder = read_bundle(make_zip({"myflow/tone.yaml": FLOW.encode(), "myflow/prompts/greeting.wav": WAV}))
    assert list(folder.recordings) == ["prompts/greeting.wav"] and folder.yaml_name == "tone.yaml"


@pytest.mark.parametrize(
    "member",
    ["../evil.wav", "prompts/../../evil.wav", "/etc/evil.wav", "..\\evil.wav", "C:/evil.wav", "c:evil.wav"],
)
def test_path_traversal_members_are_refused(member: str) -> None:
    error = refused(make_zip({"tone.yaml": FLOW.encode(), member: WAV}))
    assert error.loc == ["body", "bundle", member] and error.status == 422, error


def test_symlink_members_are_refused() -> None:
    link = zipfile.ZipInfo("prompts/greeting.wav")
    link.external_attr = (0o120777 << 16) | 0x20
    error = refused(make_zip({"tone.yaml": FLOW.encode()}, infos=[(link, b"/etc/passwd")]))
    assert error.loc[-1] == "prompts/greeting.wav" and "link" in str(error)


def test_zip_bomb_with_an_honest_header_is_refused_before_inflating() -> None:
    bomb = bytes(bundles.MAX_RECORDING_BYTES + 1)  # zeros: a few kB compressed
    data = make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": bomb})
    assert len(data) < 64 * 1024
    error = refused(data)
    assert error.status == 413 and error.loc[-1] == "prompts/greeting.wav"


def test_zip_bomb_with_a_lying_header_never_inflates_past_the_claim() -> None:
    honest = make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": bytes(4 * 1024 * 1024)})
    # Patch both size fields of the recording (local header and central directory) to claim 1 kB.
    real = (4 * 1024 * 1024).to_bytes(4, "little")
    lying = honest.replace(real, (1024).to_bytes(4, "little"))
    assert lying != honest
    error = refused(lying)
    assert error.loc[-1] == "prompts/greeting.wav" and 400 <= error.status < 500


def test_bzip2_and_lzma_members_are_refused() -> None:
    """Their decoders inflate a whole block at once: no bound while reading, so no entry."""
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        packed = zipfile.ZipInfo("prompts/greeting.wav")
        packed.compress_type = method
        error = refused(make_zip({"tone.yaml": FLOW.encode()}, infos=[(packed, WAV)]))
        assert error.loc[-1] == "prompts/greeting.wav" and "deflated" in str(error)


def test_all_recordings_together_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundles, "MAX_BUNDLE_AUDIO_BYTES", 2 * len(WAV))
    members = {"tone.yaml": FLOW.encode(), **{f"p{i}.wav": WAV for i in range(3)}}
    error = refused(make_zip(members))
    assert error.status == 413 and error.loc[-1] == "p2.wav"


def test_too_many_members_and_too_large_an_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundles, "MAX_BUNDLE_MEMBERS", 3)
    members = {"tone.yaml": FLOW.encode(), **{f"p{i}.wav": WAV for i in range(3)}}
    assert refused(make_zip(members)).status == 413
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", 100)
    assert refused(make_zip(members)).status == 413


@pytest.mark.parametrize(
    ("member", "data", "status"),
    [
        ("prompts/greeting.wav", b"#!/bin/sh\necho not a wav\n", 415),
        ("prompts/greeting.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ", 415),  # truncated header
        ("prompts/greeting.mp3", b"ID3\x03", 422),
        ("notes.txt", b"hello", 422),
        ("prompts/empty.wav", wav_bytes(Audio(b"", 8000)), 422),
    ],
)
def test_non_wav_members_are_refused(member: str, data: bytes, status: int) -> None:
    error = refused(make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": WAV, member: data}))
    assert error.loc == ["body", "bundle", member] and error.status == status, error


def test_flow_file_rules() -> None:
    assert "no flow file" in str(refused(make_zip({"prompts/greeting.wav": WAV})))
    second = refused(make_zip({"a.yaml": FLOW.encode(), "b.yml": FLOW.encode()}))
    assert second.loc[-1] == "b.yml"
    nested = refused(make_zip({"x.wav": WAV, "sub/tone.yaml": FLOW.encode()}))
    assert nested.loc[-1] == "sub/tone.yaml"
    assert refused(b"PK\x03\x04 not really a zip").loc == ["body", "bundle"]
    plain = bytearray(make_zip({"tone.yaml": FLOW.encode(), "prompts/greeting.wav": WAV}))
    central = plain.rindex(b"PK\x01\x02")  # the last member's central directory entry: mark it encrypted
    plain[central + 8] |= 0x1
    assert "encrypted" in str(refused(bytes(plain)))


@pytest.mark.parametrize(
    "reference", ["../x.wav", "/abs/x.wav", "a\\b.wav", "a//b.wav", "", "x.mp3", "x.wav\0"]
)
def test_bundle_names_refuse_escapes(reference: str) -> None:
    with pytest.raises(FileReferenceError):
        bundle_name(reference)
    assert bundle_name("./prompts/./hi.wav") == "prompts/hi.wav"
    assert bundle_name("录音/问候.WAV") == "录音/问候.WAV"


def test_validator_names_the_missing_recording_with_file_line_col() -> None:
    loaded = load_flow_text(FLOW, "tone.yaml", files=FileAccess.for_bundle(["prompts/other.wav"]))
    (problem,) = loaded.errors
    assert problem.format().startswith("tone.yaml:6:5: nodes.hello.audio: 'prompts/greeting.wav'")
    assert "not in the bundle" in problem.message and "prompts/other.wav" in problem.message
    escaping = FLOW.replace("prompts/greeting.wav", "../../etc/passwd.wav")
    (problem,) = load_flow_text(escaping, "tone.yaml", files=FileAccess.for_bundle(["x.wav"])).errors
    assert (problem.line, problem.col) == (6, 5) and "'..'" in problem.message
    assert not load_flow_text(FLOW, "tone.yaml", files=FileAccess.for_bundle(["prompts/greeting.wav"])).errors
