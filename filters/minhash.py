"""Near-duplicate detection with MinHash LSH that works on short texts and CJK.

Shingles are token bigrams, where a token is a word or a single CJK character (so Chinese and Japanese get character
bigrams) over the lower-cased text; a one-token text is its own shingle, so even one-word items are compared.
Tokenising and hashing run in polars, MinHash and banding in numpy, batch by batch.

The index is built for a single pass in input order: an item is a near duplicate when one of its LSH bands matches
the band of an earlier item (any earlier item, kept or not) and their signatures agree on at least `threshold`
minus `margin` of the hashes; the first item of every group is kept. Memory per item: the 1-byte-per-hash signature
(`num_perm` bytes) plus 12 bytes per band in sorted numpy runs.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

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
        for i in range(0, self.num_perm, self.chunk):
            with np.errstate(over="ignore"):
                mixed = (hashes[:, None] * self.a[None, i:i + self.chunk] + self.b[None, i:i + self.chunk]) >> 32
            out[:, i:i + self.chunk] = np.minimum.reduceat(mixed.astype(np.uint32), offsets, axis=0)
        return out


class SortedRuns:
    """A uint64 -> int64 map for batch lookups: sorted numpy runs merged like a binary counter (amortised
    O(n log n)); the first value stored for a key wins."""

    def __init__(self):
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        found = np.full(len(keys), -1, np.int64)
        for rk, rv in self.runs:
            pos = np.searchsorted(rk, keys).clip(max=len(rk) - 1)
            hit = (rk[pos] == keys) & (found < 0)
            found[hit] = rv[pos[hit]]
        return found

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], values[order]))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            (k2, v2), (k1, v1) = self.runs.pop(), self.runs.pop()
            k, v = np.concatenate((k1, k2)), np.concatenate((v1, v2))
            order = np.argsort(k, kind="stable")
            self.runs.append((k[order], v[order]))

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for k, v in self.runs)


class NearDuplicateIndex:
    """Streaming MinHash LSH: `check(texts)` says, for each text in order, which earlier text (this batch or
    before) it nearly duplicates, or -1."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 10, rows: int = 4,
                 margin: float = 0.05, seed: int = 42):
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows ({bands}*{rows}) exceeds num_perm ({num_perm})")
        self.threshold, self.bands, self.rows, self.margin = threshold, bands, rows, margin
        self.hasher = MinHasher(num_perm, seed)
        self.band_mix = np.random.default_rng(seed + 1).integers(1, 2**63, (bands, rows), dtype=np.uint64) | 1
        self.index = [SortedRuns() for _ in range(bands)]
        self.sigs = np.empty((1024, num_perm), np.uint8)  # 1 byte per hash: agreement is estimated, collisions 1/256
        self.count = 0

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        parts = sig[:, : self.bands * self.rows].reshape(len(sig), self.bands, self.rows).astype(np.uint64)
        with np.errstate(over="ignore"):
            return (parts * self.band_mix[None]).sum(axis=2, dtype=np.uint64)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        agree = (a == b).mean(axis=-1)
        return (agree - 1 / 256) / (1 - 1 / 256)

    def check(self, texts: list[str]) -> np.ndarray:
        n = len(texts)
        sig = self.hasher.signatures(texts)
        small = (sig & 0xFF).astype(np.uint8)
        keys = self.band_keys(sig)
        ids = np.arange(self.count, self.count + n, dtype=np.int64)
        if self.count + n > len(self.sigs):  # grow by doubling
            grown = np.empty((max(2 * len(self.sigs), self.count + n), self.sigs.shape[1]), np.uint8)
            grown[: self.count] = self.sigs[: self.count]
            self.sigs = grown
        self.sigs[self.count: self.count + n] = small
        dup_of = np.full(n, -1, np.int64)
        for band in range(self.bands):
            k = keys[:, band]
            earlier = self.index[band].lookup(k)
            # within the batch: the first item with this key
            uniq, first = np.unique(k, return_index=True)
            first_in_batch = ids[first][np.searchsorted(uniq, k)]
            cand = np.where(earlier >= 0, earlier, np.where(first_in_batch < ids, first_in_batch, -1))
            todo = (cand >= 0) & (dup_of < 0)
            if todo.any():
                sim = self.similarity(small[todo], self.sigs[cand[todo]])
                ok = sim >= self.threshold - self.margin
                dup_of[np.flatnonzero(todo)[ok]] = cand[todo][ok]
            new = (earlier < 0) & (first_in_batch == ids)
            self.index[band].add(k[new], ids[new])
        self.count += n
        return dup_of

    @property
    def nbytes(self) -> int:
        return self.count * self.sigs.shape[1] + sum(i.nbytes for i in self.index)


def near_dedupe_text(doc: Document) -> str:
    """A pair: source and reference. A dialogue: the source and every assistant turn."""
    m = doc.metadata
    parts = [doc.text or ""]
    if m.get("messages"):
        parts += [t.get("content") or "" for t in m["messages"] if t.get("role") == "assistant"]
    else:
        parts.append(m.get("reference_text") or "")
    return "\n".join(parts)


class NearDedupe(BaseFilter):
    """Drops items whose MinHash-estimated Jaccard similarity (token-bigram shingles, CJK by character) to an
    earlier item reaches `threshold`. Reason `near_duplicate`."""
    name = "near_dedupe"

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 10, rows: int = 4,
                 margin: float = 0.05, exclusion_writer=None, batch_size: int = 4096):
        super().__init__(exclusion_writer, batch_size)
        self.params = dict(threshold=threshold, num_perm=num_perm, bands=bands, rows=rows, margin=margin)
        NearDuplicateIndex(**self.params)  # validate now, build at run time
        self.index: NearDuplicateIndex | None = None

    def filter_batch(self, batch: list[Document]):
        if self.index is None:
            self.index = NearDuplicateIndex(**self.params)
        dup_of = self.index.check([near_dedupe_text(d) for d in batch])
        return [True if j < 0 else (False, "near_duplicate") for j in dup_of]

    def filter(self, doc: Document):
        return self.filter_batch([doc])[0]
