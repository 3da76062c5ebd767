"""Flow work for the console: live validation, the answer table, flow tests and cached stored flows."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dialog.flow_files import NO_FILES, FileAccess
from dialog.loader import load_flow_text
from dialog.schema import Cell, Flow
from dialog.yaml_limits import YamlLimitError
from dialog.yaml_positions import load_yaml
from nlu.base import IntentClassifier
from nlu.factory import build_classifier
from waihu.flowtest import FlowTestFile, run_case
from waihu.service.flows import problem_item


class FlowTextError(ValueError):
    """A flow or test text that cannot be used; ``problems`` are ``FILE:LINE:COL: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def validate_text(
    text: str, filename: str = "flow.yaml", recordings: list[str] | None = None
) -> dict[str, Any]:
    """Validate flow YAML; every problem with its line, column, severity and printable form.

    The text comes from the browser: it may reference no files on the server, only the ``recordings``
    (names) stored with the version being edited.
    """
    files = FileAccess.for_bundle(recordings) if recordings else NO_FILES
    loaded = load_flow_text(text, filename, files=files)
    # Each with its registry code and params (dialog.problem_codes): the console words the problem in
    # the operator's language with them; "message" and "text" stay the validator's English.
    problems = [{**problem_item(problem), "text": problem.format()} for problem in loaded.problems]
    flow = loaded.flow
    return {
        "ok": flow is not None and not loaded.errors,
        "problems": problems,
        "flow_id": flow.flow.id if flow is not None else None,
        "name": flow.flow.name if flow is not None else None,
    }


def parse_flow(text: str, filename: str = "flow.yaml", files: FileAccess = NO_FILES) -> Flow:
    """A valid flow from YAML text (no file references unless ``files`` says, e.g. a stored version's
    recordings); raises :class:`FlowTextError` listing errors."""
    loaded = load_flow_text(text, filename, files=files)
    if loaded.flow is None or loaded.errors:
        raise FlowTextError([problem.format() for problem in loaded.errors or loaded.problems])
    return loaded.flow


def _cell_view(cell: Cell) -> dict[str, Any]:
    return {"reply": list(cell.reply), "tags": list(cell.tags), "next": cell.next, "dnc": cell.dnc}


def answer_table(flow: Flow) -> dict[str, Any]:
    """The two-dimensional answer table: one row per node plus the global row, one column per intent.

    Columns are the intents some row answers, in the order the flow declares them (others after).
    A node's missing cell falls through to the global row, which the console shows greyed.
    """
    used: list[str] = []
    for node in flow.nodes.values():
        used += list(node.answers)
    used += list(flow.global_answers)
    declared = [name for name in flow.intents if name in used]
    columns = declared + [name for name in dict.fromkeys(used) if name not in declared]
    rows = [
        {
            "id": node_id,
            "kind": "node",
            "prompt": node.prompt[0] if node.prompt else f"(fetch {node.fetch.url})" if node.fetch else "",
            "then": node.then,
            "tags": list(node.tags),
            "dtmf": dict(node.dtmf),
            "start": node_id == flow.start,
            "cells": {intent: _cell_view(cell) for intent, cell in node.answers.items()},
        }
        for node_id, node in flow.nodes.items()
    ]
    rows.append(
        {
            "id": "global",
            "kind": "global",
            "prompt": "",
            "then": "",
            "tags": [],
            "dtmf": {},
            "start": False,
            "cells": {intent: _cell_view(cell) for intent, cell in flow.global_answers.items()},
        }
    )
    unused = [name for name in flow.intents if name not in used]
    return {
        "flow_id": flow.flow.id,
        "name": flow.flow.name,
        "columns": columns,
        "rows": rows,
        "unused": unused,
    }


def shipped_tests(flows_dir: Path, flow_id: str) -> tuple[str, Path] | None:
    """The tests shipped for the flow whose ``flow.id`` is ``flow_id``: ``flows/tests/<file name>``."""
    for path in sorted(flows_dir.glob("*.yaml")):
        tests = path.parent / "tests" / path.name
        if not tests.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        meta = data.get("flow") if isinstance(data, dict) else None
        if isinstance(meta, dict) and meta.get("id") == flow_id:
            return tests.read_text(encoding="utf-8"), tests
    return None


def parse_tests(text: str) -> FlowTestFile:
    """A flow-test file from YAML text; raises :class:`FlowTextError` when it is not one."""
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"tests.yaml:{mark.line + 1}:{mark.column + 1}" if mark else "tests.yaml"
        kind = "YAML refused" if isinstance(exc, YamlLimitError) else "YAML syntax error"
        raise FlowTextError([f"{where}: {kind}: {exc.problem}"]) from exc
    except yaml.YAMLError as exc:
        raise FlowTextError([f"tests.yaml:1:1: YAML error: {exc}"]) from exc
    if not isinstance(data, dict) or "cases" not in data:
        raise FlowTextError(["tests.yaml: not a flow test file (needs cases:)"])
    try:
        return FlowTestFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"tests.yaml: {error['loc']}: {error['msg']}" for error in exc.errors()]
        raise FlowTextError(problems) from exc


class ClassifierCache:
    """Classifiers by (flow text hash, kind), built once and kept for the last few flows."""

    def __init__(self, kind: str, size: int = 16) -> None:
        self.kind = kind
        self.size = size
        self._items: OrderedDict[str, IntentClassifier] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, flow: Flow, text: str) -> IntentClassifier:
        """The classifier for ``flow`` (whose YAML is ``text``)."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self._lock:
            if digest in self._items:
                self._items.move_to_end(digest)
                return self._items[digest]
            classifier = build_classifier(flow, self.kind)
            self._items[digest] = classifier
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return classifier


def run_tests(flow_text: str, tests_text: str, classifiers: ClassifierCache) -> list[dict[str, Any]]:
    """Run every case of ``tests_text`` against the flow ``flow_text`` (its ``flow:`` line is ignored)."""
    flow = parse_flow(flow_text)
    tests = parse_tests(tests_text)
    classifier = classifiers.get(flow, flow_text)
    results = [run_case(flow, case, tests.variables, classifier, tests.fixtures) for case in tests.cases]
    return [
        {
            "name": result.name,
            "passed": result.passed,
            "failures": result.failures,
            "transcript": result.transcript,
        }
        for result in results
    ]
