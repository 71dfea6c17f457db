"""How an input is cut into the tasks' shares, from metadata alone, the way big-data readers do.

The input is a list of files (or a Hub dataset's shard files) in order. A share is one contiguous run of it: a list
of `Piece`s, each a range of one file. What a range counts depends on the file:
- a line-based file (TSV, JSONL, a .json file of one object a line): bytes. A range owns the lines that *start*
  inside it (Hadoop's TextInputFormat rule), so ranges may be cut at any byte: the reader of a range skips the line
  holding its first byte unless a line starts there, and reads its last line to the end, past the range.
- a parquet file: rows, cut at row-group boundaries (a row group is read whole or not at all).
- a file that cannot be split (gzip, a .json file holding one JSON array) or a Hub shard: the whole of it.
`assign` spreads these over the tasks as contiguous runs balanced by weight (bytes, or rows for parquet). A task
never reads what precedes its share: an item's `POSITION` is `position(file, offset)`, its file's index and its
offset in it (the byte offset of its line, its row), so positions rise in input order within and across tasks but are
not dense.
"""

from __future__ import annotations

from dataclasses import dataclass

FILE_BITS = 40  # an offset takes the low 40 bits (files up to 1 TiB); the file index the 23 bits above


def position(file: int, offset: int) -> int:
    """An item's place in the input: its file's index, then its offset in that file."""
    return (file << FILE_BITS) | offset


@dataclass(frozen=True)
class Piece:
    """A range of file `file`: bytes, rows or lines from `start` to `end` (exclusive; None: to the end).
    `at`: where to start reading to reach `start` faster (two aligned text files: a line at or before `start` and its
    byte offsets in both files)."""

    file: int
    start: int = 0
    end: int | None = None
    at: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Unit:
    """What `assign` spreads: a range of a file with its weight; a splittable one may be cut at any unit of it."""

    piece: Piece
    weight: int
    splittable: bool = False


def assign(units: list[Unit], tasks: int) -> list[list[Piece]]:
    """Each task's share: contiguous runs of `units` in input order, balanced by weight. Task t gets the weight from
    total*t/tasks to total*(t+1)/tasks: splittable units are cut at those points, the others go whole to the task
    holding their middle. Tasks past the input (more tasks than units) get nothing."""
    shares: list[list[Piece]] = [[] for _ in range(tasks)]
    total = sum(u.weight for u in units)
    if not total:
        return shares

    def boundary(t: int) -> int:
        return total * t // tasks

    at, task = 0, 0
    for u in units:
        if u.weight <= 0:
            continue
        if u.splittable:
            lo, hi = at, at + u.weight
            while lo < hi:
                while boundary(task + 1) <= lo:
                    task += 1
                cut = min(hi, boundary(task + 1))
                p = u.piece
                _add(shares[task], Piece(p.file, p.start + lo - at, p.start + cut - at))
                lo = cut
        else:
            middle = (2 * at + u.weight) * tasks // (2 * total)
            task = max(task, min(tasks - 1, middle))
            _add(shares[task], u.piece)
        at += u.weight
    return shares


def _add(share: list[Piece], piece: Piece) -> None:
    """Append, merging with the previous piece when they are adjacent ranges of one file."""
    if share and share[-1].file == piece.file and share[-1].end is not None and share[-1].end == piece.start \
            and share[-1].at is None and piece.at is None:
        share[-1] = Piece(piece.file, share[-1].start, piece.end)
    else:
        share.append(piece)
