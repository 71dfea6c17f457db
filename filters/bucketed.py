"""One file of fixed-size records grouped by bucket, with an index, so that a reader fetches one bucket with one
byte-range read: how a dedupe stage hands its output to the next with one file per task, not one per task and bucket.

A file holds named sections (a record kind each, e.g. `exact` and `near`), each grouped by bucket:

    magic (8 bytes) | sections: u32 | buckets: u32 | section names: 16 bytes each, NUL-padded
    | byte offsets: u64 [sections, buckets + 1] | records of section 0, bucket 0, 1, ... | section 1 ...

A reader seeks to the two offsets of its (section, bucket) and reads the range between them: three small reads
and one range read on a plain file, the same as range requests on object storage. Records keep the order they were
added in within a bucket.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = b"RDBUCKT1"
_HEAD = struct.Struct("<8sII")
_NAME = 16


class BucketedWriter:
    """Records added in any bucket order, written on `close` as one file grouped by bucket.

    Up to `buffer_bytes` of records wait in memory; past that they go, sorted by bucket, to a local spill file as a
    run, and `close` copies every run's range of each bucket in turn. The file appears by rename, whole or not at
    all: a task re-run after a crash rewrites it."""

    def __init__(self, path: str | Path, sections: dict[str, np.dtype], buckets: int, buffer_bytes: int = 16 << 20):
        if any(len(name.encode()) > _NAME for name in sections):
            raise ValueError(f"section names are at most {_NAME} bytes: {list(sections)}")
        self.path, self.sections, self.buckets, self.buffer_bytes = Path(path), dict(sections), buckets, buffer_bytes
        self.pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in sections}
        self.pending_bytes = 0
        self.spill: BinaryIO | None = None
        self.runs: list[tuple[BinaryIO, dict[str, np.ndarray]]] = []  # (source, byte offsets per section)

    def add(self, section: str, records: np.ndarray, bucket: np.ndarray) -> None:
        if len(records):
            bucket = np.asarray(bucket, np.int64)
            if not 0 <= bucket.min() <= bucket.max() < self.buckets:
                raise ValueError(f"{self.path}: bucket out of range 0..{self.buckets - 1}")
            self.pending[section].append((records, bucket))
            self.pending_bytes += records.nbytes
            if self.pending_bytes > self.buffer_bytes:
                self._flush_run(to_spill=True)

    def close(self) -> None:
        self._flush_run(to_spill=False)
        names, b = list(self.sections), self.buckets
        sizes = np.zeros((len(names), b), np.int64)
        for _, offsets in self.runs:
            for i, name in enumerate(names):
                sizes[i] += np.diff(offsets[name])
        start = _HEAD.size + _NAME * len(names) + 8 * len(names) * (b + 1)
        ends = start + np.concatenate(([0], np.cumsum(sizes.reshape(-1))))
        index = np.array([ends[i * b:(i + 1) * b + 1] for i in range(len(names))], "<u8").reshape(len(names), b + 1)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(_HEAD.pack(MAGIC, len(names), b))
            f.write(b"".join(name.encode().ljust(_NAME, b"\0") for name in names))
            f.write(index.tobytes())
            for source, start, end in _coalesce((source, run[name][bucket], run[name][bucket + 1])
                                                for name in names for bucket in range(b) for source, run in self.runs):
                _copy(source, start, end, f)
        os.replace(tmp, self.path)
        self._discard()

    def _flush_run(self, to_spill: bool) -> None:
        """The pending records, sorted by bucket, as a run: in the spill file, or (the last one) in memory."""
        if to_spill and self.spill is None:
            self.spill = tempfile.TemporaryFile(prefix="redraft-bucketed-")
        source = self.spill if to_spill else io.BytesIO()
        offsets = {}
        for name, dtype in self.sections.items():
            parts, self.pending[name] = self.pending[name], []
            records = np.concatenate([r for r, _ in parts]) if parts else np.empty(0, dtype)
            bucket = np.concatenate([b for _, b in parts]) if parts else np.empty(0, np.int64)
            order = np.argsort(bucket, kind="stable")
            counts = np.bincount(bucket, minlength=self.buckets)
            offsets[name] = source.tell() + np.concatenate(([0], np.cumsum(counts))) * records.itemsize
            source.write(records[order].view(np.uint8).data)
        self.pending_bytes = 0
        self.runs.append((source, offsets))

    def _discard(self) -> None:
        if self.spill is not None:
            self.spill.close()
        self.spill, self.runs = None, []

    def __enter__(self) -> BucketedWriter:
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()


def _coalesce(ranges):
    """(source, start, end) byte ranges in output order, adjacent ones of one source merged: one run, one copy."""
    last = None
    for source, start, end in ranges:
        if end <= start:
            continue
        if last is not None and last[0] is source and last[2] == start:
            last[2] = int(end)
        else:
            if last is not None:
                yield tuple(last)
            last = [source, int(start), int(end)]
    if last is not None:
        yield tuple(last)


def _copy(source: BinaryIO, start: int, end: int, out: BinaryIO) -> None:
    source.seek(start)
    while start < end:
        chunk = source.read(min(end - start, 16 << 20))
        out.write(chunk)
        start += len(chunk)


def read_bucket(f: BinaryIO, section: str, bucket: int, dtype: np.dtype) -> np.ndarray:
    """The records of `bucket` in `section` of an open file (anything with seek and read): an empty array when the
    file has no such section."""
    magic, n, buckets = _HEAD.unpack(_read_at(f, 0, _HEAD.size))
    if magic != MAGIC:
        raise ValueError(f"{getattr(f, 'name', f)}: not a bucketed records file")
    if not 0 <= bucket < buckets:
        raise ValueError(f"{getattr(f, 'name', f)}: has {buckets} buckets, asked for bucket {bucket}: was it "
                         "written with another task count?")
    raw = _read_at(f, _HEAD.size, _NAME * n)
    names = [raw[i * _NAME:(i + 1) * _NAME].rstrip(b"\0").decode() for i in range(n)]
    if section not in names:
        return np.empty(0, dtype)
    at = _HEAD.size + _NAME * n + 8 * (names.index(section) * (buckets + 1) + bucket)
    start, end = struct.unpack("<QQ", _read_at(f, at, 16))
    return np.frombuffer(_read_at(f, start, end - start), dtype)


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ValueError(f"{getattr(f, 'name', f)}: truncated (wanted {size} bytes at {offset}, got {len(data)})")
    return data
