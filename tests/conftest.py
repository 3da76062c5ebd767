"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"

MINIMAL_FLOW = """\
flow:
  id: mini
  name: Mini
  language: zh
  version: 1
variables:
  name: {default: 客户}
start: ask
nodes:
  ask:
    prompt: ["{name}您好，需要办理吗？", 请问需要办理吗？]
    answers:
      affirm: {reply: 好的, tags: [yes], goto: done}
      deny: {tags: [no], next: bye}
  done:
    prompt: 已为您办理，再见。
    then: hangup
  bye:
    prompt: 好的，再见。
    then: hangup
global:
  repeat: repeat
  busy: {reply: 那不打扰了, next: hangup}
intents:
  affirm: {examples: [好的, 可以], keywords: [好, 可以]}
  deny: {examples: [不要, 不用了], keywords: [不要, 不用]}
  repeat: {examples: [再说一遍], keywords: [什么, 再说]}
  busy: {examples: [在忙], keywords: [忙]}
knowledge_base:
  - id: fee
    questions: [多少钱]
    keywords: [钱, 费用]
    answer: 免费的。
fallbacks:
  no_input: {replies: [喂？], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}
  no_match: {replies: [没听清。], max_per_node: 1, max_per_call: 2, exhausted: {reply: 再见, next: hangup}}
grading:
  rules:
    - {grade: A, when: {reached_any: [done]}}
    - {grade: D, when: {tags_any: ["no"]}}
  default: C
"""


@pytest.fixture
def minimal_flow_text() -> str:
    """A small valid flow, the base for mutation tests."""
    return MINIMAL_FLOW
