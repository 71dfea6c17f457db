"""Readers: any supported input to a stream of Documents, as a datatrove pipeline step.

Parallel pairs come from TSV (`src<TAB>tgt`), JSONL or parquet with source/target columns, two line-aligned text
files, or a Hugging Face dataset id. Dialogues come from JSONL, JSON arrays or parquet in the `messages`, ShareGPT
or Alpaca layout (redraft/chat_formats.py). A ragged or undecodable input raises `InputError` naming the file and line;
nothing downstream has been published by then. `StageReader` reads back the rows one stage hands to the next.

A task reads only its share: `ItemReader.plan_shares(tasks)` cuts the input once, in the driver, from metadata (file
sizes, parquet footers, the Hub dataset's shard files; shares.py), and task t reads its pieces and nothing before them.
Every document carries its `POSITION`, its place in the input, rising in input order within and across tasks.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from redraft.chat_formats import as_messages_row, candidates
from redraft.errors import InputError, UsageError
from redraft.hub import is_hub_id
from redraft.json_array import is_json_array, json_array_rows
from redraft.output import check_not_publishing
from redraft.shares import FILE_BITS, Piece, Unit, assign, position
from redraft.storage import location
from redraft.types import POSITION, documents_from_columns, pair_document, row_to_document

FORMATS = ("tsv", "jsonl", "json", "parquet", "text", "hf")
# column pairs tried, in order, when the configured ones are absent
COLUMN_ALIASES = [("source", "target"), ("source_text", "reference_text"), ("src", "tgt"), ("src_text", "tgt_text")]
BUFFER = 1 << 16  # what a line reader fetches at a time: a task reads at most this much (and a line) past its share
TEXT_INDEX_EVERY = 1024  # two aligned text files: the line index holds the byte offsets of every 1024th line


def rows_path(path: str) -> str:
    """The rows to read at `path`: an output folder's `data/` (its kept rows; not while a publish is under way
    there), any other input as given."""
    if not (location(path) / "data").is_dir():
        return str(path)
    check_not_publishing(location(path))
    return str(location(path) / "data")


def detect_format(path: str, target_path: str | None = None) -> str:
    """The input's format from its name (a folder: from its first file); a Hub dataset id is `hf`."""
    if target_path:
        return "text"
    p = location(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        if not files:
            raise UsageError(f"{path}: the folder holds no input files")
        return detect_format(str(files[0]))
    suffixes = "".join(p.suffixes).lower()
    for ext, fmt in ((".tsv", "tsv"), (".jsonl", "jsonl"), (".json", "json"), (".parquet", "parquet")):
        if ext in suffixes:
            return fmt
    if p.exists():
        raise UsageError(f"{path}: cannot tell the format from the name; set source.format (one of {FORMATS})")
    if is_hub_id(path):
        return "hf"
    raise UsageError(f"{path}: no such file or folder")


def input_files(path: str, fmt: str) -> list[Path]:
    p = location(path)
    if p.is_dir():
        ext = {"tsv": ".tsv", "jsonl": ".json", "json": ".json", "parquet": ".parquet"}[fmt]  # .json: .jsonl too
        return sorted(f for f in p.rglob("*") if f.is_file() and ext in "".join(f.suffixes).lower()
                      and not any(part.startswith(".") for part in f.relative_to(p).as_posix().split("/")))
    if not p.is_file():
        raise UsageError(f"{path}: no such file or folder")
    return [p]


class InputChanged(RuntimeError):
    """An input file changed while it was being read: the rows read so far may mix two versions of it."""


def _stat(f: Path) -> tuple[int, int]:
    st = f.stat()
    return st.st_size, getattr(st, "st_mtime_ns", None) or int(st.st_mtime * 1e9)


def unchanged(files: list[Path], rows: Iterator, planned: list[tuple[int, int]] | None = None) -> Iterator:
    """`rows`, then a check that none of `files` changed (size or modification time) while they were read, nor since
    `planned` (their size and time when the shares were cut, if given)."""
    before = planned or [_stat(f) for f in files]
    for f, then in zip(files, before):
        if planned and _stat(f) != then:
            raise InputChanged(f"{f}: changed since the run started; run again once it stays the same "
                               "(nothing was published)")
    yield from rows
    for f, then in zip(files, before):
        if _stat(f) != then:
            raise InputChanged(f"{f}: changed while it was being read; run again once it stays the same "
                               "(nothing was published)")


class ReadMeter:
    """Counts the bytes the files it opens read from the operating system (`bytes`)."""

    def __init__(self):
        self.bytes = 0

    def open(self, path: Path, buffered: bool = True):
        raw = _CountingFile(path, self) if isinstance(path, Path) else _CountingStream(path, self)
        return io.BufferedReader(raw, buffer_size=BUFFER) if buffered else raw


class _CountingFile(io.FileIO):
    def __init__(self, path: Path, meter: ReadMeter):
        super().__init__(path, "rb")
        self.meter = meter

    def readinto(self, buffer) -> int | None:
        n = super().readinto(buffer)
        self.meter.bytes += n or 0
        return n

    def read(self, size: int = -1) -> bytes | None:
        data = super().read(size)
        self.meter.bytes += len(data or b"")
        return data

    def readall(self) -> bytes:
        data = super().readall()
        self.meter.bytes += len(data)
        return data


class _CountingStream(io.RawIOBase):
    """`_CountingFile` for a file on an object store (fsspec): ranged reads of a few MiB ahead."""

    def __init__(self, path, meter: ReadMeter):
        super().__init__()
        self._f, self._meter = path.fs.open(path.path, "rb", block_size=1 << 22, cache_type="readahead"), meter

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer) -> int:
        data = self._f.read(len(buffer))
        buffer[:len(data)] = data
        self._meter.bytes += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


def process_io() -> dict[str, int]:
    """This process's I/O counters (`rchar`: bytes read through any read call, `read_bytes`: from storage), where
    /proc has them."""
    try:
        return {k: int(v) for k, v in (line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())}
    except (OSError, ValueError):
        return {}


class LinePlace:
    """The number of the line at byte `offset` of `path` (a gzip file: of its text), counted when first shown (an error
    message names it): a task reading from the middle of a file does not know how many lines come before."""

    __slots__ = ("path", "offset", "_number")

    def __init__(self, path: Path, offset: int):
        self.path, self.offset, self._number = path, offset, None

    def __str__(self) -> str:
        if self._number is None:
            newlines = 0
            with self.path.open("rb") as raw, gzip.GzipFile(fileobj=raw) if _is_gzip(self.path) else raw as f:
                left = self.offset
                while left > 0 and (chunk := f.read(min(left, 1 << 24))):
                    newlines += chunk.count(b"\n")
                    left -= len(chunk)
            self._number = newlines + 1
        return str(self._number)


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _decoded(raw: bytes, path: Path, place, first: bool) -> str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(str(path), place, f"not valid UTF-8 (byte {e.start})") from None
    line = line.rstrip("\r\n")
    return line.lstrip("\ufeff") if first else line


def _lines(path: Path, piece: Piece, meter: ReadMeter) -> Iterator[tuple[int, str]]:
    """(byte offset, text) of each line of a UTF-8 text file that starts in `piece`'s byte range (a gzip file: every
    line, offsets in the uncompressed text). Undecodable bytes stop with the line's place (`LinePlace`)."""
    if _is_gzip(path):
        with meter.open(path) as f:
            offset = 0
            for raw in gzip.GzipFile(fileobj=f):
                yield offset, _decoded(raw, path, LinePlace(path, offset), offset == 0)
                offset += len(raw)
        return
    with meter.open(path, buffered=False) as f:
        for offset, block in _line_blocks(f, piece.start, piece.end):
            body = block[:-1] if block.endswith(b"\n") else block
            starts = [offset, *(offset + 1 + np.flatnonzero(np.frombuffer(body, np.uint8) == 10)).tolist()]
            if piece.end is not None:  # the last run may go past the range
                starts = starts[:bisect_left(starts, piece.end)]
            yield from zip(starts, _block_texts(path, body, starts))


def _line_blocks(f, start: int, end: int | None) -> Iterator[tuple[int, bytes]]:
    """(byte offset, bytes) of runs of whole lines of the raw file `f`, read BUFFER bytes at a time: from the first line
    that starts at or after `start` (the line holding byte start-1 belongs to the range before) until a run reaches a
    line starting at or after `end`. Each run ends with a newline, except at the end of a file without one; the last
    run may hold lines starting past `end`."""
    offset, rest = 0, b""  # rest: the bytes read from `offset` on, not handed out yet
    if start:
        f.seek(start - 1)
        while (newline := rest.find(b"\n")) < 0:
            if not (block := f.read(BUFFER)):
                return
            rest += block
        offset, rest = start + newline, rest[newline + 1:]
    while end is None or offset < end:
        if not (block := f.read(BUFFER)):
            if rest:
                yield offset, rest
            return
        rest += block
        if cut := rest.rfind(b"\n") + 1:
            yield offset, rest[:cut]
            offset, rest = offset + cut, rest[cut:]


def _block_texts(path: Path, body: bytes, starts: list[int]) -> list[str] | Iterator[str]:
    """The lines of `body` (whole lines joined by newlines, starting at the byte offsets `starts`) as text, without a
    byte-order mark at the start of the file or carriage returns at their ends: decoded at once, or line by line where
    that fails, to name the first undecodable line."""
    try:
        texts = body.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = zip(starts, body.split(b"\n"))
        return (_decoded(raw, path, LinePlace(path, start), start == 0) for start, raw in lines)
    if b"\r" in body:
        texts = [t.rstrip("\r") for t in texts]
    if starts[0] == 0:
        texts[0] = texts[0].lstrip("\ufeff")
    return texts


def line_marks(path: Path, every: int, limit: int | None = None) -> tuple[np.ndarray, int]:
    """The byte offsets of lines 0, every, 2*every, ... of `path` and its number of lines (at most `limit`: then it
    stops reading there). One pass over the bytes, no decoding."""
    marks, newlines, offset, last = [np.zeros(1, np.int64)], 0, 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            if limit is not None and newlines + len(ends) >= limit:
                ends = ends[:limit - newlines]
            numbers = newlines + 1 + np.arange(len(ends))  # the line after newline k (from 1) is line k (from 0)
            marks.append(offset + ends[numbers % every == 0] + 1)
            newlines, offset, last = newlines + len(ends), offset + len(chunk), chunk[-1:]
            if limit is not None and newlines >= limit:
                return np.concatenate(marks), limit
    lines = newlines + (offset > 0 and last != b"\n")
    return np.concatenate(marks), lines if limit is None else min(lines, limit)


def _pick_columns(columns, source_column: str, target_column: str) -> tuple[str, str] | None:
    for s, t in [(source_column, target_column), *COLUMN_ALIASES]:
        if s in columns and t in columns:
            return s, t
    return None


def json_object(line: str, file, n) -> dict:
    """One JSONL line as a JSON object, or InputError naming the file and line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(str(file), n, f"not valid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(row, dict):
        raise InputError(str(file), n, "each line must be a JSON object")
    return row


class StageReader(PipelineStep):
    """Reads back what `redraft.output.stage_writer` wrote: task `rank` reads the file task `rank` wrote."""

    type = "📖 - READER"
    name = "stage rows"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = str(folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        path = location(self.folder) / f"{rank:05d}.parquet"
        if not path.exists():  # a task that kept nothing writes no file
            return
        with path.open("rb") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=8192):
                yield from documents_from_columns(batch.to_pydict())  # column by column: cheaper than row dicts


@dataclass
class Plan:
    """How an input was cut for `len(shares)` tasks: its files (a Hub dataset: none) with their size and time then,
    which of them hold one JSON array, each task's pieces, and `bound`, the position the input stops at
    (`source.limit`: just past the last item kept)."""

    files: list[str]
    stats: list[tuple[int, int]]
    arrays: frozenset[int]
    shares: list[list[Piece]]
    bound: int | None = None


class ItemReader(PipelineStep):
    """Reads pairs or dialogues from `path` and yields Documents: `read()` all of them in input order, `run` task
    `rank`'s share (its pieces of the plan `plan_shares` made, or one made there and then)."""

    type = "📖 - READER"
    name = "redraft items"

    def __init__(self, path: str, format: str = "auto", src_lang: str | None = None, tgt_lang: str | None = None,
                 target_path: str | None = None, source_column: str = "source", target_column: str = "target",
                 split: str = "train", limit: int | None = None, chat_format: str = "auto",
                 messages_column: str | None = None):
        super().__init__()
        self.path, self.target_path = str(path), target_path
        self.format = detect_format(self.path, target_path) if format == "auto" else format
        self.src_lang, self.tgt_lang = src_lang, tgt_lang
        self.source_column, self.target_column = source_column, target_column
        self.split, self.limit = split, limit
        self.chat_format, self.messages_column = chat_format, messages_column  # dialogue layout: auto-detected
        self.plan: Plan | None = None

    # ── the whole input, in order ──────────────────────────────────────────────────────────────────────────────

    def read(self) -> Iterator[Document]:
        """Every item in input order (the first `limit`), read from the start: for a look at the first rows, or for
        one process reading everything."""
        return (doc for _, doc in islice(self._positioned(), self.limit))

    def _positioned(self) -> Iterator[tuple[int, Document]]:
        meter = ReadMeter()
        if self.format == "text":
            yield from unchanged([location(self.path), location(self.target_path)], self._text_pairs(Piece(0), meter))
        elif self.format == "hf":
            ds = self._hub_dataset()
            for shard in range(ds.n_shards):
                yield from self._hub_rows(ds, shard)
        else:
            for i, f in enumerate(input_files(self.path, self.format)):
                array = self.format == "json" and is_json_array(f)
                yield from unchanged([f], self._file_items(i, f, Piece(i), array, meter))

    # ── shares ─────────────────────────────────────────────────────────────────────────────────────────────────

    def plan_shares(self, tasks: int, cache: Path | None = None) -> Plan:
        """Cut the input into `tasks` shares, from metadata: file sizes, parquet footers, the Hub dataset's shard
        files. With `limit`, the first `limit` items are read to find where they end. Two aligned text files are
        scanned for their line index once (kept in `cache`, a folder, when given). Kept as `self.plan`, which travels
        with the step to every task."""
        if self.format == "text":
            self.plan = self._text_plan(tasks, cache)
            return self.plan
        bound = self._bound() if self.limit else None
        last_file, upto = (bound >> FILE_BITS, bound & ((1 << FILE_BITS) - 1)) if bound is not None else (None, None)
        if self.format == "hf":
            n = self._hub_dataset().n_shards
            if n < tasks:
                print(f"warning: {self.path}: the dataset has {n} shard file(s) for {tasks} tasks; a shard is read "
                      f"by one task, so {tasks - n} task(s) get nothing (set executor.tasks to {n} or fewer)",
                      file=sys.stderr)
            units = [Unit(Piece(i), 1) for i in range(n) if last_file is None or i <= last_file]
            self.plan = Plan([], [], frozenset(), assign(units, tasks), bound)
            return self.plan
        files = input_files(self.path, self.format)
        if len(files) >> (63 - FILE_BITS) or any(f.stat().st_size >> FILE_BITS for f in files):
            raise UsageError(f"{self.path}: positions hold up to {2 ** (63 - FILE_BITS)} files of up to "
                             f"{2 ** FILE_BITS} bytes each; split the input into more, smaller files")
        arrays = frozenset(i for i, f in enumerate(files) if self.format == "json" and is_json_array(f))
        units = []
        for i, f in enumerate(files):
            if last_file is not None and i > last_file:
                break
            stop = upto if i == last_file else None
            size = f.stat().st_size
            if self.format == "parquet":
                units += _row_groups(i, f, stop)
            elif i in arrays or f.name.lower().endswith(".gz"):  # cannot be split: a whole file for one task
                units.append(Unit(Piece(i), size))
            else:
                end = size if stop is None else stop
                units.append(Unit(Piece(i, 0, end), end, splittable=True))
        self.plan = Plan([str(f) for f in files], [_stat(f) for f in files], arrays, assign(units, tasks), bound)
        return self.plan

    def _bound(self) -> int | None:
        """Just past the position of the `limit`-th item (None when the input holds fewer): read in order."""
        last, n = None, 0
        for n, (last, _) in enumerate(islice(self._positioned(), self.limit), 1):
            pass
        return last + 1 if n == self.limit else None

    def _text_plan(self, tasks: int, cache: Path | None) -> Plan:
        """Two aligned text files: the same line range of both for each task, balanced by lines. The driver scans both
        files once for a sparse line index (the byte offsets of every TEXT_INDEX_EVERY-th line: no decoding, 16 bytes
        per TEXT_INDEX_EVERY lines); a task then seeks to the mark before its first line and skips fewer than
        TEXT_INDEX_EVERY lines in each file."""
        src, tgt = location(self.path), location(self.target_path)
        cached = cache / f"line-index-{TEXT_INDEX_EVERY}-{self.limit}.npz" if cache else None
        if cached is not None and cached.exists():
            with np.load(cached) as z:
                src_marks, tgt_marks, n_src, n_tgt = z["src"], z["tgt"], int(z["n_src"]), int(z["n_tgt"])
        else:
            (src_marks, n_src), (tgt_marks, n_tgt) = (line_marks(f, TEXT_INDEX_EVERY, self.limit) for f in (src, tgt))
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, src=src_marks, tgt=tgt_marks, n_src=n_src, n_tgt=n_tgt)
        if n_tgt < n_src:
            raise InputError(str(tgt), n_tgt + 1, f"ends early: {src} has more lines")
        if n_src < n_tgt:
            raise InputError(str(src), n_src + 1, f"ends early: {tgt} has more lines")
        shares = []
        for t in range(tasks):
            first, end = n_src * t // tasks, n_src * (t + 1) // tasks
            k = first // TEXT_INDEX_EVERY
            mark = (k * TEXT_INDEX_EVERY, int(src_marks[k]), int(tgt_marks[k]))
            shares.append([Piece(0, first, end, at=mark)] if end > first else [])
        return Plan([str(src), str(tgt)], [_stat(src), _stat(tgt)], frozenset(), shares)

    # ── a task's share ─────────────────────────────────────────────────────────────────────────────────────────

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        plan = self.plan
        if plan is None or len(plan.shares) != world_size:  # not planned for this task count: plan here
            plan = self.plan_shares(world_size)
        meter, before, n = ReadMeter(), process_io(), 0
        for pos, doc in self._share(plan, plan.shares[rank], meter):
            if plan.bound is not None and pos >= plan.bound:
                break
            n += 1
            doc.metadata[POSITION] = pos
            yield doc
        self.stat_update("documents", value=n)
        # what this task read: from its input files alone (exact), and all the process read meanwhile (/proc)
        self.stat_update("input_bytes", value=meter.bytes, unit="task")
        after = process_io()
        for key in ("rchar", "read_bytes"):
            if key in after:
                self.stat_update(key, value=after[key] - before[key], unit="task")

    def _share(self, plan: Plan, pieces: list[Piece], meter: ReadMeter) -> Iterator[tuple[int, Document]]:
        if self.format == "hf":
            if pieces:
                ds = self._hub_dataset()
                for piece in pieces:
                    yield from self._hub_rows(ds, piece.file)
            return
        if self.format == "text":
            for piece in pieces:
                yield from unchanged([location(f) for f in plan.files], self._text_pairs(piece, meter), plan.stats)
            return
        for piece in pieces:
            f = location(plan.files[piece.file])
            yield from unchanged([f], self._file_items(piece.file, f, piece, piece.file in plan.arrays, meter),
                                 [plan.stats[piece.file]])

    # ── formats ────────────────────────────────────────────────────────────────────────────────────────────────

    def _file_items(self, i: int, f: Path, piece: Piece, array: bool, meter: ReadMeter):
        """(position, document) of file `i`'s items in `piece`."""
        if self.format == "parquet":
            yield from self._parquet_rows(i, f, piece, meter)
        elif array:  # one JSON array of rows, like FastChat's files: read whole
            with meter.open(f) as stream:
                for n, (row, where) in enumerate(json_array_rows(f, stream)):
                    yield position(i, n), self._item(f, where, row)
        elif self.format == "tsv":
            for offset, line in _lines(f, piece, meter):
                if line.strip():
                    yield position(i, offset), self._tsv_pair(f, offset, line)
        else:
            for offset, line in _lines(f, piece, meter):
                if line.strip():
                    place = LinePlace(f, offset)
                    yield position(i, offset), self._item(f, place, json_object(line, f, place))

    def _tsv_pair(self, file: Path, offset: int, line: str) -> Document:
        fields = line.split("\t")
        if len(fields) != 2:
            raise InputError(str(file), LinePlace(file, offset),
                             f"expected 2 tab-separated fields (source, target), found {len(fields)}")
        return self._pair(file, None, fields[0], fields[1])  # strings: no error needs the line's place

    def _parquet_rows(self, i: int, f: Path, piece: Piece, meter: ReadMeter):
        """Rows `piece.start` to `piece.end` of a parquet file: the row groups holding them, read through `meter` in
        batches; a file of pairs column by column, any other row by row."""
        with meter.open(f, buffered=False) as stream:
            pf = _parquet_file(f, stream)
            starts = np.concatenate(([0], np.cumsum([pf.metadata.row_group(g).num_rows
                                                     for g in range(pf.metadata.num_row_groups)])))
            end = pf.metadata.num_rows if piece.end is None else piece.end
            groups = [g for g in range(len(starts) - 1) if starts[g] < end and starts[g + 1] > piece.start]
            if not groups:
                return
            columns = self._pair_columns(pf.schema_arrow.names)
            row = int(starts[groups[0]])
            for batch in pf.iter_batches(batch_size=10_000, row_groups=groups,
                                         columns=[c for c in columns if c] if columns else None):
                first, stop = max(piece.start, row), min(end, row + batch.num_rows)
                if stop > first:
                    batch = batch.slice(first - row, stop - first)
                    if columns:
                        yield from self._column_pairs(i, f, first, batch, columns)
                    else:
                        for n, values in enumerate(batch.to_pylist(), first):
                            yield position(i, n), self._item(f, f"row {n + 1}", values)
                row += batch.num_rows
                if row >= end:
                    return

    def _pair_columns(self, names: list[str]) -> list[str | None] | None:
        """The columns of a parquet file of pairs, decided once from its column names: source, target, then
        src_lang, tgt_lang and id (None where absent). None for any other layout (a chat format; no source/target
        columns; a column name twice), read row by row."""
        if (self.chat_format != "auto" or self.messages_column or candidates(dict.fromkeys(names))
                or len(set(names)) < len(names)):
            return None
        pair = _pick_columns(names, self.source_column, self.target_column)
        return [*pair, *(c if c in names else None for c in ("src_lang", "tgt_lang", "id"))] if pair else None

    def _column_pairs(self, i: int, f: Path, first: int, batch, columns: list[str | None]):
        """(position, document) of a batch of pair rows (`first`: its first row in file `i`), read column by column:
        the same documents and errors as `_item` row by row."""
        values = [batch.column(c).to_pylist() if c else repeat(None) for c in columns]
        for n, (src, tgt, src_lang, tgt_lang, pair_id) in enumerate(zip(*values), first):
            yield position(i, n), self._pair(f, f"row {n + 1}", src, tgt, src_lang, tgt_lang, pair_id)

    def _text_pairs(self, piece: Piece, meter: ReadMeter):
        """(line number from 0, pair) of lines `piece.start` to `piece.end` of both files, reached from the mark
        `piece.at` (line, source offset, target offset)."""
        src, tgt = location(self.path), location(self.target_path)
        line, src_offset, tgt_offset = piece.at or (0, 0, 0)
        with meter.open(src) as s, meter.open(tgt) as t:
            s.seek(src_offset)
            t.seek(tgt_offset)
            for _ in range(piece.start - line):
                s.readline(), t.readline()
            line = piece.start
            while piece.end is None or line < piece.end:
                a, b = s.readline(), t.readline()
                if not a and not b:
                    return
                if not b:
                    raise InputError(str(tgt), line + 1, f"ends early: {src} has more lines")
                if not a:
                    raise InputError(str(src), line + 1, f"ends early: {tgt} has more lines")
                first = line == 0
                yield line, self._pair(src, line + 1, _decoded(a, src, line + 1, first),
                                       _decoded(b, tgt, line + 1, first))
                line += 1

    def _hub_dataset(self):
        import datasets

        try:
            return datasets.load_dataset(self.path, split=self.split, streaming=True)
        except Exception as e:
            raise UsageError(f"{self.path}: cannot load the Hugging Face dataset: {e}") from None

    def _hub_rows(self, ds, shard: int):
        """(position, document) of the rows of one of the dataset's shard files."""
        n_shards = ds.n_shards
        for n, row in enumerate(ds.shard(n_shards, shard, contiguous=True) if n_shards > 1 else ds):
            if "translation" in row and isinstance(row["translation"], dict):  # the WMT/OPUS layout
                t = row["translation"]
                row = {**row, self.source_column: t.get(self.src_lang), self.target_column: t.get(self.tgt_lang)}
            where = f"row {n + 1}" if n_shards == 1 else f"shard {shard + 1} of {n_shards}, row {n + 1}"
            yield position(shard, n), self._item(self.path, where, row)

    # ── rows to documents ──────────────────────────────────────────────────────────────────────────────────────

    def _pair(self, file, line, src, tgt, src_lang=None, tgt_lang=None, pair_id=None) -> Document:
        """A pair's document, checked: its languages the row's or else the reader's, its texts strings; its id the
        row's when it has one, else the content hash. `line` names the row in an error."""
        src_lang, tgt_lang = src_lang or self.src_lang, tgt_lang or self.tgt_lang
        if not src_lang or not tgt_lang:
            raise UsageError(f"{file}: the languages of the pairs are unknown; give them (--langs xx-yy, or "
                             "source.src_lang / source.tgt_lang in the recipe)")
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise InputError(str(file), line, "source and target must be strings")
        return pair_document(src_lang, tgt_lang, src, tgt, str(pair_id) if pair_id else None)

    def _item(self, file, line, row: dict):
        row = as_messages_row(row, self.chat_format, self.messages_column, file, line)
        if "messages" in row:
            return self._dialogue(file, line, row)
        cols = _pick_columns(row.keys(), self.source_column, self.target_column)
        if cols is None:
            raise InputError(str(file), line, f"no source/target columns (looked for {self.source_column!r}/"
                             f"{self.target_column!r} and {COLUMN_ALIASES}); found {sorted(row)}")
        return self._pair(file, line, row[cols[0]], row[cols[1]], row.get("src_lang"), row.get("tgt_lang"),
                          row.get("id"))

    def _dialogue(self, file, line, row: dict):
        messages = row["messages"]
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages):
            raise InputError(str(file), line, "`messages` must be a list of {role, content} strings")
        row = dict(row)
        row["messages"] = [{"role": m["role"], "content": m["content"]} for m in messages]
        if "source_text" not in row:  # a foreign messages dataset: the first user turn stands for the source
            row["source_text"] = next((m["content"] for m in messages if m["role"] == "user"), "")
        row.setdefault("reference_text", "")
        row["src_lang"] = row.get("src_lang") or self.src_lang or "und"
        row["tgt_lang"] = row.get("tgt_lang") or self.tgt_lang or "und"
        if row.get("id") is not None:
            row["id"] = str(row["id"])
        return row_to_document(row)


def _parquet_file(f: Path, stream=None) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(stream if stream is not None else f if isinstance(f, Path) else f.open("rb"))
    except Exception as e:
        raise InputError(str(f), None, f"not a readable parquet file: {e}") from None


def _row_groups(i: int, f: Path, stop: int | None) -> list[Unit]:
    """File `i`'s row groups as units weighed by rows, from its footer; those from row `stop` on left out."""
    md = _parquet_file(f).metadata
    units, start = [], 0
    for g in range(md.num_row_groups):
        rows = md.row_group(g).num_rows
        end = start + rows if stop is None else min(start + rows, stop)
        if end > start:
            units.append(Unit(Piece(i, start, end), end - start))
        start += rows
    return units
