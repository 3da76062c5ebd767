"""Flow bundles: one zip holding a flow YAML and the WAV recordings its ``audio:`` references name.

Everything in an uploaded zip is hostile until checked: member names (``../``, absolute paths, drive
letters, symlinks), sizes (a member that inflates to gigabytes: a zip bomb), counts and contents (a
"WAV" that is not one). Each refusal names the member. Sizes are checked on the header *and* on the
bytes actually inflated (a header may lie), so no more than the limit is ever decompressed.

Layout: the flow file (``*.yaml`` / ``*.yml``) at the top, recordings anywhere below it, named in the
flow by their path inside the zip (``audio: prompts/greeting.wav``). A zip of a folder (every member
under one top folder) is read as if that folder were the top.
"""

from __future__ import annotations

import io
import stat
import struct
import wave
import zipfile
import zlib
from dataclasses import dataclass

from dialog.flow_files import FileReferenceError, bundle_name
from dialog.yaml_limits import MAX_YAML_BYTES
from tts.audio import read_wav
from waihu.service.problems import sentence

#: The zip as uploaded.
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
#: One recording, inflated (a minute of 44.1 kHz stereo 16-bit is ~10 MB; phone prompts are seconds).
MAX_RECORDING_BYTES = 8 * 1024 * 1024
#: All recordings of a bundle together, inflated.
MAX_BUNDLE_AUDIO_BYTES = 48 * 1024 * 1024
#: Members (files and folders) of a bundle.
MAX_BUNDLE_MEMBERS = 300
#: Longest recording, in seconds.
MAX_RECORDING_S = 300
_YAML_SUFFIXES = (".yaml", ".yml")


class BundleError(ValueError):
    """A bundle refused; ``loc`` names the field (``["body", "bundle", member]``), ``status`` the 4xx."""

    def __init__(self, member: str | None, message: str, status: int = 422) -> None:
        self.loc = ["body", "bundle"] + ([member] if member is not None else [])
        self.status = status
        self.sentence = message  # a registry sentence: its code and params reach the API's answer
        super().__init__(f"{member}: {message}" if member is not None else message)


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: the flow text, its file name and the recordings by canonical name."""

    yaml_text: str
    yaml_name: str
    recordings: dict[str, bytes]


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a zip archive (a local file header or an empty archive)."""
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def read_bundle(data: bytes) -> Bundle:
    """Check and unpack a bundle; raises :class:`BundleError` naming the offending member."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(None, sentence("bundle_too_large", max_bytes=MAX_BUNDLE_BYTES), 413)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise BundleError(None, sentence("bundle_not_zip", reason=str(exc))) from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_BUNDLE_MEMBERS:
            raise BundleError(None, sentence("bundle_too_many_files", max_files=MAX_BUNDLE_MEMBERS), 413)
        files = [info for info in members if not info.is_dir()]
        prefix = _common_folder([info.filename for info in files])
        flow: tuple[str, bytes] | None = None
        recordings: dict[str, bytes] = {}
        total = 0
        for info in files:
            raw_name = info.filename
            name = _member_name(info, prefix)
            if name.lower().endswith(_YAML_SUFFIXES):
                if "/" in name:
                    raise BundleError(raw_name, sentence("bundle_yaml_not_on_top"))
                if flow is not None:
                    raise BundleError(raw_name, sentence("bundle_second_yaml", first=flow[0]))
                flow = (name, _inflate(archive, info, MAX_YAML_BYTES))
                continue
            try:
                canonical = bundle_name(name)
            except FileReferenceError as exc:
                raise BundleError(raw_name, sentence("bundle_foreign_file", reason=str(exc))) from exc
            if canonical in recordings:
                raise BundleError(raw_name, sentence("bundle_recording_twice"))
            audio = _inflate(archive, info, MAX_RECORDING_BYTES)
            total += len(audio)
            if total > MAX_BUNDLE_AUDIO_BYTES:
                raise BundleError(
                    raw_name, sentence("bundle_audio_too_large", max_bytes=MAX_BUNDLE_AUDIO_BYTES), 413
                )
            check_wav(raw_name, audio)
            recordings[canonical] = audio
    if flow is None:
        raise BundleError(None, sentence("bundle_no_yaml"))
    try:
        text = flow[1].decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BundleError(flow[0], sentence("flow_not_utf8")) from exc
    return Bundle(text, flow[0], recordings)


def check_wav(member: str, data: bytes) -> None:
    """Refuse anything the call's player could not play: not a PCM WAV (8/16/24/32-bit samples, which
    :func:`tts.audio.read_wav` converts), empty, too long, an odd rate or channel count."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, rate, frames = w.getnchannels(), w.getframerate(), w.getnframes()
        audio = read_wav(io.BytesIO(data))
    except (wave.Error, EOFError, ValueError, struct.error) as exc:
        raise BundleError(member, sentence("wav_not_pcm", reason=str(exc)), 415) from exc
    if not 1 <= channels <= 2 or not 8000 <= rate <= 48000:
        raise BundleError(member, sentence("wav_format", channels=channels, rate=rate), 415)
    if frames == 0 or not audio.pcm:
        raise BundleError(member, sentence("wav_empty"))
    if frames / rate > MAX_RECORDING_S:
        raise BundleError(member, sentence("wav_too_long", max_s=MAX_RECORDING_S), 413)


def _common_folder(names: list[str]) -> str:
    """``"top/"`` when every file lies under that one folder (a zipped directory), else ``""``."""
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    if len(tops) == 1 and all("/" in name for name in names):
        return f"{tops.pop()}/"
    return ""


def _member_name(info: zipfile.ZipInfo, prefix: str) -> str:
    """The member's name inside the bundle; refuses links, encrypted members and escaping paths."""
    raw = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        raise BundleError(raw, sentence("bundle_symlink"))
    if info.flag_bits & 0x1:
        raise BundleError(raw, sentence("bundle_encrypted"))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # bzip2 and lzma inflate a whole block at once: their output cannot be bounded as it is read.
        raise BundleError(raw, sentence("bundle_compression"))
    name = raw.removeprefix(prefix)
    escapes = raw.startswith(("/", "\\")) or "\\" in raw or ".." in raw.split("/") or ":" in raw
    if escapes or not name:
        raise BundleError(raw, sentence("bundle_path_escapes"))
    return name


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, never inflating more than ``limit`` (whatever its header claims)."""
    if info.file_size > limit:
        raise BundleError(info.filename, sentence("bundle_member_too_large", max_bytes=limit), 413)
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError, OSError) as exc:
        raise BundleError(info.filename, f"cannot be read from the zip ({exc})") from exc
    if len(data) > limit:
        raise BundleError(info.filename, f"inflates past {limit} bytes", 413)
    return data
