"""The transformers layer of the NLU: multilingual-e5-small embeddings of the flow's examples.

Two views of the same embeddings are combined (measured in BENCHMARKS.md): the nearest example of
each intent (k-NN, robust with few examples) and a small softmax head trained on the examples when
the flow loads (sharper between close intents). Example embeddings are cached on disk, keyed by
the model and the example texts, so loading a flow is fast.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from nlu.normalize import normalize

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 2048
HEAD_SCALE = 20.0  # cosine similarities span a narrow range: scale them before the softmax


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised vectors."""

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """One row per text."""
        ...


def _cache_key(model_id: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(model_id.encode())
    for text in texts:
        digest.update(b"\0" + text.encode())
    return digest.hexdigest()[:32]


def embed_cached(
    embedder: Embedder, texts: list[str], cache_dir: Path | None, model_id: str
) -> NDArray[np.float32]:
    """Embeddings of ``texts``, read from / written to ``cache_dir`` when given."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    path = cache_dir / f"{_cache_key(model_id, texts)}.npy" if cache_dir else None
    if path is not None and path.is_file():
        try:
            vectors = np.load(path)
            if vectors.shape[0] == len(texts):
                return vectors
        except (OSError, ValueError):
            log.warning("ignoring unreadable embedding cache %s", path)
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{time.monotonic_ns()}.npy")
        np.save(tmp, vectors)
        tmp.replace(path)  # atomic: concurrent loaders never read a partial file
    return vectors


def train_softmax_head(
    vectors: NDArray[np.float32], labels: NDArray[np.int64], classes: int, epochs: int = 300, lr: float = 0.5
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Multinomial logistic regression by full-batch gradient descent (deterministic, ~10 ms)."""
    weights = np.zeros((vectors.shape[1], classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    l2 = 1e-3
    onehot = np.eye(classes, dtype=np.float32)[labels]
    for _ in range(epochs):
        logits = HEAD_SCALE * (vectors @ weights) + bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        grad = (probs - onehot) / len(labels)
        weights -= lr * (HEAD_SCALE * vectors.T @ grad + l2 * weights)
        bias -= lr * grad.sum(axis=0)
    return weights, bias


class EmbeddingIntentModel:
    """k-NN and softmax-head scores of each intent for an utterance."""

    def __init__(
        self,
        embedder: Embedder,
        examples: Mapping[str, Sequence[str]],
        *,
        cache_dir: Path | None = None,
        model_id: str = "multilingual-e5-small",
        background: Sequence[str] = (),
    ) -> None:
        self.embedder = embedder
        self.intents = sorted(name for name, texts in examples.items() if texts)
        texts: list[str] = []
        owners: list[int] = []
        for index, name in enumerate(self.intents):
            for text in dict.fromkeys(normalize(t) for t in examples[name]):
                if text:
                    texts.append(text)
                    owners.append(index)
        self.texts = texts
        self.owners = np.asarray(owners, dtype=np.int64)
        started = time.perf_counter()
        self.vectors = embed_cached(embedder, texts, cache_dir, model_id)
        self._query_cache: dict[str, NDArray[np.float32]] = {}
        self.weights, self.bias = train_softmax_head(self.vectors, self.owners, len(self.intents))
        # Out-of-domain sentences (nlu.background): nearer to them than to any example → no_match.
        background_texts = list(dict.fromkeys(t for t in (normalize(b) for b in background) if t))
        self.background = embed_cached(embedder, background_texts, cache_dir, model_id)
        log.info(
            "intent model: %d examples of %d intents in %.2fs",
            len(texts),
            len(self.intents),
            time.perf_counter() - started,
        )

    def _query_vector(self, text: str) -> NDArray[np.float32]:
        """Embedding of a callee utterance; short answers repeat a lot (好, 是的), so keep a few."""
        vector = self._query_cache.get(text)
        if vector is None:
            vector = np.asarray(self.embedder.embed([text]), dtype=np.float32)[0]
            if len(self._query_cache) >= QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = vector
        return vector

    def prime(self, texts: Sequence[str]) -> None:
        """Embed the uncached ``texts`` in one batch (cheaper than one by one; n-best, repairs)."""
        missing = list(dict.fromkeys(t for t in texts if t and t not in self._query_cache))
        if not missing:
            return
        vectors = np.asarray(self.embedder.embed(missing), dtype=np.float32)
        for text, vector in zip(missing, vectors, strict=True):
            if len(self._query_cache) >= QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[text] = vector

    def background_similarity(self, text: str) -> float:
        """Cosine of ``text`` to the nearest background sentence (0 without any)."""
        if not len(self.background) or not text:
            return 0.0
        return float((self.background @ self._query_vector(text)).max())

    def scores(
        self, text: str, candidates: Sequence[str] | None = None
    ) -> tuple[dict[str, float], dict[str, float]]:
        """(nearest-example cosine per intent, head probability per intent) among ``candidates``."""
        allowed = [i for i, name in enumerate(self.intents) if candidates is None or name in candidates]
        if not allowed or not text:
            return {}, {}
        query = self._query_vector(text)
        similarities = self.vectors @ query
        knn: dict[str, float] = {}
        for index in allowed:
            mask = self.owners == index
            knn[self.intents[index]] = float(similarities[mask].max())
        logits = HEAD_SCALE * (query @ self.weights[:, allowed]) + self.bias[allowed]
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        head = {self.intents[index]: float(p) for index, p in zip(allowed, probs, strict=True)}
        return knn, head
