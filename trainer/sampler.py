"""World-size independent global batches.

The example stream (a weighted mix of sources, each reshuffled every pass) and the global batch of each step depend
only on the seed, the data and `rows_per_step = micro_batch_size * grad_accum * world_size`; ranks then take
disjoint slices of the step's rows. So 1, 2 or 8 processes with the same rows per step train on the same examples at
every step, and since the loss is normalised by the step's global count of trained tokens, they compute the same
loss and gradients.

The planner is a pure function of its inputs, so resuming at step k replays k plans (cheap: no tokens are touched).
"""

from __future__ import annotations

import numpy as np

from .packing import best_fit_pack


class ExampleStream:
    """Infinite stream of example indices. Source s is drawn with probability proportional to weight_s * size_s;
    within a source, examples come in a fresh permutation each pass."""

    def __init__(self, source_of: np.ndarray, weights: list[float], seed: int, chunk: int = 4096):
        self._members = [np.flatnonzero(source_of == s) for s in range(len(weights))]
        mass = np.array([w * len(m) for w, m in zip(weights, self._members)], dtype=np.float64)
        self._probs = mass / mass.sum()
        self._rng = np.random.default_rng([seed, 0])
        self._source_rngs = [np.random.default_rng([seed, 1, s]) for s in range(len(weights))]
        self._perms = [np.empty(0, dtype=np.int64)] * len(weights)
        self._pos = [0] * len(weights)
        self._chunk = chunk
        self._buffer: list[int] = []
        self.consumed = 0

    def _next_of_source(self, s: int) -> int:
        if self._pos[s] >= len(self._perms[s]):
            self._perms[s] = self._source_rngs[s].permutation(self._members[s])
            self._pos[s] = 0
        self._pos[s] += 1
        return int(self._perms[s][self._pos[s] - 1])

    def __next__(self) -> int:
        if not self._buffer:
            draws = self._rng.choice(len(self._probs), size=self._chunk, p=self._probs)
            self._buffer = [self._next_of_source(int(s)) for s in draws][::-1]  # popped from the end
        self.consumed += 1
        return self._buffer.pop()

    def __iter__(self):
        return self


class GlobalBatchPlanner:
    """Plans each step's rows: a row is a list of example indices (one example without packing, several packed)."""

    def __init__(self, lengths: np.ndarray, source_of: np.ndarray, weights: list[float], seed: int,
                 rows_per_step: int, seq_len: int, packing: bool):
        self.lengths = lengths
        self.rows_per_step = rows_per_step
        self.seq_len = seq_len
        self.packing = packing
        self.stream = ExampleStream(source_of, weights, seed)
        self.carry: list[int] = []  # packing: examples drawn but not yet placed, oldest first
        self.step = 0

    def next_rows(self) -> list[list[int]]:
        self.step += 1
        if not self.packing:
            picked = [next(self.stream) for _ in range(self.rows_per_step)]
            # similar lengths share a micro-batch, so dynamic padding wastes little
            picked.sort(key=lambda i: (-self.lengths[i], i))
            return [[i] for i in picked]
        capacity = self.rows_per_step * self.seq_len
        pending, total = list(self.carry), int(sum(self.lengths[i] for i in self.carry))
        while total < capacity:
            i = next(self.stream)
            pending.append(i)
            total += int(self.lengths[i])
        # carried-over examples are placed first so none waits for ever
        n_carried = len(self.carry)
        rows, left = best_fit_pack(pending, self.lengths, self.seq_len, self.rows_per_step, n_priority=n_carried)
        self.carry = left
        return rows

    def skip(self, steps: int) -> None:
        for _ in range(steps):
            self.next_rows()

    def state(self) -> dict:
        return {"step": self.step, "examples_drawn": self.stream.consumed, "carried": list(self.carry)}


def rank_microbatches(rows: list[list[int]], rank: int, world_size: int, grad_accum: int,
                      micro_batch_size: int) -> list[list[list[int]]]:
    """This rank's `grad_accum` micro-batches of the step's rows (micro-batch m of rank r is slice m * world + r)."""
    assert len(rows) == world_size * grad_accum * micro_batch_size, (len(rows), world_size, grad_accum)
    out = []
    for m in range(grad_accum):
        start = (m * world_size + rank) * micro_batch_size
        out.append(rows[start:start + micro_batch_size])
    return out
