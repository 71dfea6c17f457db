"""Reading evaluation files. Plain text holds one segment a line, read the way the sacrebleu command line reads it
(split on "\\n" only, trailing whitespace stripped, nothing else touched), so scores match it to the last digit.
JSONL holds one object a line. Errors name the file and the line. A file may be at a URL (`s3://...`,
redraft/storage.py)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from redraft.errors import InputError, UsageError
from redraft.readers import json_object
from redraft.storage import check_reachable, location


def _bytes(path: str | Path) -> bytes:
    check_reachable(path)
    p = location(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    data = p.read_bytes()
    return gzip.decompress(data) if p.suffix == ".gz" else data


def read_lines(path: str | Path) -> list[str]:
    pieces = _bytes(path).split(b"\n")
    if pieces[-1] == b"":  # the final newline ends the last line; it does not start another
        pieces.pop()
    lines = []
    for n, raw in enumerate(pieces, 1):
        try:
            lines.append(raw.decode("utf-8").rstrip())
        except UnicodeDecodeError as e:
            raise InputError(str(path), n, f"not valid UTF-8 (byte {e.start})") from None
    return lines


def read_jsonl(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for every line; an empty line or one that is not a JSON object is an error, since
    JSONL files here are line-aligned with other files."""
    out = []
    for n, line in enumerate(read_lines(path), 1):
        out.append((n, json_object(line, path, n)))
    return out


def same_length(a: list, a_path, b: list, b_path) -> None:
    if len(a) != len(b):
        raise UsageError(f"{a_path} has {len(a)} lines but {b_path} has {len(b)}: the files must be line-aligned")


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, recorded beside the scores it produced."""
    h = hashlib.sha256()
    with location(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
