"""Turn the engine's Say actions into phone audio: recorded prompts where given, TTS otherwise."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dialog.actions import Say
from dialog.schema import Flow
from dialog.templates import placeholders
from tts.base import Audio, Synthesizer
from tts.cache import PromptCache
from tts.recorded import load_recorded

log = logging.getLogger(__name__)

#: espeak-ng words per minute that sound like a phone agent (Mandarin 150 was ~3 characters/s).
DEFAULT_RATES = {"zh": 220, "en": 165}
#: Where the later clauses of a prompt are synthesised while its first one plays (a loop's runner).
Submit = Callable[[Callable[[], Audio]], "concurrent.futures.Future[Audio]"]


@dataclass(frozen=True)
class Streamed:
    """A prompt ready to start: its first clause's audio now, the rest still being synthesised."""

    first: Audio
    #: The later clauses (with their pauses); None when ``first`` is the whole prompt.
    rest: concurrent.futures.Future[Audio] | None = None


class SpeechOutput:
    """Renders robot speech at ``sample_rate`` through an on-disk prompt cache."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        cache_dir: Path,
        *,
        language: str,
        flow_dir: Path | None = None,
        sample_rate: int = 8000,
        rate: int | None = None,
    ) -> None:
        self.cache = PromptCache(cache_dir, synthesizer)
        self.language = language
        self.flow_dir = flow_dir
        self.sample_rate = sample_rate
        self.rate = rate or DEFAULT_RATES.get(language)

    def render(self, say: Say) -> Audio:
        """Audio for one Say: recordings where the operator made them, TTS for the rest."""
        pieces = say.parts or ((say.text, say.audio),)
        pcm = b"".join(self._piece(text, audio).pcm for text, audio in pieces)
        return Audio(pcm, self.sample_rate)

    def _piece(self, text: str, audio: str | None) -> Audio:
        if audio and self.flow_dir is not None:
            path = self.flow_dir / audio
            try:
                return load_recorded(path, self.sample_rate)
            except (OSError, EOFError, ValueError) as exc:  # never lose the prompt: fall back to TTS
                log.error("recorded prompt %s unusable (%s); synthesising instead", path, exc)
        return self._tts(text)

    def render_streamed(self, say: Say, submit: Submit) -> Streamed:
        """Audio for one Say that can start playing as soon as its first clause is ready.

        A synthesised prompt of several clauses returns its first clause now and hands the others to
        ``submit`` (the loop's runner), so the callee hears the robot after one clause's synthesis,
        not the whole prompt's. Recordings and one-clause prompts come whole.
        """
        from tts.kokoro import split_clauses

        pieces = say.parts or ((say.text, say.audio),)
        (text, audio), *others = pieces
        clauses = split_clauses(text) if not others and not (audio and self.flow_dir is not None) else []
        if len(clauses) <= 1:
            return Streamed(self.render(say))
        first = Audio(self._clause_pcm(clauses[0].text, clauses[0].pause_s), self.sample_rate)

        def rest() -> Audio:
            pcm = b"".join(self._clause_pcm(clause.text, clause.pause_s) for clause in clauses[1:])
            return Audio(pcm, self.sample_rate)

        return Streamed(first, submit(rest))

    def _tts(self, text: str) -> Audio:
        """Synthesise clause by clause through the cache.

        A prompt with a variable ("{name}您好，您本期账单{amount}元，现在可以…") then costs a call only
        its variable clauses: the others were cached by an earlier call or by :meth:`warm`.
        """
        from tts.kokoro import split_clauses

        clauses = split_clauses(text)
        if len(clauses) <= 1:
            return self._cached(text)
        pcm = b"".join(self._clause_pcm(clause.text, clause.pause_s) for clause in clauses)
        return Audio(pcm, self.sample_rate)

    def _clause_pcm(self, text: str, pause_s: float) -> bytes:
        return self._cached(text).pcm + bytes(int(pause_s * self.sample_rate) * 2)

    def _cached(self, text: str) -> Audio:
        return self.cache.get(text, language=self.language, rate=self.rate, sample_rate=self.sample_rate)

    def warm(self, texts: list[str]) -> tuple[int, int]:
        """Synthesise ``texts`` into the cache ahead of calls; returns (new, already cached) clauses."""
        before_misses, before_hits = self.cache.misses, self.cache.hits
        for text in texts:
            self._tts(text)
        return self.cache.misses - before_misses, self.cache.hits - before_hits


def fixed_texts(flow: Flow) -> list[str]:
    """Everything the robot may say that has no ``{variable}``, and the clauses without one of the lines
    that have some ("…账单{amount}元，现在可以申请账单分期，" → "现在可以申请账单分期，"): synthesised ahead
    of calls, so a call synthesises only the clauses its variables change."""
    from tts.kokoro import split_clauses

    texts: list[str] = []
    for text in spoken_texts(flow):
        if not placeholders(text):
            texts.append(text)
        else:
            texts += [clause.text for clause in split_clauses(text) if not placeholders(clause.text)]
    return list(dict.fromkeys(texts))


def variable_texts(flow: Flow, variables: Mapping[str, str]) -> list[str]:
    """The lines with ``{variables}``, filled in for one call (synthesised while its phone rings).

    ``variables`` are the call's (flow defaults under the contact's); lines naming a variable the
    call lacks are left out.
    """
    from dialog.templates import render

    values = {name: v.default for name, v in flow.variables.items() if v.default}
    values.update(variables)
    texts = [
        render(text, values)
        for text in spoken_texts(flow)
        if placeholders(text) and set(placeholders(text)) <= values.keys()
    ]
    return list(dict.fromkeys(texts))


def spoken_texts(flow: Flow) -> list[str]:
    """Every distinct line the robot may say, ``{variables}`` unfilled: prompts, re-asks, replies,
    knowledge-base answers, fallbacks."""
    texts: list[str] = []
    for node in flow.nodes.values():
        texts += [*node.prompt, *node.reask]
        for cell in node.answers.values():
            texts += cell.reply
    for cell in flow.global_answers.values():
        texts += cell.reply
    for entry in flow.kb_entries:
        texts += entry.answer
    for policy in (flow.fallbacks.no_input, flow.fallbacks.no_match):
        if policy is not None:
            texts += [*policy.replies, *policy.exhausted.reply]
    texts += [*flow.transfer.failed_reply, *flow.settings.max_turns_reply]
    return list(dict.fromkeys(texts))
