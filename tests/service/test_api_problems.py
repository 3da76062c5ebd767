"""The server's problem registry: every code worded in both console languages, and no English sentence
left outside it in the API modules (an AST scan, checked against a planted offender)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from waihu.console import i18n
from waihu.service.problems import PROBLEMS, Problem, invalid, placeholders

ROOT = Path(__file__).resolve().parents[2]
#: The modules whose 4xx sentences must come from the registry: the API's, and the service's modules
#: holding request models (their validators' sentences become 422 answers).
SCANNED = sorted(
    [
        *(ROOT / "waihu/service/api").glob("*.py"),
        *(ROOT / "waihu/console").glob("api_*.py"),
        *(ROOT / "waihu/service").glob("*.py"),
    ]
)
#: Functions taking a registry code, and the index of the positional argument that is the code.
CODE_ARGUMENT = {
    "not_found": 0,
    "conflict": 0,
    "invalid": 0,
    "field_error": 1,
    "field_error_from": 2,
    "conflict_from": 1,
    "sentence": 0,
    "field_problem": 1,
    "forbidden_field": 1,
    "problem": 1,
    "Problem": 1,
    "_unauthorised": 0,
    "_forbidden": 1,
    "_unprocessable": 0,
}
#: Pydantic validator decorators: a ValueError raised in one becomes a 422 sentence.
VALIDATORS = {"field_validator", "model_validator"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _has_text(node: ast.AST) -> bool:
    """Whether ``node`` holds a string literal or an f-string (a sentence written in place)."""
    return any(
        isinstance(part, ast.JoinedStr) or (isinstance(part, ast.Constant) and isinstance(part.value, str))
        for part in ast.walk(node)
    )


def offences(source: str, where: str) -> list[str]:
    """English sentences in ``source`` that bypass the registry, as ``where:line: what``."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "HTTPException":
            detail = [*node.args[1:], *(kw.value for kw in node.keywords if kw.arg == "detail")]
            if any(_has_text(arg) for arg in detail):
                found.append(f"{where}:{node.lineno}: HTTPException with a written sentence")
        if isinstance(node, ast.Call) and _name(node.func) in CODE_ARGUMENT:
            index = CODE_ARGUMENT[_name(node.func)]
            code = node.args[index] if len(node.args) > index else None
            if isinstance(code, ast.Name) and code.id == "code":
                continue  # a wrapper passing its own ``code`` parameter on
            if not (isinstance(code, ast.Constant) and code.value in PROBLEMS):
                found.append(f"{where}:{node.lineno}: {_name(node.func)}() without a registry code")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _name(decorator) in VALIDATORS for decorator in node.decorator_list
        ):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Raise)
                    and inner.exc is not None
                    and _name(inner.exc) in ("ValueError", "AssertionError")
                ):
                    found.append(
                        f"{where}:{inner.lineno}: validator raises {_name(inner.exc)}, not invalid()"
                    )
    return found


def test_every_code_is_worded_in_both_languages_with_the_same_params() -> None:
    zh, en = i18n.catalogue("zh-CN"), i18n.catalogue("en")
    for code, template in PROBLEMS.items():
        key = f"err.code.{code}"
        assert key in zh and key in en, f"{key} missing in a catalogue"
        assert en[key] == template, f"{key}: the English entry is the registry's template"
        assert placeholders(zh[key]) == placeholders(template), f"{key}: placeholders differ"
        # Plain {name} placeholders only: the console and Pydantic fill them too, without format specs.
        assert "{{" not in template and "}}" not in template, code
        for _, name, spec, conversion in string.Formatter().parse(template):
            assert name is None or (name.isidentifier() and not spec and not conversion), code
    orphans = {key for key in en if key.startswith("err.code.")} - {f"err.code.{c}" for c in PROBLEMS}
    assert not orphans, f"catalogue entries of no registry code: {orphans}"


def test_codes_are_snake_case_and_templates_render() -> None:
    for code, template in PROBLEMS.items():
        assert code.isidentifier() and code == code.lower(), code
        params = dict.fromkeys(placeholders(template), "x")
        assert Problem(400, code, params).detail == template.format(**params)


def test_no_api_module_writes_its_own_english_sentence() -> None:
    found = [
        offence
        for path in SCANNED
        for offence in offences(path.read_text("utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not found, "\n".join(found)
    assert len(SCANNED) > 60  # the scan sees the API (a moved folder would make it pass vacuously)


def test_every_code_is_used_somewhere() -> None:
    sources = "\n".join(path.read_text("utf-8") for path in SCANNED)
    unused = [code for code in PROBLEMS if f'"{code}"' not in sources]
    assert not unused, f"registry codes nothing raises: {unused}"


@pytest.mark.parametrize(
    "planted",
    [
        'raise HTTPException(404, "x not found")',
        'raise HTTPException(status_code=409, detail=f"campaign {cid} is busy")',
        'raise HTTPException(403, [{"loc": ["body"], "msg": "no", "type": "forbidden"}])',
        'raise not_found(f"flow {flow_id!r}")',
        'raise field_error(["body", "x"], "x must be positive")',
        'raise conflict("no_such_code")',
    ],
)
def test_the_scan_catches_a_new_english_sentence(planted: str) -> None:
    assert offences(planted, "planted.py"), planted


def test_the_scan_catches_a_validator_raising_value_error() -> None:
    planted = """
class Body(BaseModel):
    @model_validator(mode="after")
    def _check(self):
        raise ValueError("start must be before end")
"""
    assert offences(planted, "planted.py")


def test_the_scan_accepts_the_registry() -> None:
    assert not offences('raise not_found("flow_not_found", flow=flow_id)', "ok.py")
    assert not offences("raise HTTPException(status.HTTP_404_NOT_FOUND, detail)", "ok.py")


def test_a_validator_problem_carries_its_code_and_params() -> None:
    error = invalid("holiday_listed_twice", date="2026-10-01")
    assert error.type == "holiday_listed_twice"
    assert error.context == {"date": "2026-10-01"}
    assert str(error) == "date 2026-10-01 is listed twice"
    with pytest.raises(KeyError):
        invalid("no_such_code")
