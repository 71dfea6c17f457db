"""Tokenised examples on disk, so that no rank holds a dataset in memory.

Each source is encoded once, into `CACHE/KEY/`: rank r of W encodes the r-th contiguous share of the rows into
`part-r.arrow` (Arrow IPC) with its mask-audit counts in `part-r.json`, in a `KEY.partial` folder that rank 0 renames
to `KEY` once every share is written, so only complete encodings are ever reused. Every rank then memory-maps all
shares in order; what a rank keeps in memory is a few numbers per example (lengths, trained-token counts).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

SCHEMA = pa.schema([("input_ids", pa.list_(pa.int32())), ("targets", pa.list_(pa.int32())),
                    ("n_trained", pa.int32())])

Example = tuple[np.ndarray, np.ndarray, int]  # input ids, shifted targets, trained tokens


def encode_once(folder: Path, n_rows: int, encode_share: Callable[[int, int, Path], dict], rank: int,
                world_size: int, barrier: Callable[[], None]) -> bool:
    """Make `folder` hold the encoding of rows [0, n_rows) unless a complete one is there: `encode_share(start, stop,
    path)` writes one rank's share and returns its counts. Returns whether this call encoded. Every rank calls it
    with the same arguments; each decides from the folder before the first barrier, and it is renamed into place only
    after the last, so ranks agree."""
    if folder.is_dir():
        return False
    partial = folder.with_name(folder.name + ".partial")
    if rank == 0:
        shutil.rmtree(partial, ignore_errors=True)  # left by a killed run
        partial.mkdir(parents=True)
    barrier()
    part = partial / f"part-{rank:05d}"
    counts = encode_share(rank * n_rows // world_size, (rank + 1) * n_rows // world_size, part.with_suffix(".arrow"))
    part.with_suffix(".json").write_text(json.dumps(counts))
    barrier()
    if rank == 0:
        partial.rename(folder)
    barrier()
    return True


def write_examples(path: Path, batches: Iterable[list[Example]]) -> None:
    """One record batch per batch of examples; ids and targets are stored as int32."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
        for examples in batches:
            if not examples:
                continue
            offsets = pa.array(np.cumsum([0] + [len(ids) for ids, _, _ in examples]), pa.int32())
            ids = np.concatenate([ids for ids, _, _ in examples]).astype(np.int32)
            targets = np.concatenate([t for _, t, _ in examples]).astype(np.int32)
            writer.write_batch(pa.record_batch([pa.ListArray.from_arrays(offsets, ids),
                                                pa.ListArray.from_arrays(offsets, targets),
                                                pa.array([k for _, _, k in examples], pa.int32())], schema=SCHEMA))


def read_examples(folder: Path) -> tuple[list[pa.RecordBatch], dict]:
    """The memory-mapped record batches of all shares in row order, and the shares' summed counts."""
    batches, counts = [], {}
    for path in sorted(folder.glob("part-*.arrow")):
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
        batches += [b for b in map(reader.get_batch, range(reader.num_record_batches)) if b.num_rows]
        for k, v in json.loads(path.with_suffix(".json").read_text()).items():
            counts[k] = counts.get(k, 0) + v
    return batches, counts


class TokenColumn(Sequence):
    """A list column over record batches, read one example at a time (an int64 copy of the mapped int32 values)."""

    def __init__(self, arrays: list[pa.ListArray]):
        self._offsets = [a.offsets.to_numpy() for a in arrays]
        self._values = [a.values.to_numpy() for a in arrays]
        self._starts = np.cumsum([0] + [len(a) for a in arrays])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        c = int(np.searchsorted(self._starts, i, side="right")) - 1
        j, offsets = i - self._starts[c], self._offsets[c]
        return self._values[c][offsets[j]:offsets[j + 1]].astype(np.int64)

    @property
    def lengths(self) -> np.ndarray:
        return np.concatenate([np.diff(o) for o in self._offsets] or [np.empty(0, np.int32)]).astype(np.int64)
