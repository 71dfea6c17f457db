"""Readers: any supported input to a stream of Documents, as a datatrove pipeline step.

Parallel pairs come from TSV (`src<TAB>tgt`), JSONL or parquet with source/target columns, two line-aligned text
files, or a Hugging Face dataset id. Dialogues come from JSONL, JSON arrays or parquet in the `messages`, ShareGPT
or Alpaca layout (redraft/chat_formats.py). A ragged or undecodable input raises `InputError` naming the file and line;
nothing downstream has been published by then. `StageReader` reads back the rows one stage hands to the next.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from redraft.chat_formats import as_messages_row
from redraft.errors import InputError, UsageError
from redraft.hub import is_hub_id
from redraft.json_array import is_json_array, json_array_rows
from redraft.output import check_not_publishing
from redraft.types import POSITION, ParallelPair, pair_to_document, row_to_document

FORMATS = ("tsv", "jsonl", "json", "parquet", "text", "hf")
# column pairs tried, in order, when the configured ones are absent
COLUMN_ALIASES = [("source", "target"), ("source_text", "reference_text"), ("src", "tgt"), ("src_text", "tgt_text")]


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


def unchanged(files: list[Path], rows: Iterator) -> Iterator:
    """`rows`, then a check that none of `files` changed (size or modification time) while they were read."""
    before = [(f, f.stat()) for f in files]
    yield from rows
    for f, st in before:
        now = f.stat()
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise InputChanged(f"{f}: changed while it was being read; run again once it stays the same "
                               "(nothing was published)")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 text file (gzip by extension); undecodable bytes stop with the line number."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(str(path), n, f"not valid UTF-8 (byte {e.start})") from None
            yield n, line.rstrip("\r\n").lstrip("\ufeff") if n == 1 else line.rstrip("\r\n")


def _pick_columns(columns, source_column: str, target_column: str) -> tuple[str, str] | None:
    for s, t in [(source_column, target_column), *COLUMN_ALIASES]:
        if s in columns and t in columns:
            return s, t
    return None


def json_object(line: str, file, n: int) -> dict:
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


class ItemReader(PipelineStep):
    """Reads pairs or dialogues from `path` and yields Documents, `rank`'s share of them (every world_size-th)."""

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

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for i, doc in enumerate(islice(self.read(), self.limit)):
            if i % world_size == rank:
                self.stat_update("documents")
                doc.metadata[POSITION] = i
                yield doc

    def read(self):
        if self.format == "text":
            yield from unchanged([Path(self.path), Path(self.target_path)], self._read_text())
        elif self.format == "hf":
            yield from self._read_hf()
        else:
            for f in input_files(self.path, self.format):
                yield from unchanged([f], {"tsv": self._read_tsv, "jsonl": self._read_json, "json": self._read_json,
                                           "parquet": self._read_parquet}[self.format](f))

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

    def _read_tsv(self, file: Path):
        for n, line in _lines(file):
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise InputError(str(file), n, f"expected 2 tab-separated fields (source, target), found "
                                 f"{len(fields)}")
            yield self._pair(file, n, fields[0], fields[1])

    def _read_json(self, file: Path):
        """JSONL, or one JSON array of rows (FastChat's files), whatever the suffix says."""
        if is_json_array(file):  # one JSON array of rows, like FastChat's files
            for row, where in json_array_rows(file):
                yield self._item(file, where, row)
            return
        for n, line in _lines(file):
            if not line.strip():
                continue
            yield self._item(file, n, json_object(line, file, n))

    def _read_parquet(self, file: Path):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(file)
        except Exception as e:
            raise InputError(str(file), None, f"not a readable parquet file: {e}") from None
        n = 0
        for batch in pf.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                n += 1
                yield self._item(file, f"row {n}", row)

    def _read_text(self):
        src_file, tgt_file = Path(self.path), Path(self.target_path)
        tgt_lines = _lines(tgt_file)
        n = 0
        for n, src in _lines(src_file):
            tgt = next(tgt_lines, None)
            if tgt is None:
                raise InputError(str(tgt_file), n, f"ends early: {src_file} has more lines")
            yield self._pair(src_file, n, src, tgt[1])
        if (extra := next(tgt_lines, None)) is not None:
            raise InputError(str(src_file), extra[0], f"ends early: {tgt_file} has more lines")

    def _read_hf(self):
        import datasets

        try:
            ds = datasets.load_dataset(self.path, split=self.split, streaming=True)
        except Exception as e:
            raise UsageError(f"{self.path}: cannot load the Hugging Face dataset: {e}") from None
        for n, row in enumerate(ds, 1):
            if "translation" in row and isinstance(row["translation"], dict):  # the WMT/OPUS layout
                t = row["translation"]
                row = {**row, self.source_column: t.get(self.src_lang), self.target_column: t.get(self.tgt_lang)}
            yield self._item(self.path, f"row {n}", row)
