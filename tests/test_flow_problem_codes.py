"""Flow problems carry a registry code and params: every code worded in both console catalogues,
no problem in ``dialog/`` without a registered code, and the English the command line prints unchanged."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import dialog
from dialog.flow_files import NO_FILES
from dialog.loader import load_flow_text
from dialog.problem_codes import (
    FILE_MESSAGES,
    PROBLEM_CODES,
    SCHEMA_MESSAGES,
    render_problem,
    template_params,
)
from dialog.problems import FlowProblem
from waihu.console import i18n
from waihu.console.flowtools import validate_text

DIALOG = Path(dialog.__file__).parent
#: What the console's t() fills (static/js/i18n.js).
JS_PLACEHOLDER = re.compile(r"\{(\w+)\}")
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")

VALID = """\
flow: {id: demo, name: Demo, language: zh, version: 1}
start: greeting
nodes:
  greeting:
    prompt: 您好
    answers:
      affirm: {next: bye}
  bye:
    prompt: 再见
    then: hangup
intents:
  affirm: {examples: [好的]}
fallbacks:
  no_input: {replies: [喂？], exhausted: {next: hangup}}
  no_match: {replies: [没听清], exhausted: {next: hangup}}
"""


def _js_form(template: str) -> str:
    """A registry template as the console's catalogue writes it ({{ and }} are literal braces there)."""
    return "".join(
        literal + ("{" + name + "}" if name is not None else "")
        for literal, name, _spec, _conv in string.Formatter().parse(template)
    )


def test_codes_are_stable_snake_case_names() -> None:
    assert all(CODE.match(code) for code in PROBLEM_CODES), [c for c in PROBLEM_CODES if not CODE.match(c)]
    assert {f"schema.{kind}" for kind in SCHEMA_MESSAGES} <= set(PROBLEM_CODES)
    assert set(FILE_MESSAGES) <= set(PROBLEM_CODES)


def test_every_code_is_in_both_catalogues_with_the_same_params() -> None:
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    for code, template in PROBLEM_CODES.items():
        key = f"flow.problem.{code}"
        assert key in zh and key in en, f"{key} missing in a catalogue"
        assert en[key] == _js_form(template), f"{key}: the English entry is the registry's template"
        params = template_params(template)
        assert set(JS_PLACEHOLDER.findall(zh[key])) == params, f"{key}: zh placeholders differ"
        assert set(JS_PLACEHOLDER.findall(en[key])) == params, f"{key}: en placeholders differ"
        assert re.search(r"[\u4e00-\u9fff]", zh[key]), f"{key}: the zh entry is not Chinese"
    orphans = {key for key in en if key.startswith("flow.problem.")} - {
        f"flow.problem.{code}" for code in PROBLEM_CODES
    }
    assert not orphans, f"catalogue entries of no registry code: {orphans}"


#: Calls that name a problem's code, and which positional argument is the code.
CODE_ARGUMENTS = {
    ("FlowProblem", "of"): 3,
    ("locator", "problem"): 1,
    ("", "_refused"): 0,
    ("FileReferenceError", "of"): 0,
    ("", "YamlSyntaxError"): 0,
    ("", "TemplateError"): 0,
}


def _unregistered_problem_sites(source: str, filename: str) -> list[str]:
    """``FlowProblem(...)`` built directly (an English message, no code), or a call naming a code that is
    a literal not in the registry or an f-string: each as ``file:line: why``."""
    known = set(PROBLEM_CODES) | set(SCHEMA_MESSAGES) | set(FILE_MESSAGES)
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner, name = getattr(func.value, "id", ""), func.attr
        else:
            owner, name = "", getattr(func, "id", "")
        if (owner, name) == ("", "FlowProblem"):
            found.append(f"{filename}:{node.lineno}: FlowProblem built without a code (use FlowProblem.of)")
            continue
        index = CODE_ARGUMENTS.get((owner, name))
        if index is None or len(node.args) <= index:
            continue
        code = node.args[index]
        if isinstance(code, ast.Constant) and code.value not in known:
            found.append(f"{filename}:{node.lineno}: unregistered code {code.value!r}")
        elif isinstance(code, ast.JoinedStr | ast.BinOp):
            found.append(f"{filename}:{node.lineno}: an English message where a code belongs")
    return found


def _semantic_findings(source: str, filename: str) -> list[str]:
    """Findings (``yield path, code, params, severity``) whose code is not a registered literal."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 4:
            code = node.value.elts[1]
            if isinstance(code, ast.Constant) and code.value not in PROBLEM_CODES:
                found.append(f"{filename}:{node.lineno}: unregistered code {code.value!r}")
            elif isinstance(code, ast.JoinedStr):
                found.append(f"{filename}:{node.lineno}: a finding with an English message")
        elif isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 3:
            found.append(f"{filename}:{node.lineno}: a (path, message, severity) finding")
    return found


def test_no_problem_in_dialog_is_made_without_a_registered_code() -> None:
    found: list[str] = []
    for path in sorted(DIALOG.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        found += _unregistered_problem_sites(source, path.name)
        if path.name == "semantics.py":
            found += _semantic_findings(source, path.name)
    assert not found, found


@pytest.mark.parametrize(
    "source",
    [
        'FlowProblem(str(path), 1, 1, "some english")',
        'FlowProblem.of(str(path), 1, 1, "no_such_code")',
        'locator.problem(data_path, f"{where}: bad")',
        'raise _refused("no_such_kind")',
    ],
)
def test_the_scan_catches_a_problem_without_a_registered_code(source: str) -> None:
    assert _unregistered_problem_sites(source, "new.py")


def test_the_scan_catches_an_english_finding() -> None:
    source = 'def check(flow):\n    yield ("nodes",), f"node {x} is odd", {}, "error"\n'
    assert _semantic_findings(source, "semantics.py")
    assert _semantic_findings('def c():\n    yield ("nodes",), "odd", "error"\n', "semantics.py")


def test_a_problem_renders_its_message_from_the_code_and_an_unknown_code_fails() -> None:
    problem = FlowProblem.of("f.yaml", 3, 5, "node_undefined", {"node": "offer"})
    assert problem.message == "node 'offer' is not defined"
    assert problem.format() == "f.yaml:3:5: node 'offer' is not defined"
    with pytest.raises(KeyError):
        render_problem("no_such_code", {})


def _problems(text: str) -> list[FlowProblem]:
    return load_flow_text(text, "demo.yaml", files=NO_FILES).problems


def test_known_problems_keep_their_english_and_carry_code_and_params() -> None:
    unknown_next = _problems(VALID.replace("affirm: {next: bye}", "affirm: {next: byee}"))
    first = next(p for p in unknown_next if p.code == "next_step_unknown")
    assert first.format() == (
        "demo.yaml:7:16: next step 'byee' is not a node nor one of hangup, transfer, stay, repeat, return"
    )
    assert first.params == {"step": "byee", "allowed": "hangup, transfer, stay, repeat, return"}

    missing = _problems(VALID.replace("name: Demo, ", ""))
    assert [(p.code, p.message) for p in missing] == [
        ("schema.missing", "flow: missing required field 'name'")
    ]
    assert missing[0].params == {"field": "flow.name", "parent": "flow", "name": "name"}

    typo = _problems(VALID.replace("    then: hangup", "    thn: hangup"))
    assert typo[0].code == "schema.extra_forbidden_suggest"
    assert typo[0].message == "nodes.bye: unknown field 'thn' (did you mean 'then'?)"

    version = _problems(VALID.replace("version: 1", "version: x"))
    assert [(p.code, p.message) for p in version] == [
        (
            "schema.int_parsing",
            "flow.version: Input should be a valid integer, unable to parse string as an integer",
        )
    ]

    dtmf = _problems(VALID.replace("    then: hangup", "    then: hangup\n    dtmf: {x: affirm}"))
    assert [(p.code, p.message) for p in dtmf] == [
        ("schema.dtmf_key_invalid", "nodes.bye.dtmf: DTMF key 'x' must be one of 0-9, * or #")
    ]
    assert dtmf[0].params == {"key": "'x'", "field": "nodes.bye.dtmf"}

    refused = _problems(VALID.replace("    then: hangup", "    then: hangup\n    audio: bye.wav"))
    assert refused[0].code == "file_references_refused"
    assert refused[0].message == (
        "nodes.bye.audio: a flow sent over the API or console cannot reference files; put the content inline"
    )

    syntax = _problems("flow: [\n")
    assert syntax[0].code == "yaml_syntax_error" and syntax[0].message.startswith("YAML syntax error: ")


def test_pydantic_ctx_becomes_params_and_differing_wording_falls_back_to_schema_error() -> None:
    problems = _problems(VALID.replace("prompt: 您好", "prompt: 您好\n    end_silence: 0"))
    assert problems[0].code == "schema.greater_than"
    assert problems[0].message == "nodes.greeting.end_silence: Input should be greater than 0"
    assert problems[0].params == {"gt": 0, "field": "nodes.greeting.end_silence"}
    # pydantic says "1 character" where the registry's template says "characters": the English wins.
    empty_url = VALID.replace("  bye:\n    prompt: 再见", "  bye:\n    fetch: {url: '', map: {a: b}}")
    fallback = [p for p in _problems(empty_url) if p.params.get("field") == "nodes.bye.fetch.url"]
    assert [(p.code, p.message) for p in fallback] == [
        ("schema.error", "nodes.bye.fetch.url: String should have at least 1 character")
    ]


def test_the_console_validation_answer_carries_code_params_and_the_english() -> None:
    answer = validate_text(VALID.replace("affirm: {next: bye}", "affirm: {next: byee}"), "demo.yaml")
    problem = answer["problems"][0]
    assert problem["code"] == "next_step_unknown"
    assert problem["params"]["step"] == "byee"
    assert problem["message"].startswith("next step 'byee'")
    assert problem["text"] == f"demo.yaml:{problem['line']}:{problem['col']}: {problem['message']}"
    assert problem["file"] == "demo.yaml"
