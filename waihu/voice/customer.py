"""A scripted customer for the audio simulator: speaks WAV clips or TTS, waits, interrupts, hangs up.

Script (YAML)::

    flow: ../flows/credit_card_installment.yaml   # relative to the script
    variables: {name: 张先生, amount: "12000"}
    clips: builtin          # optional clip library: builtin = waihu's own customer voices,
                            # or a directory with manifest.tsv (file, intent, text)
    turns:
      - clip: 好                 # a clip of the library, by its text
      - wav: answer.wav          # any WAV file (any rate)
      - say: yes this is she     # spoken by TTS in the flow's language
        pause: 0.4               # silence after the robot stops before speaking (default 0.5 s)
      - clip: 嗯
        interrupt: 1.0           # speak 1.0 s into the robot's prompt instead (barge-in)
        backchannel: true        # expect no reply: the prompt should carry on
      - silence: true            # say nothing and let the no-input timer fire
      - hangup: true
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dialog.yaml_positions import load_yaml
from tts.base import Audio
from tts.recorded import load_recorded
from waihu.voice.loop import VoiceLoop
from waihu.voice.speech_output import SpeechOutput


class CustomerTurn(BaseModel):
    """One thing the customer does."""

    model_config = ConfigDict(extra="forbid")

    clip: str | None = None
    wav: str | None = None
    say: str | None = None
    silence: bool = False
    hangup: bool = False
    pause: float = Field(default=0.5, ge=0, le=30)
    interrupt: float | None = Field(default=None, ge=0, le=60)
    backchannel: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> CustomerTurn:
        kinds = [self.clip is not None, self.wav is not None, self.say is not None, self.silence, self.hangup]
        if sum(kinds) != 1:
            raise ValueError("a turn needs exactly one of clip, wav, say, silence, hangup")
        return self


class CustomerScript(BaseModel):
    """A whole scripted customer."""

    model_config = ConfigDict(extra="forbid")

    flow: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    clips: str | None = None
    max_call_s: float = Field(default=300, gt=0)
    turns: list[CustomerTurn]

    @classmethod
    def load(cls, path: Path) -> CustomerScript:
        """Parse a script file."""
        return cls.model_validate(load_yaml(path.read_text(encoding="utf-8")))


def clip_library(directory: Path) -> dict[str, Path]:
    """Clips of a library by their text, from its ``manifest.tsv`` (file, intent, text…)."""
    manifest = directory / "manifest.tsv"
    if not manifest.is_file():
        raise FileNotFoundError(f"clip library without manifest.tsv: {directory}")
    clips: dict[str, Path] = {}
    with manifest.open(encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) >= 3 and not row[0].startswith("#"):
                clips.setdefault(row[2], directory / row[0])
    return clips


def library_dir(clips: str, base: Path) -> Path:
    """``builtin``: the project's own customer voices (made on first use); else a directory."""
    if clips == "builtin":
        from waihu.voice.customer_audio import customer_library

        return customer_library()
    return (base / clips).resolve()


def turn_audio(
    turn: CustomerTurn, base: Path, clips: dict[str, Path], voice: SpeechOutput, rate: int
) -> Audio:
    """The audio of one spoken turn."""
    if turn.clip is not None:
        if turn.clip not in clips:
            raise KeyError(f"no clip with text {turn.clip!r} in the clip library")
        return load_recorded(clips[turn.clip], rate)
    if turn.wav is not None:
        return load_recorded(base / turn.wav, rate)
    assert turn.say is not None
    from dialog.actions import Say

    return voice.render(Say(turn.say))


class ScriptedCustomer:
    """Produces the callee's 20 ms frames, reacting to what the robot does."""

    def __init__(
        self, script: CustomerScript, base: Path, voice: SpeechOutput, sample_rate: int = 8000
    ) -> None:
        self.script = script
        self.sample_rate = sample_rate
        clips = clip_library(library_dir(script.clips, base)) if script.clips else {}
        self.audio = [
            turn_audio(turn, base, clips, voice, sample_rate) if not (turn.silence or turn.hangup) else None
            for turn in script.turns
        ]
        self.index = 0
        self.speaking: bytes | None = None
        self.position = 0
        self.expected_responses = 0
        self.quiet_since: float | None = None
        self.wants_hangup = False

    @property
    def done(self) -> bool:
        """All turns played."""
        return self.index >= len(self.script.turns) and self.speaking is None

    def frame(self, loop: VoiceLoop) -> bytes:
        """The customer's next 20 ms, given the robot's state before this step."""
        size = loop.frame_bytes
        if self.speaking is not None:
            chunk = self.speaking[self.position : self.position + size]
            self.position += size
            if self.position >= len(self.speaking):
                self.speaking = None
            return chunk.ljust(size, b"\0")
        if self.index < len(self.script.turns):
            self._maybe_start(loop)
        return bytes(size)

    def _robot_waiting(self, loop: VoiceLoop) -> bool:
        return (
            loop.responses >= self.expected_responses and not loop.robot_speaking and loop.listen is not None
        )

    def _maybe_start(self, loop: VoiceLoop) -> None:
        turn = self.script.turns[self.index]
        if turn.interrupt is not None:
            ready = (
                loop.responses >= self.expected_responses
                and loop.robot_speaking
                and loop.robot_speaking_since is not None
                and loop.time_s - loop.robot_speaking_since >= turn.interrupt
            )
        else:
            if self._robot_waiting(loop):
                self.quiet_since = loop.time_s if self.quiet_since is None else self.quiet_since
            else:
                self.quiet_since = None
            ready = self.quiet_since is not None and loop.time_s - self.quiet_since >= turn.pause
        if not ready:
            return
        self.quiet_since = None
        audio = self.audio[self.index]
        self.index += 1
        if turn.hangup:
            self.wants_hangup = True
            return
        if not turn.backchannel:
            self.expected_responses += 1
        if audio is not None:
            self.speaking, self.position = audio.pcm, 0
