"""High-precision rules: exact examples, operator regexes, keywords (longest match wins), fuzzy n-grams.

Works without any model, so the simulator and flow tests run anywhere; the embedding model
(``nlu.model``) layers on top of it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dialog.schema import FAQ_PREFIX, Flow
from nlu.base import NO_MATCH, NluResult
from nlu.entities import extract_entities
from nlu.normalize import core_form, is_cjk, normalize
from nlu.phonetic import find_phonetic, near_spans, phonetic_key, phonetic_tokens
from nlu.segment import boundaries, clause_spans, function_chars, is_negated, leading_word, words

EXAMPLE_CONFIDENCE = 1.0
PATTERN_CONFIDENCE = 0.95
PHONETIC_WEIGHT = 0.8
#: Phrases (keywords, examples) a transcript may be repaired towards: 2 to 8 Chinese characters.
REPAIR_PHRASE_CHARS = (2, 8)
#: Near-syllable budget of a repair by phrase length in syllables (2, 3, 4 and more): one near
#: syllable up to three syllables, two from four on. (No near syllable in two-syllable phrases lost
#: 2-3 clips on each spoken dev set and rejected no more out-of-domain clips.)
REPAIR_BUDGETS = (0.5, 0.5, 1.0)
MAX_REPAIRS = 4
#: Keywords decide alone (score ≥ 0.6) only when they cover this share of the utterance or of one
#: of its clauses; a keyword inside a longer sentence (你说 in 你说慢一点) is only a hint.
DECISIVE_COVERAGE = 0.5
KEYWORD_HINT = 0.2
#: Keywords that start negated are exempt from negation (不需要, not interested, 没问题).
_NEGATED_START = ("不", "没", "别", "not ", "no ", "don't", "never", "can't", "won't")
#: Intents whose keywords a negation flips to another intent (不 确认 → deny); other intents'
#: negated keywords are dropped, except knowledge-base ones (没有手续费吗 still asks about fees).
NEGATION_FLIPS = {"affirm": "deny"}
#: Intents that answer the robot's question: their keyword as the first word decides (yes ..., 行 ...).
ANSWER_INTENTS = frozenset({"affirm", "deny"})


@dataclass
class IntentRules:
    """Normalised examples, keywords and compiled patterns of one intent."""

    name: str
    examples: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    #: Keywords that count only as a whole clause (对, 行: too short to trust inside a sentence).
    exact: list[str] = field(default_factory=list)


def features(text: str) -> set[str]:
    """Character unigrams and bigrams for Chinese, words and word bigrams for Latin text."""
    grams: set[str] = set()
    for chunk in text.split(" "):
        if chunk and all(is_cjk(ch) for ch in chunk):
            grams.update(chunk)
            grams.update(chunk[i : i + 2] for i in range(len(chunk) - 1))
        elif chunk:
            grams.add(chunk)
    words = text.split(" ")
    grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return grams


def dice(a: set[str], b: set[str]) -> float:
    """Dice coefficient of two feature sets."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _keyword_regex(keyword: str) -> re.Pattern[str]:
    # Latin keywords must match whole words ("no" must not fire inside "know").
    escaped = re.escape(keyword)
    if keyword and not is_cjk(keyword[0]):
        escaped = r"(?<![a-z0-9'])" + escaped
    if keyword and not is_cjk(keyword[-1]):
        escaped += r"(?![a-z0-9'])"
    return re.compile(escaped)


class RuleClassifier:
    """Keyword/regex/example classifier built from a flow's intents and knowledge base."""

    def __init__(
        self,
        intents: Iterable[IntentRules],
        threshold: float = 0.5,
        *,
        phonetic: bool = True,
        neutral: Iterable[str] = (),
    ) -> None:
        self.intents = {rules.name: rules for rules in intents}
        self.threshold = threshold
        self._example_index: dict[str, str] = {}
        self._features: dict[str, list[set[str]]] = {}
        self._keywords: list[tuple[re.Pattern[str], str, str]] = []
        self._exact_keywords: dict[str, str] = {}
        # Single characters are left out: folded, one syllable matches far too much (行 → jin → 今).
        self._phonetic_keywords: list[tuple[str, str]] = []
        # Keywords and examples in pinyin tokens, for repairing near-homophone transcripts.
        self._repair_phrases: list[tuple[list[str], frozenset[str], str, str]] = []
        # Neutral phrases hide the keywords inside them without scoring: 是不是 hides 不是.
        self._neutral = [_keyword_regex(normalize(phrase)) for phrase in neutral if normalize(phrase)]
        for rules in self.intents.values():
            for example in rules.examples:
                self._example_index.setdefault(core_form(example), rules.name)
            self._features[rules.name] = [features(example) for example in rules.examples]
            for keyword in rules.exact:
                self._exact_keywords.setdefault(core_form(keyword), rules.name)
            for keyword in rules.keywords:
                self._keywords.append((_keyword_regex(keyword), keyword, rules.name))
                if phonetic and len(keyword) >= 2 and all(is_cjk(ch) for ch in keyword):
                    self._phonetic_keywords.append((phonetic_key(keyword), rules.name))
            if phonetic:
                shortest, longest = REPAIR_PHRASE_CHARS
                for phrase in dict.fromkeys([*rules.keywords, *rules.examples]):
                    if shortest <= len(phrase) <= longest and all(is_cjk(ch) for ch in phrase):
                        syllables = phonetic_tokens(phrase)
                        self._repair_phrases.append((syllables, frozenset(syllables), phrase, rules.name))

    @classmethod
    def from_flow(cls, flow: Flow) -> RuleClassifier:
        """Rules for every intent of ``flow`` and every KB entry (as ``faq:<id>``)."""
        rules = [
            IntentRules(
                name,
                [normalize(text) for text in definition.examples],
                [normalize(text) for text in definition.keywords],
                [re.compile(pattern) for pattern in definition.patterns],
                [normalize(text) for text in definition.exact_keywords],
            )
            for name, definition in flow.intents.items()
        ]
        rules += [
            IntentRules(
                FAQ_PREFIX + entry.id,
                [normalize(text) for text in entry.questions],
                [normalize(text) for text in entry.keywords],
                [re.compile(pattern) for pattern in entry.patterns],
                [normalize(text) for text in entry.exact_keywords],
            )
            for entry in flow.kb_entries
        ]
        return cls(rules, threshold=flow.settings.nlu_threshold, neutral=flow.settings.neutral_phrases)

    def _keyword_spans(
        self, text: str, allowed: set[str], clauses: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[int, int, str, float]]:
        """(start, end, intent, weight) of keyword hits; homophone (pinyin) hits weigh less.

        Hits must start and end on word boundaries (对 is not in 对面); a negated hit (不 确认) is
        flipped (:data:`NEGATION_FLIPS`) or dropped; exact-only keywords hit whole clauses only.
        """
        edges = boundaries(text) if any(is_cjk(ch) for ch in text) else frozenset()
        spans: list[tuple[int, int, str, float]] = []

        def add(start: int, end: int, intent: str, keyword: str, weight: float) -> None:
            # A keyword starts a word; one character must also end it (对 not in 对面), a longer
            # one may begin a longer word (换回 in 换回来: jieba merges more than people mean).
            if is_cjk(text[start]) and start not in edges:
                return
            if is_cjk(text[end - 1]) and end not in edges and end - start < 2:
                return
            if weight < 1.0 and end - start == 2 and (start, end) not in words(text):
                return  # a two-syllable homophone must be one word (中心 for 征信), not 死我 for 是我
            exempt = intent.startswith(FAQ_PREFIX) or keyword.startswith(_NEGATED_START)
            if not exempt and is_negated(text, start):
                flipped = NEGATION_FLIPS.get(intent)
                if flipped in allowed:
                    spans.append((start, end, flipped, weight))
                return
            spans.append((start, end, intent, weight))

        for regex, keyword, intent in self._keywords:
            if intent in allowed:
                for m in regex.finditer(text):
                    add(m.start(), m.end(), intent, keyword, 1.0)
        for start, end in clauses:
            exact = self._exact_keywords.get(core_form(text[start:end].strip()))
            if exact is not None and exact in allowed:
                spans.append((start, end, exact, 1.0))
        if self._phonetic_keywords and edges:
            text_key = phonetic_key(text)
            literal = {(start, end, intent) for start, end, intent, _w in spans}
            for key, intent in self._phonetic_keywords:
                if intent in allowed:
                    for start, end in find_phonetic(key, text_key):
                        if (start, end, intent) not in literal:
                            add(start, end, intent, text[start:end], PHONETIC_WEIGHT)
        return spans

    def phonetic_repairs(
        self, normalized: str, candidates: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """Transcripts repaired towards the flow's vocabulary, with their near-syllable cost.

        A window of ``normalized`` that sounds like a keyword or an example of a candidate intent
        (same folded pinyin, or near syllables within the budget: 影响中心吗 → 影响征信吗) is
        replaced by that phrase. At most :data:`MAX_REPAIRS`, cheapest and longest first; none for
        text without Chinese characters.
        """
        if not self._repair_phrases or not any(is_cjk(ch) for ch in normalized):
            return []
        allowed = set(candidates) if candidates is not None else set(self.intents)
        tokens = phonetic_tokens(normalized)
        if len(tokens) != len(normalized):  # pinyin must align with characters
            return []
        present = set(tokens)
        found: dict[str, tuple[float, int]] = {}
        for phrase_tokens, syllables, phrase, intent in self._repair_phrases:
            # Every budget leaves at least one syllable exact: skip phrases sharing none (fast).
            if intent not in allowed or len(phrase_tokens) > len(tokens) or not syllables & present:
                continue
            budget = REPAIR_BUDGETS[min(len(phrase_tokens), 4) - 2]
            for start, end, cost in near_spans(phrase_tokens, tokens, budget):
                if normalized[start:end] == phrase:
                    continue
                repaired = normalized[:start] + phrase + normalized[end:]
                if repaired not in found or cost < found[repaired][0]:
                    found[repaired] = (cost, end - start)
        ranked = sorted(found.items(), key=lambda item: (item[1][0], -item[1][1], item[0]))
        return [(text, cost) for text, (cost, _length) in ranked[:MAX_REPAIRS]]

    def _keyword_scores(
        self,
        text: str,
        allowed: set[str],
        clauses: Sequence[tuple[int, int]] = (),
        leading: tuple[int, int] | None = None,
    ) -> dict[str, float]:
        """Coverage of the text, or of its best clause, by each intent's keywords.

        A longer overlapping keyword wins. ``leading``: the first spoken word, a clause of its own
        for the answer intents (yes connect me, 行 你介绍一下).
        """
        clauses = list(clauses) or [(0, len(text))]
        spans = self._keyword_spans(text, allowed, clauses)
        spans += [(m.start(), m.end(), "", 0.0) for regex in self._neutral for m in regex.finditer(text)]
        # Drop spans strictly inside a longer one: "不需要" (deny) hides "需要" (affirm).
        kept = [
            span
            for span in spans
            if span[2]
            and not any(
                other[0] <= span[0] and span[1] <= other[1] and other[1] - other[0] > span[1] - span[0]
                for other in spans
            )
        ]
        covered: dict[str, dict[int, float]] = {}
        for start, end, intent, weight in kept:
            chars = covered.setdefault(intent, {})
            for index in range(start, end):
                chars[index] = max(chars.get(index, 0.0), weight)
        ranges = [(0, len(text)), *clauses]
        idle = function_chars(text)
        coverage: dict[str, float] = {}
        for intent, chars in covered.items():
            best = 0.0
            # yes/行 first decides only when no other intent's keyword follows (yes cancel it).
            alone = set(covered) == {intent}
            answer_word = [leading] if leading and alone and intent in ANSWER_INTENTS else []
            for start, end in [*ranges, *answer_word]:
                # Particles and hedges the keywords leave uncovered do not count (那好吧 is 好).
                counted = [i for i in range(start, end) if text[i] != " " and (i in chars or i not in idle)]
                length = max(len(counted), 1)
                inside = sum(weight for index, weight in chars.items() if start <= index < end)
                best = max(best, min(inside / length, 1.0))
            coverage[intent] = best
        return coverage

    def scores(self, text: str, candidates: Sequence[str] | None = None) -> tuple[str, dict[str, float], str]:
        """Normalised text, a score per candidate intent and which layer decided the best one."""
        allowed = set(candidates) if candidates is not None else set(self.intents)
        normalized = normalize(text)
        scores: dict[str, float] = {}
        if not normalized:
            return normalized, scores, "none"
        exact = self._example_index.get(core_form(normalized))
        if exact in allowed:
            return normalized, {exact: EXAMPLE_CONFIDENCE}, "example"
        for intent in allowed:
            rules = self.intents.get(intent)
            if rules and any(pattern.search(normalized) for pattern in rules.patterns):
                scores[intent] = PATTERN_CONFIDENCE
        if scores:
            return normalized, scores, "pattern"
        spans = clause_spans(text, normalized)
        leading = leading_word(text, normalized)
        for intent, coverage in self._keyword_scores(normalized, allowed, spans, leading).items():
            base = 0.6 if coverage >= DECISIVE_COVERAGE else KEYWORD_HINT
            # On a tie the specific intent wins over a bare yes/no (不是 你打错了 is wrong_person).
            scores[intent] = base + 0.3 * coverage - (0.01 if intent in ANSWER_INTENTS else 0.0)
        source = "keyword" if scores else "fuzzy"
        query = features(normalized)
        for intent in allowed:
            similarity = max(
                (dice(query, example) for example in self._features.get(intent, [])), default=0.0
            )
            if similarity > scores.get(intent, 0.0):
                scores[intent] = similarity
        return normalized, scores, source

    def classify(self, text: str, candidates: Sequence[str] | None = None) -> NluResult:
        """Best candidate intent, or ``no_match`` below the threshold."""
        normalized, scores, source = self.scores(text, candidates)
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        alternatives = tuple((intent, round(score, 4)) for intent, score in ranked[:3])
        if not ranked or ranked[0][1] < self.threshold:
            best = ranked[0][1] if ranked else 0.0
            entities = extract_entities(normalized)
            return NluResult(NO_MATCH, round(best, 4), normalized, "none", entities, alternatives)
        intent, score = ranked[0]
        entities = extract_entities(normalized)
        return NluResult(intent, round(score, 4), normalized, source, entities, alternatives)
