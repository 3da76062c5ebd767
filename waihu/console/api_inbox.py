"""/v1/flows/{flow_id}/inbox: the utterances real calls could not classify, grouped by similarity; add
one (or a group) as an example of an intent or a KB question — a new flow version, saved only when the
flow's tests pass on it — or dismiss it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from dialog.engine import EngineError
from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from waihu.console.flowtools import FlowTextError, run_tests, shipped_tests
from waihu.console.state import ConsoleState, console_state
from waihu.service.api.deps import Operator, SessionDep
from waihu.service.api.errors import field_error, field_error_from
from waihu.service.api.responses import AUTH, JSON_BODY, errors
from waihu.service.audit import record_change
from waihu.service.inbox import InboxError, TestsFailed, add_examples, dismiss, latest_version, open_items
from waihu.service.inbox_groups import Utterance, group_utterances
from waihu.service.models import ApiKey, NluInboxItem
from waihu.service.problems import Problem, invalid

router = APIRouter(prefix="/v1/flows", tags=["inbox"], responses=errors(*AUTH))
FlowId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_ITEMS = 500


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InboxItemOut(BaseModel):
    """One utterance a call could not classify."""

    id: int
    text: str
    flow_version: int
    node: str
    intent: str = Field(description="What the engine took: `no_match`, or an intent with low confidence.")
    guess: str = Field(description="The NLU's best guess (empty: none).")
    confidence: float
    attempt_id: str
    created_at: dt.datetime


class InboxGroupOut(BaseModel):
    """Utterances that say the same thing; ``id`` is the representative item's id."""

    id: int
    representative: str
    count: int
    top_guess: str = Field(description="The most common NLU guess in the group (empty: none).")
    items: list[InboxItemOut]


class KbTarget(BaseModel):
    """A KB entry an utterance can become a question of."""

    id: str
    question: str


class InboxOut(BaseModel):
    """The open items of a flow, grouped, and what they can be added to (the latest version's intents
    and KB entries)."""

    flow_id: str
    latest_version: int
    open: int
    grouping: str = Field(description="`embedding` (e5 cosine) or `overlap` (character features).")
    groups: list[InboxGroupOut]
    intents: list[str]
    kb_entries: list[KbTarget]


class ItemIds(_Body):
    """Inbox items (the ids of a group's items, or one)."""

    item_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=MAX_ITEMS)


class AddIn(ItemIds):
    """Add the items' texts as examples of ``intent``, or as questions of the KB entry ``kb_id``."""

    intent: str | None = Field(default=None, min_length=1, max_length=128)
    kb_id: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_target(self) -> AddIn:
        if (self.intent is None) == (self.kb_id is None):
            raise invalid("inbox_one_target")
        return self


class AddedOut(BaseModel):
    """The new flow version (null when every text was an example already) and the items now ``added``."""

    flow_id: str
    version: int | None
    target: str = Field(description="The intent, or `faq:<id>` for a KB entry.")
    added_texts: list[str]
    tests_run: int = Field(description="Flow test cases run (and passed) on the new version.")
    item_ids: list[int]


class DismissedOut(BaseModel):
    """How many items were dismissed."""

    dismissed: int


def _item_view(row: NluInboxItem) -> InboxItemOut:
    return InboxItemOut(
        id=row.id,
        text=row.text,
        flow_version=row.flow_version,
        node=row.node,
        intent=row.intent,
        guess=row.guess,
        confidence=row.confidence,
        attempt_id=row.attempt_id,
        created_at=row.created_at,
    )


def _embedder(console: ConsoleState) -> Any:
    """The e5 embedder behind its on-disk cache, or None when the console runs the rules alone."""
    if console.config.classifier_kind == "rules":
        return None
    from nlu.lint import CachedEmbedder
    from nlu.paths import data_dir

    return CachedEmbedder(data_dir())


def _inbox_error(exc: InboxError) -> HTTPException:
    where = "path" if exc.field == "flow_id" else "body"
    return field_error_from([where, exc.field], exc, "inbox_rejected", exc.status)


@router.get(
    "/{flow_id}/inbox",
    summary="Utterances calls could not classify, grouped",
    response_model=InboxOut,
    responses=errors(404, 422),
)
def get_inbox(
    flow_id: FlowId,
    request: Request,
    session: SessionDep,
    key: Operator,
    version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only items of this version.")
    ] = None,
) -> InboxOut:
    """Open items of the flow (heard on any version, or on ``version``), grouped by similarity: each group
    has a representative (its most frequent text), a count and the NLU's most common guess."""
    latest = latest_version(session, key.tenant, flow_id)
    if latest is None:
        raise field_error(["path", "flow_id"], "flow_not_found", 404, flow=flow_id)
    rows = open_items(session, key.tenant, flow_id, version)
    embedder = _embedder(console_state(request))
    by_id = {row.id: row for row in rows}
    groups = group_utterances([Utterance(row.id, row.text, row.guess) for row in rows], embedder)
    loaded = load_flow_text(latest.yaml_text, "flow.yaml", files=STORED_FILES)
    flow = loaded.flow
    return InboxOut(
        flow_id=flow_id,
        latest_version=latest.version,
        open=len(rows),
        grouping="overlap" if embedder is None else "embedding",
        groups=[
            InboxGroupOut(
                id=group.representative.id,
                representative=group.representative.text,
                count=len(group.members),
                top_guess=group.top_guess,
                items=[_item_view(by_id[member.id]) for member in group.members],
            )
            for group in groups
        ],
        intents=list(flow.intents) if flow is not None else [],
        kb_entries=[
            KbTarget(id=entry.id, question=entry.questions[0] if entry.questions else "")
            for entry in (flow.kb_entries if flow is not None else [])
        ],
    )


def _tests_runner(console: ConsoleState, flow_id: str) -> Any:
    """``run(flow_text) -> (cases run, failure lines)`` with the flow's shipped tests (none: none run)."""
    found = shipped_tests(console.config.flows_dir, flow_id)

    def run(flow_text: str) -> tuple[int, list[str]]:
        if found is None:
            return 0, []
        try:
            cases = run_tests(flow_text, found[0], console.classifiers)
        except (FlowTextError, EngineError) as exc:
            problems = exc.problems if isinstance(exc, FlowTextError) else [str(exc)]
            return 0, [f"cannot run the tests: {problem}" for problem in problems]
        failures = [f"{case['name']}: {failure}" for case in cases for failure in case["failures"]]
        return len(cases), failures

    return run


@router.post(
    "/{flow_id}/inbox/add",
    summary="Add inbox items as examples of an intent or a KB question (a new flow version)",
    response_model=AddedOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(*JSON_BODY, 404, 409)
    | {200: {"model": AddedOut, "description": "Every text was an example already: no new version."}},
)
def add_to_flow(
    flow_id: FlowId,
    body: AddIn,
    request: Request,
    response: Response,
    session: SessionDep,
    key: Operator,
) -> AddedOut:
    """Insert the items' texts into ``intents.<intent>.examples`` (or the KB entry's ``questions``) of the
    latest version, run the flow's tests on the result and store it as the next version. Failing tests
    answer 422 with ``detail.problems`` listing them, and nothing is saved; the items stay open."""
    console = console_state(request)
    try:
        added = add_examples(
            session,
            key.tenant,
            flow_id,
            body.item_ids,
            intent=body.intent,
            kb_id=body.kb_id,
            by=key.id,
            run_tests=_tests_runner(console, flow_id),
        )
    except InboxError as exc:
        session.rollback()
        raise _inbox_error(exc) from exc
    except TestsFailed as exc:
        session.rollback()
        raise Problem(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "inbox_tests_fail", problems=exc.failures
        ) from exc
    if added.version is not None:
        row = added.version
        after = {
            "target": added.target,
            "examples_added": len(added.texts),
            "item_ids": sorted(body.item_ids),
        }
        _audit(session, key, f"{row.flow_id}@{row.version}", after)
    else:
        response.status_code = status.HTTP_200_OK  # every text was an example already: nothing created
    session.commit()
    return AddedOut(
        flow_id=flow_id,
        version=added.version.version if added.version is not None else None,
        target=added.target,
        added_texts=added.texts,
        tests_run=added.tests_run,
        item_ids=sorted(set(body.item_ids)),
    )


def _audit(session: Session, key: ApiKey, resource: str, after: dict[str, Any]) -> None:
    record_change(session, key, "flow.inbox_add", "flow", resource, tenant=key.tenant, after=after)


@router.post(
    "/{flow_id}/inbox/dismiss",
    summary="Dismiss inbox items",
    response_model=DismissedOut,
    responses=errors(*JSON_BODY, 404, 409),
)
def dismiss_items(flow_id: FlowId, body: ItemIds, session: SessionDep, key: Operator) -> DismissedOut:
    """The items leave the inbox without changing the flow."""
    try:
        count = dismiss(session, key.tenant, flow_id, body.item_ids, key.id)
    except InboxError as exc:
        session.rollback()
        raise _inbox_error(exc) from exc
    session.commit()
    return DismissedOut(dismissed=count)
