"""Flow tests: YAML conversations (callee says X → expect node / reply / tag / grade), run on the engine.

A test file looks like::

    flow: ../credit_card_installment.yaml      # relative to this file
    variables: {name: 张先生, amount: "12000"}
    cases:
      - name: interested callee is transferred
        turns:
          - say: 是我
            expect: {intent: affirm, node: offer, reply_contains: 分期}
          - silence: true                         # a no-input timeout
          - dtmf: "1"
          - hangup: true                          # the callee hangs up
        end: {grade: A, outcome: transferred, tags: [interested], dnc: false}

A flow with ``fetch:`` nodes declares their answers (no network): ``fixtures: {fetch_bill: {json:
{...}}}`` (or ``{status: timeout}`` / ``{status: error}``) for the file, and per case to override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dialog.loader import load_flow
from dialog.problems import FlowError
from dialog.schema import Flow
from dialog.yaml_positions import load_yaml
from nlu.base import IntentClassifier
from nlu.factory import build_classifier
from waihu.conversation import Conversation, TurnOutput
from waihu.live_data import FetchFixture, FixtureFetcher


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class TurnExpect(_Strict):
    """Checks after one callee turn; every given field must hold."""

    intent: str | None = None
    node: str | None = None
    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    ended: bool | None = None
    transferred: bool | None = None

    _lists = field_validator("reply_contains", "reply_not_contains", "tags", mode="before")(_as_list)


class FlowTestTurn(_Strict):
    """One callee turn: exactly one of say / silence / dtmf / hangup / transfer_failed."""

    say: str | None = None
    silence: bool = False
    dtmf: str | None = None
    hangup: bool = False
    transfer_failed: bool = False
    expect: TurnExpect = Field(default_factory=TurnExpect)

    @model_validator(mode="after")
    def _one_kind(self) -> FlowTestTurn:
        kinds = [self.say is not None, self.silence, self.dtmf is not None, self.hangup, self.transfer_failed]
        if sum(kinds) != 1:
            raise ValueError("a turn needs exactly one of say, silence, dtmf, hangup, transfer_failed")
        return self


class EndExpect(_Strict):
    """Checks on the finished call."""

    grade: str | None = None
    outcome: str | None = None
    tags: list[str] = Field(default_factory=list)
    tags_absent: list[str] = Field(default_factory=list)
    dnc: bool | None = None
    kb_hits: list[str] | None = None
    visited: list[str] = Field(default_factory=list)


class FlowTestCase(_Strict):
    """A scripted conversation."""

    name: str
    variables: dict[str, str] = Field(default_factory=dict)
    #: Fetch node -> its declared answer, over the file's fixtures (no network in flow tests).
    fixtures: dict[str, FetchFixture] = Field(default_factory=dict)
    turns: list[FlowTestTurn] = Field(default_factory=list)
    end: EndExpect | None = None


class FlowTestFile(_Strict):
    """A flow-test file."""

    flow: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    fixtures: dict[str, FetchFixture] = Field(default_factory=dict)
    cases: list[FlowTestCase] = Field(min_length=1)


@dataclass
class CaseResult:
    """Outcome of one test case."""

    name: str
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.failures


def _check_turn(index: int, expect: TurnExpect, output: TurnOutput, conv: Conversation) -> list[str]:
    failures: list[str] = []
    where = f"turn {index}"
    reply = output.reply_text
    intent = output.nlu.intent if output.nlu else None
    if expect.intent is not None and intent != expect.intent:
        failures.append(f"{where}: expected intent {expect.intent}, got {intent}")
    if expect.node is not None and conv.node != expect.node:
        failures.append(f"{where}: expected node {expect.node}, got {conv.node}")
    failures += [
        f"{where}: reply lacks {text!r}: {reply!r}" for text in expect.reply_contains if text not in reply
    ]
    failures += [
        f"{where}: reply contains {text!r}: {reply!r}" for text in expect.reply_not_contains if text in reply
    ]
    tags = conv.engine.state.tags
    failures += [f"{where}: tag {tag!r} not set (tags: {tags})" for tag in expect.tags if tag not in tags]
    state = conv.engine.state
    # A call handed to a seat has ended for the robot, whether or not the seat has answered yet.
    ended = conv.finished or state.phase == "transferring"
    if expect.ended is not None and ended != expect.ended:
        failures.append(f"{where}: expected the call {'ended' if expect.ended else 'ongoing'}")
    if expect.transferred is not None:
        transferred = state.phase == "transferring" or state.outcome == "transferred"
        if transferred != expect.transferred:
            failures.append(f"{where}: expected transferred={expect.transferred}")
    return failures


def _check_end(expect: EndExpect, conv: Conversation) -> list[str]:
    if not conv.finished:
        return ["end: the call had not ended after the last turn"]
    result = conv.result()
    failures: list[str] = []
    if expect.grade is not None and result.grade != expect.grade:
        failures.append(f"end: expected grade {expect.grade}, got {result.grade}")
    if expect.outcome is not None and result.outcome != expect.outcome:
        failures.append(f"end: expected outcome {expect.outcome}, got {result.outcome}")
    failures += [
        f"end: tag {tag!r} missing (tags: {result.tags})" for tag in expect.tags if tag not in result.tags
    ]
    failures += [f"end: tag {tag!r} present" for tag in expect.tags_absent if tag in result.tags]
    if expect.dnc is not None and result.dnc != expect.dnc:
        failures.append(f"end: expected dnc={expect.dnc}, got {result.dnc}")
    if expect.kb_hits is not None and result.kb_hits != expect.kb_hits:
        failures.append(f"end: expected kb_hits {expect.kb_hits}, got {result.kb_hits}")
    failures += [f"end: node {node!r} not visited" for node in expect.visited if node not in result.visited]
    return failures


def run_case(
    flow: Flow,
    case: FlowTestCase,
    variables: dict[str, str],
    classifier: IntentClassifier | None = None,
    fixtures: dict[str, FetchFixture] | None = None,
) -> CaseResult:
    """Run one scripted conversation and collect failed checks and a transcript.

    ``fixtures``: the file's fetch fixtures; the case's own override them node by node.
    """
    result = CaseResult(case.name)
    fetcher = FixtureFetcher({**(fixtures or {}), **case.fixtures})
    conv = Conversation(
        flow, classifier, {**variables, **case.variables}, auto_complete_transfer=False, fetcher=fetcher
    )
    result.transcript.append(f"robot: {conv.start().reply_text}")
    for index, turn in enumerate(case.turns, start=1):
        if conv.engine.state.phase == "transferring" and not turn.transfer_failed:
            conv.transfer_completed()
        if conv.finished:
            result.failures.append(f"turn {index}: the call already ended at node {conv.node}")
            break
        if turn.say is not None:
            output = conv.user_says(turn.say)
            label = turn.say
        elif turn.silence:
            output, label = conv.no_input(), "(silence)"
        elif turn.dtmf is not None:
            output, label = conv.dtmf(turn.dtmf), f"(dtmf {turn.dtmf})"
        elif turn.transfer_failed:
            output, label = conv.transfer_failed(), "(no seat answers)"
        else:
            output, label = conv.hangup(), "(hangs up)"
        intent = f" [{output.nlu.intent} {output.nlu.confidence:.2f}]" if output.nlu else ""
        result.transcript.append(f"callee: {label}{intent}")
        result.transcript.append(f"robot: {output.reply_text}  -> {conv.node}")
        result.failures += _check_turn(index, turn.expect, output, conv)
    if conv.engine.state.phase == "transferring":
        conv.transfer_completed()
    result.failures += [f"fetch node {node!r} has no fixture (fixtures:)" for node in fetcher.unknown]
    if case.end is not None:
        result.failures += _check_end(case.end, conv)
    return result


def flow_tests_path(flow_path: Path) -> Path:
    """Where the tests of a flow live: ``flows/tests/<flow file name>``."""
    return flow_path.parent / "tests" / flow_path.name


def load_test_file(path: Path) -> tuple[FlowTestFile, Path]:
    """Parse a test file and resolve the flow it tests."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ValueError(f"{where}: YAML syntax error: {exc.problem}") from exc
    if not isinstance(data, dict) or "cases" not in data:
        raise ValueError(
            f"{path}: not a flow test file (no cases:); flow tests live in tests/<flow file name>"
        )
    try:
        tests = FlowTestFile.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid flow test file:\n{exc}") from exc
    flow_path = (path.parent / tests.flow) if tests.flow else path.parent.parent / path.name
    return tests, flow_path


def run_test_file(path: Path, classifier_kind: str = "default") -> list[CaseResult]:
    """Run every case of a test file (or of the tests of a flow file) with the NLU of ``classifier_kind``."""
    if path.parent.name != "tests" and flow_tests_path(path).is_file():
        path = flow_tests_path(path)
    tests, flow_path = load_test_file(path)
    try:
        flow = load_flow(flow_path)
    except FlowError as exc:
        raise ValueError(f"flow under test is invalid:\n{exc}") from exc
    classifier = build_classifier(flow, classifier_kind)
    return [run_case(flow, case, tests.variables, classifier, tests.fixtures) for case in tests.cases]
