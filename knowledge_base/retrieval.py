"""Semantic retrieval over the knowledge base with the same e5 embeddings as the NLU."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.store import KBHit, KnowledgeBase
from nlu.hybrid import cosine_confidence
from nlu.model import Embedder, EmbeddingIntentModel
from nlu.normalize import normalize


class SemanticRetriever:
    """Ranks entries by the cosine of the question's embedding to each entry's nearest example."""

    def __init__(self, kb: KnowledgeBase, embedder: Embedder, cache_dir: Path | None = None) -> None:
        self.kb = kb
        self._model = EmbeddingIntentModel(embedder, kb.examples(), cache_dir=cache_dir)

    def search(self, question: str, top_k: int = 3) -> list[KBHit]:
        """The ``top_k`` best entries, best first; ``score`` is a confidence in [0, 1]."""
        cosines, _head = self._model.scores(normalize(question))
        ranked = sorted(cosines.items(), key=lambda item: item[1], reverse=True)[:top_k]
        hits = []
        for entry_id, cosine in ranked:
            entry = self.kb.get(entry_id)
            if entry is not None:
                hits.append(KBHit(entry_id, entry.answer[0], round(cosine_confidence(cosine), 4)))
        return hits


def retriever_for(kb: KnowledgeBase, data_dir: Path | None = None) -> SemanticRetriever:
    """A retriever using this process's shared e5 embedder and the on-disk embedding cache."""
    from nlu.e5.embedder import get_embedder
    from nlu.paths import data_dir as default_data_dir

    base = data_dir or default_data_dir()
    return SemanticRetriever(kb, get_embedder(base), cache_dir=base / "cache" / "embeddings")
