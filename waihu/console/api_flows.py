"""Console endpoints for flow work: validate as you type, answer table, flow tests, KB, simulator, TTS."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dialog.engine import EngineError
from dialog.yaml_limits import MAX_YAML_BYTES
from waihu.console.chat_sessions import act, turn_view
from waihu.console.flowtools import FlowTextError, answer_table, parse_flow, run_tests, shipped_tests
from waihu.console.flowtools import validate_text as validate_flow_text
from waihu.console.kb import kb_entries, search_kb
from waihu.console.state import ConsoleState, StoredFlow, console_state
from waihu.service.api.deps import AnyRole, Operator, SessionDep
from waihu.service.api.errors import conflict, not_found
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.models import ApiKey
from waihu.service.problems import Problem

router = APIRouter(prefix="/console/api", tags=["console"], responses=errors(*AUTH, 422))
State = Annotated[ConsoleState, Depends(console_state)]
FlowId = Annotated[str, Path(min_length=1, max_length=64)]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_YAML = MAX_YAML_BYTES


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class YamlIn(_Body):
    """Flow YAML text (possibly unsaved)."""

    yaml: str = Field(max_length=MAX_YAML)
    filename: str = Field(default="flow.yaml", max_length=200)
    #: Names of the recordings stored with the version being edited: its ``audio:`` may name them.
    recordings: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=300)


class TestsIn(_Body):
    """A flow and the flow-test YAML to run on it."""

    flow_yaml: str = Field(max_length=MAX_YAML)
    tests_yaml: str = Field(max_length=MAX_YAML)


class SimStart(_Body):
    """Start a simulated call of a stored flow version."""

    flow_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1, le=2**31 - 1)
    variables: dict[str, str] = Field(default_factory=dict, max_length=100)


class SimAction(_Body):
    """What the callee does next."""

    kind: Literal["say", "silence", "dtmf", "hangup"] = "say"
    text: str = Field(default="", max_length=1000)
    digit: str = Field(default="", pattern=r"^[0-9*#]?$")


class TtsIn(_Body):
    """Text to speak."""

    text: str = Field(min_length=1, max_length=2000)
    language: Literal["zh", "en"] = "zh"


class KbQuestion(_Body):
    """A question to match against the knowledge base."""

    question: str = Field(min_length=1, max_length=500)
    top_k: int = Field(default=3, ge=1, le=10)


def _unprocessable(code: str, problems: list[str]) -> Problem:
    return Problem(status.HTTP_422_UNPROCESSABLE_CONTENT, code, problems=problems)


def _stored(state: ConsoleState, session: SessionDep, key: ApiKey, flow_id: str, version: int) -> StoredFlow:
    try:
        stored = state.stored_flow(session, flow_id, version, key.tenant)
    except FlowTextError as exc:
        raise _unprocessable("stored_flow_invalid", exc.problems) from exc
    if stored is None:
        raise not_found("flow_version_not_found", flow=flow_id, version=version)
    return stored


_BODY = errors(*JSON_BODY)
_STORED = errors(404)


@router.post("/flows/validate", summary="Validate flow YAML (as the operator types)", responses=_BODY)
def validate(body: YamlIn, _key: Operator) -> dict[str, Any]:
    """Problems with line and column; ``ok`` when the flow could be saved."""
    return validate_flow_text(body.yaml, body.filename.rsplit("/", 1)[-1] or "flow.yaml", body.recordings)


@router.post("/flows/table", summary="The answer table of flow YAML", responses=_BODY)
def table(body: YamlIn, _key: Operator) -> dict[str, Any]:
    """Nodes × intents with reply and next step per cell, plus the global row."""
    try:
        return answer_table(parse_flow(body.yaml))
    except FlowTextError as exc:
        raise _unprocessable("flow_has_errors", exc.problems) from exc


@router.get("/flows/{flow_id}/tests", summary="The flow tests shipped for a flow")
def get_tests(flow_id: FlowId, state: State, _key: Operator) -> dict[str, Any]:
    """``flows/tests/<file>`` of the shipped flow with this id; empty when there is none."""
    found = shipped_tests(state.config.flows_dir, flow_id)
    if found is None:
        return {"yaml": "", "source": None}
    text, path = found
    return {"yaml": text, "source": f"flows/tests/{path.name}"}


@router.post("/flows/tests", summary="Run flow tests against flow YAML", responses=_BODY)
def post_tests(body: TestsIn, state: State, _key: Operator) -> dict[str, Any]:
    """Pass/fail per case with failures and transcript."""
    try:
        cases = run_tests(body.flow_yaml, body.tests_yaml, state.classifiers)
    except FlowTextError as exc:
        raise _unprocessable("flow_tests_cannot_run", exc.problems) from exc
    except EngineError as exc:
        raise _unprocessable("flow_tests_cannot_run", [str(exc)]) from exc
    passed = sum(case["passed"] for case in cases)
    return {"cases": cases, "passed": passed, "failed": len(cases) - passed}


@router.get(
    "/flows/{flow_id}/versions/{version}/info",
    summary="A stored flow's name and variables",
    responses=_STORED,
)
def flow_info(flow_id: FlowId, version: Version, session: SessionDep, state: State, key: AnyRole) -> dict:
    """Name, language, declared variables (for the simulator form), KB size."""
    flow = _stored(state, session, key, flow_id, version).flow
    return {
        "flow_id": flow_id,
        "version": version,
        "name": flow.flow.name,
        "language": flow.flow.language,
        "variables": [
            {"name": name, "required": var.required, "default": var.default, "description": var.description}
            for name, var in flow.variables.items()
        ],
        "kb_entries": len(flow.kb_entries),
    }


@router.get(
    "/flows/{flow_id}/versions/{version}/kb", summary="A stored flow's knowledge base", responses=_STORED
)
def get_kb(flow_id: FlowId, version: Version, session: SessionDep, state: State, key: AnyRole) -> dict:
    """Entries with questions, keywords and answers."""
    return {"items": kb_entries(_stored(state, session, key, flow_id, version).flow)}


@router.post(
    "/flows/{flow_id}/versions/{version}/kb/search",
    summary="Try a question on the KB",
    responses=errors(*JSON_BODY, 404),
)
def try_kb(
    flow_id: FlowId, version: Version, body: KbQuestion, session: SessionDep, state: State, key: AnyRole
) -> dict[str, Any]:
    """Best entries with scores: semantic with the default NLU, keyword rules with ``rules``."""
    flow = _stored(state, session, key, flow_id, version).flow
    method = "rules" if state.config.classifier_kind == "rules" else "semantic"
    return {"method": method, "hits": search_kb(flow, body.question, body.top_k, method)}


@router.post(
    "/sim",
    status_code=status.HTTP_201_CREATED,
    summary="Start a simulated call",
    responses=errors(*JSON_BODY, 404),
)
def sim_start(body: SimStart, session: SessionDep, state: State, key: Operator) -> dict[str, Any]:
    """The robot greets; returns the session id for the next turns."""
    stored = _stored(state, session, key, body.flow_id, body.version)
    classifier = state.classifiers.get(stored.flow, stored.text)
    try:
        sim, output = state.simulator.start(
            stored.flow, stored.version, classifier, body.variables, tenant=key.tenant
        )
    except EngineError as exc:
        raise _unprocessable("simulation_cannot_start", [str(exc)]) from exc
    return {"session_id": sim.id, "language": sim.language, "turn": turn_view(sim, output)}


@router.post(
    "/sim/{session_id}",
    summary="The callee speaks, stays silent, presses a key or hangs up",
    responses=errors(*JSON_BODY, 404, 409),
)
def sim_turn(
    session_id: Annotated[str, Path(max_length=40)], body: SimAction, state: State, key: Operator
) -> dict[str, Any]:
    """The robot's answer with node, intent and confidence; the grade once the call is over."""
    sim = state.simulator.get(session_id, key.tenant)
    if sim is None:
        raise not_found("simulator_session_not_found", session=session_id)
    if sim.conversation.finished:
        raise conflict("simulation_ended")
    return {"turn": turn_view(sim, act(sim, body.kind, body.text, body.digit))}


@router.post(
    "/tts",
    summary="Robot speech as WAV",
    response_class=Response,
    responses=cast(
        dict[int | str, dict[str, Any]],
        {200: {"content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}},
    )
    | errors(*JSON_BODY),
)
def tts(body: TtsIn, state: State, _key: Operator) -> Response:
    """The same TTS and prompt cache as real calls, 8 kHz mono."""
    return Response(state.speech.wav(body.text, body.language), media_type="audio/wav")
