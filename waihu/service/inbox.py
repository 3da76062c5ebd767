"""The operator's learning inbox: utterances real calls could not classify, and what became of them.

When an answered attempt's result is saved (:func:`collect`, inside :func:`~waihu.service.scheduler.
record_result`'s transaction) every callee utterance the engine took as ``no_match``, or took with
low confidence, becomes an ``open`` row of ``nlu_inbox`` (tenant, flow, version, attempt, node, text,
the NLU's guess). The operator adds one (or a group) as an example of an intent or a question of a KB
entry — a new flow version, saved only when the flow's tests pass on it (:func:`add_examples`) — or
dismisses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialog.flow_files import STORED_FILES
from dialog.loader import load_flow_text
from dialog.schema import FAQ_PREFIX
from dialog.state import CallResult
from waihu.service.db import begin_write
from waihu.service.flow_assets import recordings_of
from waihu.service.flow_examples import ExampleEditError, add_intent_example, add_kb_question
from waihu.service.flows import FlowRejected, store_flow
from waihu.service.models import Attempt, FlowVersion, NluInboxItem, utcnow
from waihu.service.problems import sentence

log = logging.getLogger(__name__)

#: A turn the NLU took with less confidence than this goes to the inbox even though it was accepted.
LOW_CONFIDENCE = 0.6
#: Stored utterances are cut to the column's length.
MAX_TEXT = 1000


class InboxError(ValueError):
    """A request the inbox cannot carry out; ``field`` names what is wrong, ``status`` the HTTP code."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        self.field = field
        self.status = status
        super().__init__(message)


class TestsFailed(Exception):
    """The flow's tests fail on the edited flow: nothing was saved. ``failures``: one line per check."""

    __test__ = False  # not a pytest class

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("\n".join(failures))


def collect(session: Session, tenant: str, attempt: Attempt, call: CallResult | None) -> int:
    """Add the unclassified turns of ``call`` (the result of ``attempt``) to the inbox; returns how many."""
    if call is None:
        return 0
    added = 0
    for turn in call.trace:
        if turn.kind != "utterance" or not turn.utterance.strip():
            continue
        if turn.intent != "no_match" and turn.confidence >= LOW_CONFIDENCE:
            continue
        session.add(
            NluInboxItem(
                tenant=tenant,
                flow_id=attempt.flow_id,
                flow_version=attempt.flow_version,
                attempt_id=attempt.id,
                turn_index=turn.index,
                node=turn.node[:64],
                text=turn.utterance.strip()[:MAX_TEXT],
                intent=turn.intent[:140],
                guess=turn.guess[:140],
                confidence=float(turn.confidence),
                state="open",
                created_at=utcnow(),
            )
        )
        added += 1
    return added


def open_items(
    session: Session, tenant: str, flow_id: str, version: int | None = None, limit: int = 2000
) -> list[NluInboxItem]:
    """``tenant``'s open items of ``flow_id`` (of one ``version`` when given), oldest first."""
    query = select(NluInboxItem).where(
        NluInboxItem.tenant == tenant, NluInboxItem.flow_id == flow_id, NluInboxItem.state == "open"
    )
    if version is not None:
        query = query.where(NluInboxItem.flow_version == version)
    return list(session.scalars(query.order_by(NluInboxItem.id).limit(limit)))


def _items(session: Session, tenant: str, flow_id: str, ids: Sequence[int]) -> list[NluInboxItem]:
    """The open items ``ids`` of the flow; :class:`InboxError` naming ``item_ids`` otherwise."""
    rows = list(
        session.scalars(
            select(NluInboxItem).where(
                NluInboxItem.tenant == tenant, NluInboxItem.flow_id == flow_id, NluInboxItem.id.in_(ids)
            )
        )
    )
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        raise InboxError("item_ids", sentence("inbox_items_missing", items=str(missing), flow=flow_id), 404)
    closed = sorted(row.id for row in rows if row.state != "open")
    if closed:
        raise InboxError("item_ids", sentence("inbox_items_closed", items=str(closed)), 409)
    return rows


def dismiss(session: Session, tenant: str, flow_id: str, ids: Sequence[int], by: str | None) -> int:
    """Mark the open items ``ids`` dismissed (caller commits); returns how many."""
    if not session.in_transaction():
        begin_write(session)  # read and update in one writer transaction (no lock upgrade on SQLite)
    now = utcnow()
    rows = _items(session, tenant, flow_id, ids)
    for row in rows:
        row.state, row.resolved_by, row.resolved_at = "dismissed", by, now
    return len(rows)


@dataclass(frozen=True)
class Added:
    """What :func:`add_examples` did: the new version (None when every text was there already)."""

    version: FlowVersion | None
    target: str
    texts: list[str]
    tests_run: int


def latest_version(session: Session, tenant: str, flow_id: str) -> FlowVersion | None:
    """The newest stored version of ``tenant``'s flow ``flow_id``."""
    newest = select(func.max(FlowVersion.version)).where(
        FlowVersion.tenant == tenant, FlowVersion.flow_id == flow_id
    )
    return session.scalars(
        select(FlowVersion).where(
            FlowVersion.tenant == tenant,
            FlowVersion.flow_id == flow_id,
            FlowVersion.version == newest.scalar_subquery(),
        )
    ).first()


def _edit(
    text: str, intent: str | None, kb_id: str | None, utterances: list[str]
) -> tuple[str, str, list[str]]:
    """The flow text with the new examples, the target (``intent`` or ``faq:<id>``) and the texts added."""
    loaded = load_flow_text(text, "flow.yaml", files=STORED_FILES)  # its recordings were checked at upload
    flow = loaded.flow
    if flow is None:
        raise InboxError("flow_id", sentence("inbox_flow_broken"), 409)
    if intent is not None:
        if intent not in flow.intents:
            raise InboxError("intent", sentence("inbox_no_intent", intent=intent))
        known = set(flow.intents[intent].examples)
        target = intent
    else:
        entry = flow.kb_entry(kb_id or "")
        if entry is None:
            raise InboxError("kb_id", sentence("inbox_no_kb_entry", kb_id=kb_id or ""))
        known = set(entry.questions)
        target = FAQ_PREFIX + entry.id
    added: list[str] = []
    for utterance in dict.fromkeys(utterances):
        if utterance in known:
            continue
        try:
            if intent is not None:
                text = add_intent_example(text, intent, utterance)
            else:
                text = add_kb_question(text, kb_id or "", utterance)
        except ExampleEditError as exc:
            raise InboxError("intent" if intent is not None else "kb_id", str(exc), 409) from exc
        added.append(utterance)
    return text, target, added


def add_examples(
    session: Session,
    tenant: str,
    flow_id: str,
    ids: Sequence[int],
    *,
    intent: str | None = None,
    kb_id: str | None = None,
    by: str | None = None,
    run_tests: Callable[[str], tuple[int, list[str]]],
) -> Added:
    """Add the texts of the open items ``ids`` as examples of ``intent`` (or questions of the KB entry
    ``kb_id``) to the latest version of the flow, as a new version; the items become ``added``.

    ``run_tests(flow_text)`` runs the flow's tests on the edited text and returns (cases run, failure
    lines); any failure raises :class:`TestsFailed` and nothing is stored. The caller commits.
    """
    rows = _items(session, tenant, flow_id, ids)
    base = latest_version(session, tenant, flow_id)
    if base is None:
        raise InboxError("flow_id", sentence("flow_not_found", flow=flow_id), 404)
    base_version = base.version
    text, target, texts = _edit(base.yaml_text, intent, kb_id, [row.text for row in rows])
    tests_run = 0
    if texts:
        tests_run, failures = run_tests(text)  # slow (the model): run outside the write lock
        if failures:
            raise TestsFailed(failures)
    session.rollback()  # end the read; write as a writer from the start (no lock upgrade on SQLite)
    begin_write(session)
    rows = _items(session, tenant, flow_id, ids)  # still open?
    base = latest_version(session, tenant, flow_id)
    if base is None or base.version != base_version:
        raise InboxError("flow_id", sentence("inbox_flow_changed", flow=flow_id), 409)
    stored_version = None
    if texts:
        try:
            recordings = recordings_of(session, base.id) or None  # a bundle's recordings carry over
            stored = store_flow(session, text, uploaded_by=by, tenant=tenant, recordings=recordings)
        except FlowRejected as exc:
            raise InboxError(
                "item_ids", sentence("inbox_flow_invalid", problems="; ".join(exc.problems))
            ) from exc
        stored_version = stored.version
    now = utcnow()
    for row in rows:
        row.state, row.resolved_as, row.resolved_by, row.resolved_at = "added", target, by, now
        row.resolved_version = stored_version.version if stored_version is not None else base.version
    log.info(
        "inbox: %d item(s) of flow %s added to %s (%d new text(s))", len(rows), flow_id, target, len(texts)
    )
    return Added(stored_version, target, texts, tests_run)
