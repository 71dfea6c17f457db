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

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from redraft.chat_formats import as_messages_row
from redraft.errors import InputError, UsageError
from redraft.hub import is_hub_id
from redraft.json_array import is_json_array, json_array_rows
from redraft.output import check_not_publishing
from redraft.shares import FILE_BITS, Piece, Unit, assign, position
from redraft.types import POSITION, ParallelPair, pair_to_document, row_to_document

FORMATS = ("tsv", "jsonl", "json", "parquet", "text", "hf")
# column pairs tried, in order, when the configured ones are absent
COLUMN_ALIASES = [("source", "target"), ("source_text", "reference_text"), ("src", "tgt"), ("src_text", "tgt_text")]
BUFFER = 1 << 16  # what a line reader fetches at a time: a task reads at most this much (and a line) past its share
TEXT_INDEX_EVERY = 1024  # two aligned text files: the line index holds the byte offsets of every 1024th line


def rows_path(path: str) -> str:
    """The rows to read at `path`: an output folder's `data/` (its kept rows; not while a publish is under way
    there), any other input as given."""
    if not (Path(path) / "data").is_dir():
        return str(path)
    check_not_publishing(Path(path))
    return str(Path(path) / "data")


def detect_format(path: str, target_path: str | None = None) -> str:
    """The input's format from its name (a folder: from its first file); a Hub dataset id is `hf`."""
    if target_path:
        return "text"
    p = Path(path)
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
    p = Path(path)
    if p.is_dir():
        ext = {"tsv": ".tsv", "jsonl": ".json", "json": ".json", "parquet": ".parquet"}[fmt]  # .json: .jsonl too
        return sorted(f for f in p.rglob("*") if f.is_file() and ext in "".join(f.suffixes).lower()
                      and not any(part.startswith(".") for part in f.relative_to(p).parts))
    if not p.is_file():
        raise UsageError(f"{path}: no such file or folder")
    return [p]


class InputChanged(RuntimeError):
    """An input file changed while it was being read: the rows read so far may mix two versions of it."""


def _stat(f: Path) -> tuple[int, int]:
    st = f.stat()
    return st.st_size, st.st_mtime_ns


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
        raw = _CountingFile(path, self)
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


def process_io() -> dict[str, int]:
    """This process's I/O counters (`rchar`: bytes read through any read call, `read_bytes`: from storage), where
    /proc has them."""
    try:
        return {k: int(v) for k, v in (line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())}
    except (OSError, ValueError):
        return {}


class LinePlace:
    """The number of the line at byte `offset` of `path`, counted when first shown (an error message names it): a
    task reading from the middle of a file does not know how many lines come before."""

    __slots__ = ("path", "offset", "_number")

    def __init__(self, path: Path, offset: int):
        self.path, self.offset, self._number = path, offset, None

    def __str__(self) -> str:
        if self._number is None:
            newlines = 0
            with open(self.path, "rb") as f:
                left = self.offset
                while left > 0 and (chunk := f.read(min(left, 1 << 24))):
                    newlines += chunk.count(b"\n")
                    left -= len(chunk)
            self._number = newlines + 1
        return str(self._number)


def _decoded(raw: bytes, path: Path, place, first: bool) -> str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(str(path), place, f"not valid UTF-8 (byte {e.start})") from None
    line = line.rstrip("\r\n")
    return line.lstrip("\ufeff") if first else line


def _lines(path: Path, piece: Piece, meter: ReadMeter) -> Iterator[tuple[int, object, str]]:
    """(byte offset, place, text) of each line of a UTF-8 text file that starts in `piece`'s byte range (a gzip file:
    every line, offsets in the uncompressed text). Undecodable bytes stop with the line's place."""
    import gzip

    with meter.open(path) as f:
        if path.name.lower().endswith(".gz"):
            offset = 0
            for n, raw in enumerate(gzip.GzipFile(fileobj=f), 1):
                yield offset, n, _decoded(raw, path, n, offset == 0)
                offset += len(raw)
            return
        offset, end = piece.start, piece.end
        if offset:
            f.seek(offset - 1)
            offset += len(f.readline()) - 1  # the line holding byte start-1 belongs to the range before
        while end is None or offset < end:
            raw = f.readline()
            if not raw:
                return
            place = LinePlace(path, offset)
            yield offset, place, _decoded(raw, path, place, offset == 0)
            offset += len(raw)


def line_marks(path: Path, every: int, limit: int | None = None) -> tuple[np.ndarray, int]:
    """The byte offsets of lines 0, every, 2*every, ... of `path` and its number of lines (at most `limit`: then it
    stops reading there). One pass over the bytes, no decoding."""
    marks, newlines, offset, last = [np.zeros(1, np.int64)], 0, 0, b"\n"
    with open(path, "rb") as f:
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
        path = Path(self.folder) / f"{rank:05d}.parquet"
        if not path.exists():  # a task that kept nothing writes no file
            return
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                yield row_to_document(row)


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
            yield from unchanged([Path(self.path), Path(self.target_path)], self._text_pairs(Piece(0), meter))
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
        src, tgt = Path(self.path), Path(self.target_path)
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
        meter, before = ReadMeter(), process_io()
        for pos, doc in self._share(plan, plan.shares[rank], meter):
            if plan.bound is not None and pos >= plan.bound:
                break
            self.stat_update("documents")
            doc.metadata[POSITION] = pos
            yield doc
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
                yield from unchanged([Path(f) for f in plan.files], self._text_pairs(piece, meter), plan.stats)
            return
        for piece in pieces:
            f = Path(plan.files[piece.file])
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
        else:
            for offset, place, line in _lines(f, piece, meter):
                if line.strip():
                    yield position(i, offset), (self._tsv_pair(f, place, line) if self.format == "tsv"
                                                else self._item(f, place, json_object(line, f, place)))

    def _tsv_pair(self, file: Path, place, line: str):
        fields = line.split("\t")
        if len(fields) != 2:
            raise InputError(str(file), place, f"expected 2 tab-separated fields (source, target), found {len(fields)}")
        return self._pair(file, place, fields[0], fields[1])

    def _parquet_rows(self, i: int, f: Path, piece: Piece, meter: ReadMeter):
        """Rows `piece.start` to `piece.end` of a parquet file: the row groups holding them, read through `meter`."""
        with meter.open(f, buffered=False) as stream:
            pf = _parquet_file(f, stream)
            starts = np.concatenate(([0], np.cumsum([pf.metadata.row_group(g).num_rows
                                                     for g in range(pf.metadata.num_row_groups)])))
            end = pf.metadata.num_rows if piece.end is None else piece.end
            groups = [g for g in range(len(starts) - 1) if starts[g] < end and starts[g + 1] > piece.start]
            if not groups:
                return
            row = int(starts[groups[0]])
            for batch in pf.iter_batches(batch_size=10_000, row_groups=groups):
                for values in batch.to_pylist():
                    if row >= end:
                        return
                    if row >= piece.start:
                        yield position(i, row), self._item(f, f"row {row + 1}", values)
                    row += 1

    def _text_pairs(self, piece: Piece, meter: ReadMeter):
        """(line number from 0, pair) of lines `piece.start` to `piece.end` of both files, reached from the mark
        `piece.at` (line, source offset, target offset)."""
        src, tgt = Path(self.path), Path(self.target_path)
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

    def _pair(self, file, line, src: str, tgt: str, row: dict | None = None):
        row = row or {}
        src_lang, tgt_lang = row.get("src_lang") or self.src_lang, row.get("tgt_lang") or self.tgt_lang
        if not src_lang or not tgt_lang:
            raise UsageError(f"{file}: the languages of the pairs are unknown; give them (--langs xx-yy, or "
                             "source.src_lang / source.tgt_lang in the recipe)")
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise InputError(str(file), line, "source and target must be strings")
        pair = ParallelPair.make(src_lang, tgt_lang, src, tgt)
        if row.get("id"):
            pair.id = str(row["id"])
        return pair_to_document(pair)

    def _item(self, file, line, row: dict):
        row = as_messages_row(row, self.chat_format, self.messages_column, file, line)
        if "messages" in row:
            return self._dialogue(file, line, row)
        cols = _pick_columns(row.keys(), self.source_column, self.target_column)
        if cols is None:
            raise InputError(str(file), line, f"no source/target columns (looked for {self.source_column!r}/"
                             f"{self.target_column!r} and {COLUMN_ALIASES}); found {sorted(row)}")
        return self._pair(file, line, row[cols[0]], row[cols[1]], row)

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
        return pq.ParquetFile(stream if stream is not None else f)
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
