"""Near-duplicate detection with MinHash LSH that works on short texts and CJK.

Shingles are token bigrams, where a token is a word or a single CJK character (so Chinese and Japanese get character
bigrams) over the lower-cased text; a one-token text is its own shingle, so even one-word items are compared.
Tokenising and hashing run in polars, MinHash and banding in numpy, batch by batch.

The index is built for a single pass in input order: an item is a near duplicate when one of its LSH bands matches
the band of an earlier item (any earlier item, kept or not) and their signatures agree on at least `threshold`
minus `margin` of the hashes; the first item of every group is kept. Memory per item, with no Python object per item:
the signature at 4 bits a hash (`num_perm / 2` bytes) plus 8 bytes per band in sorted numpy runs (sorted_runs.py):
112 bytes with the defaults, 1.1 GB for 10M items.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from .sorted_runs import MISSING, SortedRuns

TOKEN = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]|[\p{L}\p{N}]+"
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEED = 1234
BLOCK = 1 << 20  # signatures per storage block
MAX_ITEMS = 2**32 - 1  # item ids share a uint64 with a 32-bit band key


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


class NearDuplicateIndex:
    """Streaming MinHash LSH: `check(texts)` says, for each text in order, which earlier text (this batch or
    before) it nearly duplicates, or -1."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 64, bands: int = 10, rows: int = 4,
                 margin: float = 0.05, seed: int = 42):
        if bands * rows > num_perm:
            raise ValueError(f"bands * rows ({bands}*{rows}) exceeds num_perm ({num_perm})")
        self.threshold, self.num_perm, self.bands, self.rows, self.margin = threshold, num_perm, bands, rows, margin
        self.hasher = MinHasher(num_perm, seed)
        self.band_mix = np.random.default_rng(seed + 1).integers(1, 2**63, (bands, rows), dtype=np.uint64) | 1
        # per band: (32-bit band key << 32) | item id, for the first item seen with that key
        self.index = [SortedRuns() for _ in range(bands)]
        self.blocks: list[np.ndarray] = []  # the packed signatures, BLOCK items each (never copied to grow)
        self.count = 0

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        parts = sig[:, : self.bands * self.rows].reshape(len(sig), self.bands, self.rows).astype(np.uint64)
        with np.errstate(over="ignore"):
            return (parts * self.band_mix[None]).sum(axis=2, dtype=np.uint64) >> np.uint64(32)

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

    def store(self, packed: np.ndarray) -> None:
        at, stored = self.count, 0
        while stored < len(packed):
            block, row = divmod(at, BLOCK)
            if block == len(self.blocks):
                self.blocks.append(np.empty((BLOCK, packed.shape[1]), np.uint8))
            n = min(BLOCK - row, len(packed) - stored)
            self.blocks[block][row: row + n] = packed[stored: stored + n]
            at, stored = at + n, stored + n

    def stored(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.blocks[0].shape[1]), np.uint8)
        block = ids // BLOCK
        for b in np.unique(block):
            rows = block == b
            out[rows] = self.blocks[b][ids[rows] % BLOCK]
        return out

    def check(self, texts: list[str]) -> np.ndarray:
        n = len(texts)
        if self.count + n > MAX_ITEMS:
            raise ValueError(f"near dedupe holds at most {MAX_ITEMS} items")
        sig = self.hasher.signatures(texts)
        packed = self.pack(sig)
        keys = self.band_keys(sig)
        ids = np.arange(self.count, self.count + n, dtype=np.int64)
        self.store(packed)
        dup_of = np.full(n, -1, np.int64)
        for band in range(self.bands):
            k = keys[:, band]
            found = self.index[band].first(k, shift=32)
            earlier = np.where(found == MISSING, -1, (found & np.uint64(0xFFFFFFFF)).astype(np.int64))
            # within the batch: the first item with this key
            uniq, first = np.unique(k, return_index=True)
            first_in_batch = ids[first][np.searchsorted(uniq, k)]
            cand = np.where(earlier >= 0, earlier, np.where(first_in_batch < ids, first_in_batch, -1))
            todo = (cand >= 0) & (dup_of < 0)
            if todo.any():
                sim = self.similarity(packed[todo], self.stored(cand[todo]))
                ok = sim >= self.threshold - self.margin
                dup_of[np.flatnonzero(todo)[ok]] = cand[todo][ok]
            new = (earlier < 0) & (first_in_batch == ids)
            self.index[band].add((k[new] << np.uint64(32)) | ids[new].astype(np.uint64))
        self.count += n
        return dup_of

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.blocks) + sum(i.nbytes for i in self.index)


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
