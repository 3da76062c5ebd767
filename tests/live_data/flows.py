"""A small flow with a fetch node, shared by the live-data tests."""

from __future__ import annotations

from dialog.loader import load_flow_text
from dialog.schema import Flow

FETCH_FLOW = """\
flow: {id: bill, name: Bill, language: zh, version: 1}
variables:
  name: {default: 客户}
  customer_id: {required: true}
  amount: {description: filled by the fetch}
  plans: {description: filled by the fetch}
start: ask
nodes:
  ask:
    prompt: "{name}您好，请问是您本人吗？"
    answers:
      affirm: {goto: bill}
  bill:
    tags: [fetching]
    fetch:
      url: "URL_TEMPLATE"
      method: METHOD
      timeout_ms: 300
      retries: RETRIES
      map: {amount: bill.amount, plans: plans}
      on_success: offer
      on_timeout: general
      on_error: sorry
  offer:
    prompt: 您本期账单{amount}元，可以分{plans}，需要办理吗？
    answers:
      affirm: {reply: 好的, next: hangup}
  general:
    prompt: 您的账单可以分期，需要办理吗？
    answers:
      affirm: {reply: 好的, next: hangup}
  sorry:
    prompt: 系统繁忙，稍后再联系您，再见。
    then: hangup
intents:
  affirm: {examples: [是的, 好的], keywords: [是, 好]}
fallbacks:
  no_input: {max_per_node: 1, max_per_call: 2, exhausted: {next: hangup}}
  no_match: {max_per_node: 1, max_per_call: 2, exhausted: {next: hangup}}
"""


def fetch_flow_text(
    url: str = "https://strategy.example.com/bills/{customer_id}", method: str = "GET", retries: int = 0
) -> str:
    """The flow's YAML with its fetch URL, method and retries filled in."""
    return FETCH_FLOW.replace("URL_TEMPLATE", url).replace("METHOD", method).replace("RETRIES", str(retries))


def fetch_flow(**kwargs: object) -> Flow:
    """The flow, loaded and validated (see :func:`fetch_flow_text`)."""
    loaded = load_flow_text(fetch_flow_text(**kwargs))  # type: ignore[arg-type]
    assert loaded.flow is not None, [problem.format() for problem in loaded.problems]
    assert not loaded.problems, [problem.format() for problem in loaded.problems]
    return loaded.flow
