"""Near-duplicate detection with MinHash LSH that works on short texts and CJK.

Shingles are token bigrams, where a token is a word or a single CJK character (so Chinese and Japanese get character
bigrams) over the lower-cased text; a one-token text is its own shingle, so even one-word items are compared.
Tokenising and hashing run in polars, MinHash and banding in numpy, batch by batch.

An item is a near duplicate when one of its LSH band keys equals that of an earlier item (the earliest one with
that key, kept or not) and their signatures agree on at least `threshold` minus `margin` of the hashes. The sharded
stages that apply this to a whole corpus are in dedupe.py.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from datatrove.data import Document

TOKEN = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]|[\p{L}\p{N}]+"
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEED = 1234


def shingle_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, offsets): the uint64 shingle hashes of every text, concatenated, and where each text's start."""
    tokens = pl.Series(texts, dtype=pl.String).str.to_lowercase().str.extract_all(TOKEN)
    lens = tokens.list.len().to_numpy().astype(np.int64)
    hashed = tokens.explode(empty_as_null=False).drop_nulls().hash(_SEED).to_numpy().astype(np.uint64, copy=False)
    lens1 = lens.clip(min=1)  # a text without tokens gets one constant shingle
    flat = np.zeros(int(lens1.sum()), np.uint64)
    flat[np.repeat(lens > 0, lens1)] = hashed
    starts = np.concatenate(([0], np.cumsum(lens1)[:-1]))
    # bigram i = token i mixed with token i+1; the last token of a text only stands alone in a one-token text
    nxt = np.empty_like(flat)
    nxt[:-1], nxt[-1:] = flat[1:], 0
    with np.errstate(over="ignore"):
        bigrams = flat * _MIX + nxt
    last = starts + lens1 - 1
    keep = np.ones(len(flat), bool)
    keep[last[lens1 > 1]] = False
    counts = np.where(lens1 > 1, lens1 - 1, 1)
    bigrams[last[lens1 == 1]] = flat[last[lens1 == 1]]
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return bigrams[keep], offsets


class MinHasher:
    def __init__(self, num_perm: int = 64, seed: int = 42, chunk: int = 16):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
        self.num_perm, self.chunk = num_perm, chunk

    def signatures(self, texts: list[str]) -> np.ndarray:
        """uint32 [len(texts), num_perm] MinHash signatures (multiply-shift hashing of the shingle hashes)."""
        hashes, offsets = shingle_hashes(texts)
        out = np.empty((len(texts), self.num_perm), np.uint32)
        buf = np.empty((len(hashes), self.chunk), np.uint64)  # one buffer, computed in place: less peak memory
        for i in range(0, self.num_perm, self.chunk):
            a, b = self.a[None, i:i + self.chunk], self.b[None, i:i + self.chunk]
            mixed = buf[:, : a.shape[1]]
            with np.errstate(over="ignore"):
                np.multiply(hashes[:, None], a, out=mixed)
                mixed += b
            mixed >>= np.uint64(32)
            out[:, i:i + a.shape[1]] = np.minimum.reduceat(mixed, offsets, axis=0)
        return out


class MinHashLSH:
    """MinHash signatures cut into LSH bands, and the similarity estimate that confirms a band match.

    Two items are compared when one of their `bands` band keys (a 32-bit hash of `rows` signature values) is equal;
    they are near duplicates when their signatures agree on at least `threshold - margin` of the hashes."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 10, rows: int = 4,
                 margin: float = 0.05, seed: int = 42):
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows ({bands}*{rows}) exceeds num_perm ({num_perm})")
        self.threshold, self.num_perm, self.bands, self.rows, self.margin = threshold, num_perm, bands, rows, margin
        self.hasher = MinHasher(num_perm, seed)
        self.band_mix = np.random.default_rng(seed + 1).integers(1, 2**63, (bands, rows), dtype=np.uint64) | 1

    @property
    def packed_bytes(self) -> int:
        return (self.num_perm + 1) // 2

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """uint32 [n, bands]"""
        parts = sig[:, : self.bands * self.rows].reshape(len(sig), self.bands, self.rows).astype(np.uint64)
        with np.errstate(over="ignore"):
            return ((parts * self.band_mix[None]).sum(axis=2, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)

    def pack(self, sig: np.ndarray) -> np.ndarray:
        """4 bits per hash, two to a byte: agreement is estimated with 1/16 chance collisions, which the estimate
        corrects for (64 hashes: the same spread as 1 byte each, at half the memory)."""
        nibbles = (sig & 0xF).astype(np.uint8)
        if nibbles.shape[1] % 2:
            nibbles = np.pad(nibbles, ((0, 0), (0, 1)))
        return nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = a ^ b
        agree = ((x & 0x0F) == 0).sum(axis=-1) + ((x & 0xF0) == 0).sum(axis=-1) - self.num_perm % 2
        return (agree / self.num_perm - 1 / 16) / (1 - 1 / 16)

    def is_near(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.similarity(a, b) >= self.threshold - self.margin


def near_dedupe_text(doc: Document) -> str:
    """A pair: source and reference. A dialogue: the source and every assistant turn."""
    m = doc.metadata
    parts = [doc.text or ""]
    if m.get("messages"):
        parts += [t.get("content") or "" for t in m["messages"] if t.get("role") == "assistant"]
    else:
        parts.append(m.get("reference_text") or "")
    return "\n".join(parts)
