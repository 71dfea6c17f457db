"""Rows of a file that holds one JSON array of objects (FastChat's and LLaMA-Factory's `.json` files).

The file is streamed through ijson in `CHUNK`-sized pieces, so memory holds one row however big the file. Each row
comes with where it starts (`row N, line L`), as a JSONL line would: the line is found only when a message shows it,
by reading the file again one line at a time (`_rows_by_line`: ijson's parser emits its events as each piece
arrives, so the line being fed is the line an event comes from). A file that is not valid JSON is read that way too,
to name the line of the fault.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import ijson

from redraft.errors import InputError

CHUNK = 1 << 16  # bytes fed to the parser at a time (characters, reading line by line)


def is_json_array(path: Path) -> bool:
    """Whether a .json file holds one array (FastChat, LLaMA-Factory) rather than one object a line."""
    with open(path, "rb") as f:
        return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


class RowPlace:
    """`row N, line L` of row N of a JSON array file; L is looked up the first time it is shown."""

    def __init__(self, path: Path, n: int):
        self.path, self.n, self._shown = path, n, None

    def __str__(self) -> str:
        if self._shown is None:
            self._shown = next((where for n, (_, where) in enumerate(_rows_by_line(self.path), 1) if n == self.n),
                               f"row {self.n}")
        return self._shown


def json_array_rows(path: Path, stream: BinaryIO | None = None) -> Iterator[tuple[dict, RowPlace]]:
    """The objects of a file holding one JSON array, each with where it starts (`row N, line L` once shown).
    `stream`: the file, opened already (read from its start)."""
    rows = ijson.sendable_list()
    parser = ijson.items_coro(rows, "item", use_float=True)
    n = 0
    with open(path, "rb") if stream is None else contextlib.nullcontext(stream) as f:
        chunk = f.read(CHUNK).removeprefix(b"\xef\xbb\xbf")
        while True:
            failed = False
            try:
                parser.send(chunk) if chunk else parser.close()
            except ijson.JSONError:  # the rows before it still count
                failed = True
            for row in rows:
                if not isinstance(row, dict):
                    _fault_by_line(path)
                n += 1
                yield row, RowPlace(path, n)
            rows.clear()
            if failed:
                _fault_by_line(path)
            if not chunk:
                return
            chunk = f.read(CHUNK)


def _fault_by_line(path: Path):
    """Raise the file's first fault, naming its line."""
    for _ in _rows_by_line(path):
        pass
    raise InputError(str(path), None, "not valid JSON")  # only if ijson's two readings of it disagreed


def _rows_by_line(path: Path) -> Iterator[tuple[dict, str]]:
    """`json_array_rows`, feeding the parser a line (at most CHUNK characters of it) at a time and building the rows
    from its events, so that each row knows its first line and each fault its line."""
    events = ijson.sendable_list()
    parser = ijson.parse_coro(events, use_float=True)
    n, line, row, where, closed = 0, 1, None, "", False
    with open(path, encoding="utf-8-sig", newline="\n") as f:
        while True:
            try:
                chunk = f.readline(CHUNK)
            except UnicodeDecodeError:
                raise InputError(str(path), line, "not valid UTF-8") from None
            error = None
            try:
                parser.send(chunk.encode("utf-8")) if chunk else parser.close()
            except ijson.JSONError as e:  # the events before it still count
                error = e
            for prefix, event, value in events:
                if prefix == "item" and row is None:  # an array item starts
                    n, where = n + 1, f"row {n + 1}, line {line}"
                    if event != "start_map":
                        raise InputError(str(path), where, "each array item must be a JSON object")
                    row = ijson.ObjectBuilder()
                if row is not None:
                    row.event(event, value)
                    if prefix == "item" and event == "end_map":
                        yield row.value, where
                        row = None
                elif prefix == "" and event == "end_array":
                    closed = True
            events.clear()
            if error is not None:
                raise InputError(str(path), line, _why(error, n, row is not None, closed, chunk)) from None
            if not chunk:
                return
            line += chunk.endswith("\n")


def _why(error: Exception, n: int, in_row: bool, closed: bool, chunk: str) -> str:
    """What is wrong, in words that place it among the rows (ijson's own reason is about its parser's state)."""
    if closed:
        return "not valid JSON: text after the closing ']'"
    if not chunk:
        return f"not valid JSON: the file ends inside row {n}" if in_row else \
            "not valid JSON: the file ends before the closing ']'"
    reason = str(error).splitlines()[0].removeprefix("parse error: ").removeprefix("lexical error: ").rstrip(".")
    if in_row:
        return f"not valid JSON: {reason} (row {n})"
    if n and "after array element" in reason:  # yajl's words for a missing separator
        return f"not valid JSON: ',' or ']' expected after row {n}"
    return f"not valid JSON: {reason}{f' (after row {n})' if n else ''}"
