"""The flow schema: what an operator writes in a flow YAML file (validated with Pydantic v2).

A flow is a set of nodes. Each node says a prompt, then listens; its *answer table row* maps the
intent the callee expressed to a cell: an optional reply, tags to set and the next step. Global
cells apply at every node unless the node overrides them; a knowledge base answers side questions
(seen by the engine as intent ``faq:<id>``) and returns to the interrupted node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dialog.problem_codes import SCHEMA_MESSAGES

#: Steps a cell can take besides ``goto`` a node.
RESERVED_STEPS = ("hangup", "transfer", "stay", "repeat", "return")
#: Intents every flow may use without defining them: the engine produces them itself.
BUILTIN_INTENTS = ("no_match", "no_input")
#: Global intents the shipped flows use (names are a contract with NLU data sets and reports).
STANDARD_GLOBAL_INTENTS = (
    "affirm",
    "deny",
    "busy",
    "ask_identity",
    "ask_number_source",
    "is_robot",
    "do_not_call",
    "repeat",
    "ask_human",
    "wrong_person",
)
FAQ_PREFIX = "faq:"
_ID_RE = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


class StrictModel(BaseModel):
    """Base model: unknown keys are errors, so a typo never silently disables a feature."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _refused(kind: str, **context: str | int) -> PydanticCustomError:
    """A validation error of type ``kind``, worded by :data:`dialog.problem_codes.SCHEMA_MESSAGES`."""
    return PydanticCustomError(kind, SCHEMA_MESSAGES[kind], context)


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


class FlowMeta(StrictModel):
    """Identity of a flow."""

    id: str = Field(pattern=_ID_RE, description="Stable identifier, used by campaigns.")
    name: str = Field(min_length=1, description="Human-readable name shown in the console.")
    language: Literal["zh", "en"] = Field(description="Language of prompts and of NLU examples.")
    version: int = Field(default=1, ge=1)
    description: str = ""


class Variable(StrictModel):
    """A variable usable as ``{name}`` in prompts and replies."""

    default: str = ""
    required: bool = Field(default=False, description="A call cannot start without a value.")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `amount: "10000"` is shorthand for `amount: {default: "10000"}`.
        if isinstance(value, str | int | float):
            return {"default": str(value)}
        if value is None:
            return {}
        return value


class IntentDef(StrictModel):
    """How to recognise an intent: examples for the model, keywords and regex patterns for rules."""

    description: str = ""
    examples: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    exact_keywords: list[str] = Field(
        default_factory=list,
        description="Keywords that count only as a whole clause (对, 行: too short to trust in a sentence).",
    )
    patterns: list[str] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise _refused(
                    "regex_invalid", number=index + 1, pattern=repr(pattern), reason=str(exc)
                ) from exc
        return patterns


class Cell(StrictModel):
    """One cell of the answer table: reply, tags and next step for (node, intent)."""

    reply: list[str] = Field(default_factory=list, description="Said before the next step; alternatives.")
    audio: str | None = Field(default=None, description="Recorded WAV for a fixed reply.")
    tags: list[str] = Field(default_factory=list)
    next: str = Field(
        default="stay",
        description="A node id, or one of: hangup, transfer, stay, repeat, return.",
    )
    dnc: bool = Field(default=False, description="Add the callee to the do-not-call list.")

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        # A bare string is the next step: `affirm: offer`.
        if isinstance(value, str):
            return {"next": value}
        if isinstance(value, dict) and "goto" in value:
            value = dict(value)
            goto = value.pop("goto")
            if "next" in value and value["next"] != goto:
                raise _refused("goto_and_next", goto=repr(goto), next=repr(value["next"]))
            value["next"] = goto
        return value

    _reply_list = field_validator("reply", "tags", mode="before")(_as_list)


#: Where a fetch node may branch besides its own flow's nodes.
FETCH_END_STEPS = ("hangup", "transfer")
#: Upper bound of a fetch's timeout: the callee waits in silence meanwhile.
MAX_FETCH_TIMEOUT_MS = 3000
_JSON_PATH_RE = r"^[A-Za-z_][A-Za-z0-9_\-]*(\.([A-Za-z_][A-Za-z0-9_\-]*|[0-9]+))*$"


class FetchSpec(StrictModel):
    """Live data (数据同步): GET/POST the strategy system, map its JSON answer into call variables."""

    url: str = Field(
        min_length=1, max_length=2000, description="http(s) URL; `{variable}` only in path and query."
    )
    method: Literal["GET", "POST"] = "GET"
    timeout_ms: int = Field(default=1500, ge=100, le=MAX_FETCH_TIMEOUT_MS)
    retries: int = Field(default=0, ge=0, le=1, description="Extra tries after a timeout or error.")
    map: dict[str, str] = Field(
        min_length=1, description="Call variable -> dotted path in the JSON answer (bill.amount, plans.0)."
    )
    on_success: str = Field(description="Node entered once every mapped field arrived.")
    on_timeout: str = Field(description="Node (or hangup/transfer) when the system did not answer in time.")
    on_error: str = Field(
        description="Node (or hangup/transfer) on an HTTP error, bad JSON or missing field."
    )

    @field_validator("map")
    @classmethod
    def _paths(cls, mapping: dict[str, str]) -> dict[str, str]:
        for variable, path in mapping.items():
            if not re.match(_JSON_PATH_RE, path):
                raise _refused("json_path_invalid", variable=variable, path=repr(path))
        return mapping


class Node(StrictModel):
    """A robot turn: say the prompt, then listen and follow the answer table row.

    A node with ``fetch:`` says nothing: it fetches live data and branches on the result.
    """

    prompt: list[str] = Field(default_factory=list, description="Prompt; further items are rephrasings.")
    reask: list[str] = Field(
        default_factory=list,
        description="Short question said when returning after a side question (default: the prompt).",
    )
    audio: str | dict[str, str] | None = Field(
        default=None,
        description=(
            "Recorded WAV of the first prompt when it has no variables, or a mapping from fixed fragments "
            "of the first prompt to WAVs: the rest (the {variables}) is synthesised and mixed in."
        ),
    )
    barge_in: bool = Field(default=True, description="Whether the callee may interrupt the prompt.")
    no_input_timeout: float | None = Field(default=None, gt=0, le=60)
    end_silence: float | None = Field(default=None, gt=0, le=5, description="Endpointing override (s).")
    then: Literal["listen", "hangup", "transfer"] = Field(
        default="listen", description="After the prompt: listen, or end the call / transfer."
    )
    tags: list[str] = Field(default_factory=list, description="Tags set when the node is entered.")
    answers: dict[str, Cell] = Field(default_factory=dict, description="The answer table row.")
    dtmf: dict[str, str] = Field(default_factory=dict, description="Key pressed -> intent.")
    fetch: FetchSpec | None = Field(default=None, description="Fetch live data instead of speaking.")

    _lists = field_validator("prompt", "reask", "tags", mode="before")(_as_list)

    @model_validator(mode="after")
    def _prompt_or_fetch(self) -> Node:
        if self.fetch is None and not self.prompt:
            raise _refused("prompt_missing")
        if self.fetch is not None:
            spoken = [name for name in ("prompt", "reask", "audio", "answers", "dtmf") if getattr(self, name)]
            if spoken or self.then != "listen":
                others = ", ".join(spoken or ["then"])
                raise _refused("fetch_node_speaks", others=others)
        return self

    @field_validator("dtmf")
    @classmethod
    def _dtmf_keys(cls, mapping: dict[str, str]) -> dict[str, str]:
        for key in mapping:
            if key not in "0123456789*#" or len(key) != 1:
                raise _refused("dtmf_key_invalid", key=repr(key))
        return mapping


class KBEntry(StrictModel):
    """A knowledge-base FAQ: questions that trigger it, its answer, and what happens after."""

    id: str = Field(pattern=_ID_RE)
    questions: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    exact_keywords: list[str] = Field(
        default_factory=list, description="Keywords matched as whole clauses only."
    )
    patterns: list[str] = Field(default_factory=list)
    answer: list[str] = Field(min_length=1)
    audio: str | None = None
    tags: list[str] = Field(default_factory=list)
    then: str = Field(default="return", description="return (re-ask), hangup, transfer, or a node id.")

    _lists = field_validator("answer", "tags", mode="before")(_as_list)
    _patterns = field_validator("patterns")(IntentDef._patterns_compile.__func__)  # type: ignore[attr-defined]


class KnowledgeBaseRef(StrictModel):
    """A knowledge base kept in a separate YAML file (relative to the flow file)."""

    file: str


class FallbackPolicy(StrictModel):
    """What to do on no-input or no-match when the node has no cell of its own."""

    replies: list[str] = Field(default_factory=list, description="Said before re-asking, in turn.")
    reprompt: bool = Field(default=True, description="Re-ask the node, rephrased when possible.")
    max_per_node: int = Field(default=2, ge=0)
    max_per_call: int = Field(default=4, ge=0)
    exhausted: Cell = Field(
        default_factory=lambda: Cell(next="hangup"),
        description="Applied once a limit is exceeded: typically a polite goodbye and hangup.",
    )

    _lists = field_validator("replies", mode="before")(_as_list)


class Fallbacks(StrictModel):
    """Flow-level defaults for the two events every node must handle."""

    no_input: FallbackPolicy | None = None
    no_match: FallbackPolicy | None = None


class Condition(StrictModel):
    """A grading condition; every given clause must hold."""

    reached_any: list[str] = Field(default_factory=list)
    reached_all: list[str] = Field(default_factory=list)
    not_reached: list[str] = Field(default_factory=list)
    intents_any: list[str] = Field(default_factory=list)
    intents_none: list[str] = Field(default_factory=list)
    tags_any: list[str] = Field(default_factory=list)
    tags_all: list[str] = Field(default_factory=list)
    tags_none: list[str] = Field(default_factory=list)
    outcome_in: list[Literal["transferred", "robot_hangup", "callee_hangup", "transfer_failed"]] = Field(
        default_factory=list
    )
    min_rounds: int | None = Field(default=None, ge=0)
    max_rounds: int | None = Field(default=None, ge=0)
    min_kb_hits: int | None = Field(default=None, ge=0)


class GradeRule(StrictModel):
    """First matching rule gives the grade; its tags are added to the call's final tags."""

    grade: str
    when: Condition = Field(default_factory=Condition)
    tags: list[str] = Field(default_factory=list)
    label: str = ""


class Grading(StrictModel):
    """Grading rules evaluated at hang-up."""

    grades: list[str] = Field(default_factory=lambda: ["A", "B", "C", "D"], min_length=1)
    rules: list[GradeRule] = Field(default_factory=list)
    default: str = "D"


class TransferSettings(StrictModel):
    """Transfer to a human seat."""

    skill_group: str = "default"
    summary_turns: int = Field(default=3, ge=0, le=20)
    on_failed: str | None = Field(
        default=None, description="Node to go to when no seat answers (default: apologise and hang up)."
    )
    failed_reply: list[str] = Field(default_factory=list)
    strategy: Literal["round_robin", "longest_idle"] = Field(
        default="round_robin",
        description="Which free seat of the group rings first: the one offered least recently, or the one "
        "idle longest.",
    )
    seat_ring_s: float = Field(
        default=15.0, gt=0, le=120, description="Ring a seat this long, then try the next one."
    )
    max_seats: int = Field(default=3, ge=1, le=20, description="Seats tried before `on_failed`.")
    hold_prompt: str | None = Field(
        default=None,
        max_length=200,
        description="Said to the callee while the seat rings, before the hold tone (default: "
        "请稍等，正在为您转接 / Please hold, transferring your call).",
    )

    _lists = field_validator("failed_reply", mode="before")(_as_list)


class Settings(StrictModel):
    """Per-flow defaults for timing and NLU."""

    no_input_timeout: float = Field(default=5.0, gt=0, le=60)
    end_silence: float = Field(default=0.6, gt=0, le=5)
    nlu_threshold: float = Field(default=0.5, ge=0, le=1)
    max_turns: int = Field(default=30, ge=1, description="Safety limit of callee turns per call.")
    max_turns_reply: list[str] = Field(default_factory=list)
    neutral_phrases: list[str] = Field(
        default_factory=list, description="Phrases that hide the keywords inside them (是不是 hides 不是)."
    )

    _lists = field_validator("max_turns_reply", mode="before")(_as_list)


#: Names a post-call template may use besides the flow's variables (filled from the call's result).
POST_CALL_VARIABLES = ("name", "reference_id", "grade", "grade_label", "outcome", "variant", "tags")
#: How a dial ended, as a post-call rule may match it (the service's attempt outcomes).
PostCallOutcome = Literal[
    "answered", "no_answer", "busy", "invalid_number", "rejected", "unavailable", "failed", "lost"
]


class PostCallWhen(StrictModel):
    """When a post-call action fires: every list given must match (any of its items)."""

    grades: list[str] = Field(default_factory=list)
    tags_any: list[str] = Field(default_factory=list)
    outcomes: list[PostCallOutcome] = Field(default_factory=list)


class PostCallAction(StrictModel):
    """An action after the call (挂机短信): a ``notify`` to the campaign's post-call endpoint."""

    name: str = Field(min_length=1, max_length=64)
    when: PostCallWhen = Field(default_factory=PostCallWhen)
    template: str = Field(min_length=1, max_length=1000, description="`{variable}` placeholders.")
    data: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Sent as is.")


class Flow(StrictModel):
    """A complete flow (话术): metadata, variables, intents, nodes, global cells, KB, fallbacks, grading."""

    flow: FlowMeta
    variables: dict[str, Variable] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    intents: dict[str, IntentDef] = Field(default_factory=dict)
    start: str
    nodes: dict[str, Node] = Field(min_length=1)
    global_answers: dict[str, Cell] = Field(default_factory=dict, alias="global")
    knowledge_base: list[KBEntry] | KnowledgeBaseRef = Field(default_factory=list)
    fallbacks: Fallbacks = Field(default_factory=Fallbacks)
    transfer: TransferSettings = Field(default_factory=TransferSettings)
    grading: Grading = Field(default_factory=Grading)
    post_call: list[PostCallAction] = Field(
        default_factory=list, description="Actions after the call, to the campaign's post-call endpoint."
    )

    @property
    def kb_entries(self) -> list[KBEntry]:
        """Knowledge-base entries (a file reference is resolved by the loader)."""
        return self.knowledge_base if isinstance(self.knowledge_base, list) else []

    def missing_variables(self, given: Mapping[str, object]) -> list[str]:
        """Required variables without a non-empty value in ``given`` (the one check every driver uses)."""
        return [
            name
            for name, var in self.variables.items()
            if var.required and (given.get(name) is None or str(given.get(name)) == "")
        ]

    def kb_entry(self, entry_id: str) -> KBEntry | None:
        """The KB entry with this id, if any."""
        return next((entry for entry in self.kb_entries if entry.id == entry_id), None)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the flow file format, for editor autocompletion."""
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "waihu flow"
    return schema
