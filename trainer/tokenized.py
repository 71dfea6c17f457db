"""Tokenised examples on disk, so that no rank holds a dataset in memory.

Each source is encoded once, into `CACHE/KEY/`: rank r of W encodes the r-th contiguous share of the rows into
`part-r.arrow` (Arrow IPC) with its mask-audit counts in `part-r.json`, in a `KEY.partial` folder that rank 0 renames
to `KEY` once every share is written, so only complete encodings are ever reused. Every rank then reads all shares in
order: what it keeps in memory is a few numbers per example (token offsets, trained-token counts), and an example's
tokens are read from the file when a micro-batch needs them. They are read with `pread`, not through the memory map
that located them: every page a process touches in a mapping (64 KB around each example, the kernel's fault-around)
stays in its RSS, which would grow to the size of the files over a long run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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


@dataclass
class Chunk:
    """One record batch's list column: where its int32 values start in `file`, and its offsets."""
    file: object
    position: int
    offsets: np.ndarray


def read_examples(folder: Path) -> tuple[list[Chunk], list[Chunk], np.ndarray, dict]:
    """The input ids and targets of all shares in row order, their trained-token counts, and the summed counts."""
    ids, targets, n_trained, counts = [], [], [], {}
    for path in sorted(folder.glob("part-*.arrow")):
        file = open(path, "rb")
        mapped = pa.memory_map(str(path))
        base = mapped.read_buffer(1).address  # IPC reads from a memory map are zero-copy: addresses locate buffers
        reader = pa.ipc.open_file(mapped)
        for b in map(reader.get_batch, range(reader.num_record_batches)):
            if not b.num_rows:
                continue
            offsets = b.column("input_ids").offsets.to_numpy().copy()
            for name, chunks in (("input_ids", ids), ("targets", targets)):
                values = b.column(name).values
                chunks.append(Chunk(file, values.buffers()[1].address + 4 * values.offset - base, offsets))
            n_trained.append(b.column("n_trained").to_numpy().astype(np.int64))
        for k, v in json.loads(path.with_suffix(".json").read_text()).items():
            counts[k] = counts.get(k, 0) + v
    return ids, targets, np.concatenate(n_trained or [np.empty(0, np.int64)]), counts


class TokenColumn(Sequence):
    """A list column over chunks, read one example at a time (an int64 copy of the int32 values on disk)."""

    def __init__(self, chunks: list[Chunk]):
        self._chunks = chunks
        self._starts = np.cumsum([0] + [len(c.offsets) - 1 for c in chunks])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        c = int(np.searchsorted(self._starts, i, side="right")) - 1
        chunk, j = self._chunks[c], i - self._starts[c]
        start, stop = int(chunk.offsets[j]), int(chunk.offsets[j + 1])
        data = os.pread(chunk.file.fileno(), 4 * (stop - start), chunk.position + 4 * start)
        return np.frombuffer(data, dtype=np.int32).astype(np.int64)

    @property
    def lengths(self) -> np.ndarray:
        return np.concatenate([np.diff(c.offsets) for c in self._chunks] or [np.empty(0, np.int32)]).astype(np.int64)
