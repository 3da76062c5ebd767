"""Grading: rules evaluated at hang-up over reached nodes, intents, tags and outcome."""

from __future__ import annotations

from dialog.schema import Condition, Grading
from dialog.state import CallState


def condition_holds(condition: Condition, state: CallState, outcome: str) -> bool:
    """True when every clause of ``condition`` holds for the call."""
    visited, tags, intents = set(state.visited), set(state.tags), set(state.intents_seen)
    checks = [
        not condition.reached_any or bool(visited & set(condition.reached_any)),
        set(condition.reached_all) <= visited,
        not visited & set(condition.not_reached),
        not condition.intents_any or bool(intents & set(condition.intents_any)),
        not intents & set(condition.intents_none),
        not condition.tags_any or bool(tags & set(condition.tags_any)),
        set(condition.tags_all) <= tags,
        not tags & set(condition.tags_none),
        not condition.outcome_in or outcome in condition.outcome_in,
        condition.min_rounds is None or state.rounds >= condition.min_rounds,
        condition.max_rounds is None or state.rounds <= condition.max_rounds,
        condition.min_kb_hits is None or len(state.kb_hits) >= condition.min_kb_hits,
    ]
    return all(checks)


def grade_call(grading: Grading, state: CallState, outcome: str) -> tuple[str, str, list[str]]:
    """Grade, label and final tags (call tags plus the matching rule's tags, order kept)."""
    for rule in grading.rules:
        if condition_holds(rule.when, state, outcome):
            tags = list(dict.fromkeys([*state.tags, *rule.tags]))
            return rule.grade, rule.label, tags
    return grading.default, "", list(state.tags)
