"""The knowledge base of a flow for the console: its entries and a "try a question" search."""

from __future__ import annotations

from typing import Any

from dialog.schema import FAQ_PREFIX, Flow
from knowledge_base.store import KnowledgeBase
from nlu.rules import RuleClassifier


def kb_entries(flow: Flow) -> list[dict[str, Any]]:
    """Every entry with its example questions, keywords and answers, in the flow's order."""
    return [
        {
            "id": entry.id,
            "questions": list(entry.questions),
            "keywords": list(entry.keywords),
            "answer": list(entry.answer),
            "tags": list(entry.tags),
            "then": entry.then,
        }
        for entry in KnowledgeBase.from_flow(flow)
    ]


def search_kb(flow: Flow, question: str, top_k: int, method: str) -> list[dict[str, Any]]:
    """The ``top_k`` best entries for ``question``, best first, with a score in [0, 1].

    ``semantic`` ranks with the e5 embeddings (as in calls); ``rules`` with the keyword/pattern rules.
    """
    kb = KnowledgeBase.from_flow(flow)
    if len(kb) == 0:
        return []
    if method == "semantic":
        from knowledge_base.retrieval import retriever_for

        hits = [(hit.entry_id, hit.score) for hit in retriever_for(kb).search(question, top_k)]
    else:
        rules = RuleClassifier.from_flow(flow)
        _normalized, scores, _source = rules.scores(question, [FAQ_PREFIX + entry.id for entry in kb])
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:top_k]
        hits = [(intent.removeprefix(FAQ_PREFIX), score) for intent, score in ranked if score > 0]
    results = []
    for entry_id, score in hits:
        entry = kb.get(entry_id)
        if entry is not None:
            results.append(
                {
                    "entry_id": entry_id,
                    "score": round(float(score), 4),
                    "answer": entry.answer[0],
                    "questions": list(entry.questions),
                }
            )
    return results
