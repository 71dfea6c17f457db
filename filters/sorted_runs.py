"""A growing set of uint64 entries searched a batch at a time, with no Python object per entry: what the dedupe
indexes keep in memory (8 bytes an entry).

Entries live in sorted numpy runs merged like a binary counter: `add` appends a batch as one sorted run, then merges
the last two runs while they are of similar size, so there are O(log n) runs and each entry is merged O(log n) times.
A merge is one stable sort of two concatenated sorted runs, which numpy's timsort does in one linear pass.
"""

from __future__ import annotations

import numpy as np

MISSING = np.uint64(2**64 - 1)


class SortedRuns:
    def __init__(self):
        self.runs: list[np.ndarray] = []

    def first(self, prefixes: np.ndarray, shift: int = 0) -> np.ndarray:
        """Per prefix, the smallest entry whose top bits (`entry >> shift`) equal it, or MISSING."""
        order = np.argsort(prefixes)
        prefixes = prefixes[order].astype(np.uint64, copy=False)  # sorted queries: searchsorted walks each run once
        shift = np.uint64(shift)
        found = np.full(len(prefixes), MISSING, np.uint64)
        for run in self.runs:
            entries = run[np.searchsorted(run, prefixes << shift).clip(max=len(run) - 1)]
            hit = ((entries >> shift) == prefixes) & (entries < found)
            found[hit] = entries[hit]
        out = np.empty_like(found)
        out[order] = found
        return out

    def add(self, entries: np.ndarray) -> None:
        if not len(entries):
            return
        self.runs.append(np.sort(entries.astype(np.uint64, copy=False)))
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            newer, older = self.runs.pop(), self.runs.pop()
            merged = np.concatenate((older, newer))
            del newer, older  # free the halves before the sort's buffer is taken
            merged.sort(kind="stable")
            self.runs.append(merged)

    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)
