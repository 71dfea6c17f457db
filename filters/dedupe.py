"""Dedupe as three sharded stages, the shape of datatrove's MinHash dedupe, so that no task holds the corpus.

A recipe's `dedupe:` section drops exact duplicates after normalisation (reason `duplicate`) and, with `near: true`,
MinHash LSH near duplicates (reason `near_duplicate`, minhash.py). Of each group the item with the smallest input
position is kept: its place in the input as read (file order, then row order), carried in `POSITION` from the
reader. That does not depend on the executor, the task count or the order tasks finish in.

1. `DedupeSignatures` (one task per input shard): each item's 64-bit content hash and, for near dedupe, its LSH band
   keys with its packed signature, in one file per task (`signatures/RANK.bin`) grouped by bucket (a hash range, one
   per task of stage 2) with an index (bucketed.py).
2. `DedupeBuckets` (task b owns bucket b): reads bucket b, one byte range, from every task's file, sorts, and in
   every group of equal hash (equal band key) marks each item that is not the group's first (and, for near dedupe,
   whose signature agrees with the first's). The marked input positions go to one file (`marked/RANK.bin`) grouped
   by the input shard they belong to.
3. `DedupeFilter` (one task per input shard): reads its range of every stage-2 file and drops those items.

Each stage writes one file per task, so a run with T tasks leaves 2T files, and each file appears by rename whole.

An item can be both an exact and a near duplicate: it is counted once, as `duplicate`. Memory per task falls as
1/tasks: stage 2 holds its bucket (16 bytes an item for exact dedupe, ~48 bytes an item and band for near dedupe),
stage 3 the marked positions of its shard.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.batching import batched

from redraft.errors import UsageError
from redraft.types import POSITION

from .bucketed import BucketedWriter, read_bucket
from .config import DedupeConfig, DedupeField
from .minhash import MinHashLSH, near_dedupe_text
from .text import normalize

EXACT = np.dtype([("hash", "<u8"), ("pos", "<u8"), ("task", "<u4")])
MARKED = np.dtype("<u8")  # a marked input position


def near_dtype(packed_bytes: int) -> np.dtype:
    return np.dtype([("key", "<u4"), ("band", "u1"), ("pos", "<u8"), ("task", "<u4"), ("sig", "u1", (packed_bytes,))])


def dedupe_text(doc: Document) -> str:
    """What identifies an item: its languages, source and reference, and for a dialogue every turn's content."""
    m = doc.metadata
    parts = [m.get("src_lang") or "", m.get("tgt_lang") or "", normalize(doc.text or ""),
             normalize(m.get("reference_text") or "")]
    parts += [f"{t.get('role')}:{normalize(t.get('content') or '')}" for t in m.get("messages") or []]
    return "\x1f".join(parts)


def content_hashes(docs: list[Document]) -> np.ndarray:
    import hashlib

    return np.array([int.from_bytes(hashlib.blake2b(dedupe_text(d).encode("utf-8"), digest_size=8).digest())
                     for d in docs], np.uint64)


def resolve(cfg: DedupeField) -> DedupeConfig | None:
    if cfg is False:
        return None
    if cfg == "default" or cfg is True:
        return DedupeConfig()
    return cfg


def make_lsh(cfg: DedupeConfig) -> MinHashLSH:
    try:
        return MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, bands=cfg.bands, rows=cfg.rows)
    except ValueError as e:
        raise UsageError(f"dedupe: {e}") from None


def signature_sections(cfg: DedupeConfig) -> dict[str, np.dtype]:
    """The record kinds a stage-1 file holds, by section name."""
    sections = {"exact": EXACT} if cfg.exact else {}
    if cfg.near:
        sections["near"] = near_dtype(make_lsh(cfg).packed_bytes)
    return sections


def read_buckets(folder: Path, kind: str, dtype: np.dtype, bucket: int, world_size: int) -> np.ndarray:
    """Bucket `bucket` of section `kind` from the file of every task in `folder`: one byte range of each."""
    parts = []
    for task in range(world_size):
        with open(folder / f"{task:05d}.bin", "rb") as f:
            parts.append(read_bucket(f, kind, bucket, dtype))
    return np.concatenate(parts) if parts else np.empty(0, dtype)


class DedupeSignatures(PipelineStep):
    """Stage 1: per input shard, one file of hash records grouped by bucket (`world_size` buckets, bucketed.py)."""

    type = "🫂 - DEDUP"
    name = "dedupe signatures"

    def __init__(self, cfg: DedupeConfig, folder: str, batch_size: int = 4096):
        super().__init__()
        self.cfg, self.folder, self.batch_size = cfg, str(folder), batch_size
        if cfg.near:
            make_lsh(cfg)  # bad settings fail before any task starts

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = Path(self.folder) / "signatures"
        folder.mkdir(parents=True, exist_ok=True)
        lsh = make_lsh(self.cfg) if self.cfg.near else None
        # written whole by rename at the end, also without input, so a re-run after a crash rewrites it
        with BucketedWriter(folder / f"{rank:05d}.bin", signature_sections(self.cfg), world_size) as out:
            for batch in batched(data or (), self.batch_size):
                pos = np.array([d.metadata[POSITION] for d in batch], np.uint64)
                self.stat_update("items", value=len(batch))
                if self.cfg.exact:
                    rec = np.empty(len(batch), EXACT)
                    rec["hash"], rec["pos"], rec["task"] = content_hashes(batch), pos, rank
                    out.add("exact", rec, rec["hash"] % np.uint64(world_size))
                if lsh is not None:
                    sig = lsh.hasher.signatures([near_dedupe_text(d) for d in batch])
                    keys, packed = lsh.band_keys(sig), lsh.pack(sig)
                    rec = np.empty((len(batch), lsh.bands), near_dtype(lsh.packed_bytes))
                    rec["key"], rec["band"] = keys, np.arange(lsh.bands, dtype=np.uint8)[None]
                    rec["pos"], rec["task"], rec["sig"] = pos[:, None], rank, packed[:, None, :]
                    rec = rec.reshape(-1)
                    out.add("near", rec, (rec["key"].astype(np.uint64) + rec["band"]) % np.uint64(world_size))
        return
        yield


class DedupeBuckets(PipelineStep):
    """Stage 2: task b reads bucket b of every stage-1 file, marks the duplicates in it, and writes their positions
    to one file grouped by the input shard they belong to."""

    type = "🫂 - DEDUP"
    name = "dedupe buckets"

    def __init__(self, cfg: DedupeConfig, folder: str):
        super().__init__()
        self.cfg, self.folder = cfg, str(folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = Path(self.folder)
        signatures = signature_sections(self.cfg)
        marked: dict[str, np.ndarray] = {}
        if self.cfg.exact:
            rec = read_buckets(folder / "signatures", "exact", signatures["exact"], rank, world_size)
            rec = rec[np.lexsort((rec["pos"], rec["hash"]))]
            later = np.zeros(len(rec), bool)
            later[1:] = rec["hash"][1:] == rec["hash"][:-1]
            marked["exact"] = rec[later]
        if self.cfg.near:
            lsh = make_lsh(self.cfg)
            rec = read_buckets(folder / "signatures", "near", signatures["near"], rank, world_size)
            rec = rec[np.lexsort((rec["pos"], rec["key"], rec["band"]))]
            starts = np.ones(len(rec), bool)
            starts[1:] = (rec["key"][1:] != rec["key"][:-1]) | (rec["band"][1:] != rec["band"][:-1])
            first = np.maximum.accumulate(np.where(starts, np.arange(len(rec)), 0))
            cand = np.flatnonzero(~starts)
            near = cand[lsh.is_near(rec["sig"][cand], rec["sig"][first[cand]])] if len(cand) else cand
            marked["near"] = rec[near]
        out = folder / "marked"
        out.mkdir(parents=True, exist_ok=True)
        with BucketedWriter(out / f"{rank:05d}.bin", {k: MARKED for k in marked}, world_size) as w:
            for kind, rec in marked.items():
                pos, first = np.unique(rec["pos"], return_index=True)
                w.add(kind, pos.astype(MARKED), rec["task"][first])
        self.stat_update("marked", value=sum(len(v) for v in marked.values()))
        return
        yield


class DedupeFilter(BaseFilter):
    """Stage 3: drops the items of this shard that stage 2 marked (reason `duplicate` or `near_duplicate`)."""

    name = "dedupe"

    def __init__(self, folder: str, exclusion_writer=None, batch_size: int = 4096):
        super().__init__(exclusion_writer, batch_size)
        self.folder = str(folder)
        self.exact = self.near = np.empty(0, np.uint64)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        marked = Path(self.folder) / "marked"
        self.exact = np.unique(read_buckets(marked, "exact", MARKED, rank, world_size))
        self.near = np.unique(read_buckets(marked, "near", MARKED, rank, world_size))
        yield from super().run(data, rank, world_size)

    def filter_batch(self, batch: list[Document]):
        pos = np.array([d.metadata[POSITION] for d in batch], np.uint64)
        exact, near = _member(pos, self.exact), _member(pos, self.near)
        return [(False, "duplicate") if e else (False, "near_duplicate") if n else True for e, n in zip(exact, near)]

    def filter(self, doc: Document):
        return self.filter_batch([doc])[0]


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if not len(sorted_set):
        return np.zeros(len(values), bool)
    at = np.searchsorted(sorted_set, values).clip(max=len(sorted_set) - 1)
    return sorted_set[at] == values


def dedupe_stages(cfg: DedupeField, folder: str) -> tuple[list[PipelineStep], list[PipelineStep], BaseFilter] | None:
    """The steps of the three stages for the `dedupe` field (`false` → None). Each stage runs with as many tasks as
    the stage that wrote its input; stage 1 and 3 read that input, stage 2 reads only stage 1's files."""
    cfg = resolve(cfg)
    if cfg is None or not (cfg.exact or cfg.near):
        return None
    return [DedupeSignatures(cfg, folder)], [DedupeBuckets(cfg, folder)], DedupeFilter(folder)


def dedupe_documents(docs: list[Document], cfg: DedupeConfig = DedupeConfig(), tasks: int = 1,
                     folder: str | None = None) -> list[bool | str]:
    """The three stages in this process, over `docs` split into `tasks` contiguous shares the way the reader splits
    its input: per document, True when kept, else the reason. For notebooks, tests and benchmarks."""
    import contextlib
    import tempfile

    with tempfile.TemporaryDirectory() if folder is None else contextlib.nullcontext(folder) as work:
        for i, d in enumerate(docs):
            d.metadata[POSITION] = i
        signatures, buckets, drop = dedupe_stages(cfg, work)
        cuts = [len(docs) * rank // tasks for rank in range(tasks + 1)]
        for rank in range(tasks):
            list(signatures[0].run(iter(docs[cuts[rank]:cuts[rank + 1]]), rank, tasks))
        for rank in range(tasks):
            list(buckets[0].run(None, rank, tasks))
        verdict: list[bool | str] = []
        for rank in range(tasks):
            list(drop.run(iter(()), rank, tasks))  # loads the shard's marks
            shard = docs[cuts[rank]:cuts[rank + 1]]
            verdict += [True if r is True else r[1] for r in (drop.filter_batch(shard) if shard else [])]
        return verdict
