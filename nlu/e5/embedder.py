"""Sentence embeddings with multilingual-e5-small through HF transformers (CPU, offline).

torch and transformers are imported lazily so that importing this module stays cheap.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class E5Embedder:
    """Mean-pooled, L2-normalised e5 embeddings from a converted model directory.

    ``num_threads`` is applied with ``torch.set_num_threads``, which is process-wide; 1 keeps
    latency stable on a busy small box. ``None`` leaves torch's setting alone. The fp16
    weights on disk are computed in float32 (faster on CPU). With ``compact_embeddings`` the
    250k x 384 token-embedding table stays in fp16 (its values are fp16 on disk anyway; the
    lookup result is promoted to float32 when the position embeddings are added), which saves
    ~190 MB of RAM and changes no result.
    """

    def __init__(
        self,
        model_dir: Path,
        num_threads: int | None = 1,
        max_length: int = 512,
        compact_embeddings: bool = True,
    ) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        started = time.monotonic()
        self.model_dir = Path(model_dir)
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        self.model = AutoModel.from_pretrained(
            self.model_dir, local_files_only=True, dtype="auto", add_pooling_layer=False
        )  # stored dtype (fp16 from ensure_model); everything but the lookup table goes to fp32
        keep_fp16 = "embeddings.word_embeddings." if compact_embeddings else None
        for name, param in self.model.named_parameters():
            if keep_fp16 is None or not name.startswith(keep_fp16):
                param.data = param.data.float()
        self.model.config.dtype = torch.float32
        self.model.eval()
        self.dim: int = int(self.model.config.hidden_size)
        self.load_seconds = time.monotonic() - started
        log.info("loaded e5 from %s in %.2f s", self.model_dir, self.load_seconds)

    def embed(self, texts: list[str], prefix: str = QUERY_PREFIX) -> np.ndarray:
        """Embed ``texts`` (each prefixed with ``prefix``) into an ``(n, dim)`` float32 array.

        Rows are L2-normalised, so a dot product is the cosine similarity. Inputs longer
        than ``max_length`` tokens are truncated.
        """
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = self.tokenizer(
            [prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        mask = batch["attention_mask"]
        with torch.inference_mode():
            hidden = self.model(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=-1)
        return pooled.numpy().astype(np.float32, copy=False)


_cache: dict[Path, E5Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(data_dir: Path) -> E5Embedder:
    """Return this process's shared embedder for ``data_dir`` (converting the model on first use)."""
    from nlu.e5.convert import ensure_model

    key = Path(data_dir).resolve()
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = E5Embedder(ensure_model(key))
            _cache[key] = embedder
        return embedder
