"""Rows of a file that holds one JSON array of objects (FastChat's and LLaMA-Factory's `.json` files).

The file is streamed through ijson one line (at most `CHUNK` characters of it) at a time, so memory holds one row
however big the file, and each row comes with where it starts (`row N, line L`): ijson's parser emits its events as
each piece arrives, so the line being fed is the line an event comes from. A bad row names its row and line, as a
JSONL line would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ijson

from redraft.errors import InputError

CHUNK = 1 << 16  # characters fed to the parser at a time: a line, or a piece of a longer one


def is_json_array(path: Path) -> bool:
    """Whether a .json file holds one array (FastChat, LLaMA-Factory) rather than one object a line."""
    with open(path, "rb") as f:
        return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def json_array_rows(path: Path) -> Iterator[tuple[dict, str]]:
    """The objects of a file holding one JSON array, each with where it starts (`row N, line L`)."""
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
            except ijson.JSONError as e:  # the events before it still count: rows it completed come first
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
