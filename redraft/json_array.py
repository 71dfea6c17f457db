"""Rows of a file that holds one JSON array of objects (FastChat's and LLaMA-Factory's `.json` files).

The array is decoded one object at a time with `JSONDecoder.raw_decode`, so each row comes with where it starts and a
bad one names its row and line, as a JSONL line would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from redraft.errors import InputError


def is_json_array(path: Path) -> bool:
    """Whether a .json file holds one array (FastChat, LLaMA-Factory) rather than one object a line."""
    with open(path, "rb") as f:
        return f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


_WS = re.compile(r"[ \t\r\n]*")


def json_array_rows(path: Path) -> Iterator[tuple[dict, str]]:
    """The objects of a file holding one JSON array, each with where it is (`row N, line L`), decoded one at a time."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(str(path), None, f"not valid UTF-8 (byte {e.start})") from None
    decoder = json.JSONDecoder()
    i = _WS.match(text, _WS.match(text).end() + 1).end()  # past the opening bracket
    n, line, counted = 0, 1, 0
    while not text.startswith("]", i):
        line, counted, n = line + text.count("\n", counted, i), i, n + 1
        try:
            row, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            raise InputError(str(path), e.lineno, f"not valid JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(row, dict):
            raise InputError(str(path), f"row {n}, line {line}", "each array item must be a JSON object")
        yield row, f"row {n}, line {line}"
        i = _WS.match(text, end).end()
        if text.startswith(",", i):
            i = _WS.match(text, i + 1).end()
        elif not text.startswith("]", i):
            raise InputError(str(path), text.count("\n", 0, i) + 1,
                             f"not valid JSON: ',' or ']' expected after row {n}")
    if _WS.match(text, i + 1).end() != len(text):
        raise InputError(str(path), text.count("\n", 0, i) + 1, "not valid JSON: text after the closing ']'")
