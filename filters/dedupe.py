"""Dedupe steps for a recipe's `dedupe:` section: exact duplicates after normalisation, then MinHash LSH near
duplicates. The runner runs them in ONE task over all kept items, in input order: the first item of each group is
kept, later ones are dropped with reason `duplicate` / `near_duplicate`. Only hashes are held in memory, in numpy
arrays: 8 bytes an item for exact dedupe, about 112 for near dedupe (minhash.py).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from redraft.errors import UsageError

from .config import DedupeConfig, DedupeField
from .sorted_runs import MISSING, SortedRuns
from .text import normalize

Kind = Literal["pair", "dialogue"]


def dedupe_text(doc: Document) -> str:
    """What identifies an item: its languages, source and reference, and for a dialogue every turn's content."""
    m = doc.metadata
    parts = [m.get("src_lang") or "", m.get("tgt_lang") or "", normalize(doc.text or ""),
             normalize(m.get("reference_text") or "")]
    parts += [f"{t.get('role')}:{normalize(t.get('content') or '')}" for t in m.get("messages") or []]
    return "\x1f".join(parts)


class ExactDedupe(BaseFilter):
    """Drops an item whose normalised content (see `dedupe_text`) was already seen. Reason `duplicate`."""
    name = "exact_dedupe"

    def __init__(self, exclusion_writer=None, batch_size: int = 4096):
        super().__init__(exclusion_writer, batch_size)
        self.seen = SortedRuns()  # 64-bit content hashes

    def filter_batch(self, batch: list[Document]):
        keys = np.array([int.from_bytes(hashlib.blake2b(dedupe_text(d).encode("utf-8"), digest_size=8).digest())
                         for d in batch], np.uint64)
        uniq, first = np.unique(keys, return_index=True)
        seen = self.seen.first(uniq) != MISSING
        self.seen.add(uniq[~seen])
        new = np.zeros(len(batch), bool)
        new[first[~seen]] = True  # the first of its kind in the batch, and not seen before
        return [True if n else (False, "duplicate") for n in new]

    def filter(self, doc: Document):
        return self.filter_batch([doc])[0]


def resolve(cfg: DedupeField) -> DedupeConfig | None:
    if cfg is False:
        return None
    if cfg == "default" or cfg is True:
        return DedupeConfig()
    return cfg


def build_dedupe(cfg: DedupeField, kind: Kind) -> list[PipelineStep]:
    """Dedupe steps for the `dedupe` field: `false` → none; `default`/`true` → DedupeConfig() (exact only);
    `near: true` adds MinHash LSH near-dedupe (filters/minhash.py) after the exact step. Bad near-dedupe settings
    raise UsageError."""
    cfg = resolve(cfg)
    if cfg is None:
        return []
    steps: list[PipelineStep] = []
    if cfg.exact:
        steps.append(ExactDedupe())
    if cfg.near:
        from .minhash import NearDedupe

        try:
            steps.append(NearDedupe(**near_params(cfg)))
        except ValueError as e:
            raise UsageError(f"dedupe: {e}") from None
    return steps


def near_params(cfg: DedupeConfig) -> dict:
    return dict(threshold=cfg.threshold, num_perm=cfg.num_perm, bands=cfg.bands, rows=cfg.rows)
