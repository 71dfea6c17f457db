"""Best-fit packing with document isolation, and collation of packed or padded micro-batches.

Packed rows carry `position_ids` that restart at 0 for each document and no attention mask: transformers derives the
document mask from the restarts (masking_utils.find_packed_sequence_indices), as a boolean mask for sdpa/eager on the
CPU and a BlockMask for flex_attention on the GPU, so attention never crosses documents. Targets are shifted per
document before packing, so no document is trained to predict the next document's first token.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import torch

from .data import IGNORE


def best_fit_pack(items: list[int], lengths: np.ndarray, capacity: int, n_bins: int,
                  n_priority: int = 0) -> tuple[list[list[int]], list[int]]:
    """Best-fit decreasing into `n_bins` bins of `capacity` tokens; returns (bins, items that did not fit).

    The first `n_priority` items are placed before the others (each group longest first); ties keep input order.
    """
    groups = (items[:n_priority], items[n_priority:])
    order = [i for g in groups for i in sorted(g, key=lambda i: -int(lengths[i]))]
    bins: list[list[int]] = [[] for _ in range(n_bins)]
    # (free space, bin index) sorted ascending: the tightest bin that fits is found by bisection
    free = [(capacity, b) for b in range(n_bins)]
    left = []
    for i in order:
        n = int(lengths[i])
        k = bisect.bisect_left(free, (n, -1))
        if k == len(free):
            left.append(i)
            continue
        space, b = free.pop(k)
        bins[b].append(i)
        bisect.insort(free, (space - n, b))
    left_set = set(left)
    return bins, [i for i in items if i in left_set]


def collate(rows: list[list[int]], input_ids: Sequence[np.ndarray], targets: Sequence[np.ndarray],
            source_of: np.ndarray, pad_id: int, packing: bool, seq_len: int,
            pad_to_multiple: int = 8) -> dict[str, torch.Tensor]:
    """Tensors for one micro-batch, reading only its examples (`input_ids` and `targets` may be memory-mapped
    columns). Rows are padded to the longest row (a multiple of `pad_to_multiple`, at most `seq_len`); `source` is
    each token's source index (-1 for padding) for per-source losses."""
    docs = [[(input_ids[i], targets[i], int(source_of[i])) for i in row] for row in rows]
    width = max((sum(len(ids) for ids, _, _ in row) for row in docs), default=1)
    width = min(max(-(-width // pad_to_multiple) * pad_to_multiple, 1), max(seq_len, width))
    b = len(rows)
    ids = torch.full((b, width), pad_id, dtype=torch.long)
    tgt = torch.full((b, width), IGNORE, dtype=torch.long)
    pos = torch.zeros((b, width), dtype=torch.long)
    src = torch.full((b, width), -1, dtype=torch.long)
    mask = torch.zeros((b, width), dtype=torch.long)
    for r, row in enumerate(docs):
        at = 0
        for doc_ids, doc_tgt, doc_src in row:
            n = len(doc_ids)
            ids[r, at:at + n] = torch.from_numpy(doc_ids)
            tgt[r, at:at + n] = torch.from_numpy(doc_tgt)
            pos[r, at:at + n] = torch.arange(n)
            src[r, at:at + n] = doc_src
            mask[r, at:at + n] = 1
            at += n
        pos[r, at:] = torch.arange(width - at)  # padding is its own document
    batch = {"input_ids": ids, "targets": tgt, "position_ids": pos, "source": src, "n_tokens": int(mask.sum())}
    if not packing:
        batch["attention_mask"] = mask
    return batch
