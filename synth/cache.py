"""A content-addressed response cache in the run's state folder, read the way a task reads its input: a task loads
the answers about its own share of the items, so its start-up time and memory follow its share, not the number of
tasks or the size of the cache.

The key hashes what decides a completion: model, messages, generation parameters, per-request seed and response
format; never the API key or the base URL. Identical requests share one answer, whoever asked.

Every answer is one JSON line, written straight to the OS when it comes, so a SIGKILL loses at most the calls still in
flight. An answer about an input item records the item's position (`redraft.types.POSITION`: increasing in input
order; a task reads a contiguous share) and goes into a *segment*, a file named after the positions it holds:
`seg-FIRST-LAST-WRITER-UNIQUE.jsonl`, positions in hex. Before answering about position p, a cache loads the segments
of its kind that overlap the positions asked about so far, and no others: the listing of names is all it reads of the
rest. A writer appends to one segment at a time, named while it is written with the positions it may hold (from the
first one its task asked about to a bound ahead), so a killed task's segment is found like any other; at roll-over,
after `SEGMENT_ANSWERS` answers or past that bound, it is renamed to the positions it holds. Roll-over is where
writing segments as whole objects to object storage (issue M) plugs in: `Segment`.

An item answered from another position's entry (a duplicate pair, or a call in flight for one) gets an entry at its
own position too, so a re-run that splits the input otherwise finds every answer in its own shares: a re-run with
another task count or executor pays for nothing twice.

Answers without a position (the eval caches, and caches written before segments) go to WRITER.jsonl; those files are
loaded whole when the cache opens, as before.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import uuid
from pathlib import Path

from redraft.synth.teacher import Completion

SEGMENT_ANSWERS = 1024  # answers per segment: about what a task reads beyond its share at each end, at most
MAX_POSITION = 2**64 - 1
SEGMENT_NAME = re.compile(r"seg-([0-9a-f]{16})-([0-9a-f]{16})-(.+)-([0-9a-f]{12})\.jsonl")
OPEN_FILES = 32  # files kept open for reading answers back


def cache_key(model: str, messages: list, params: dict, seed: int | None, response_format: dict | None = None) -> str:
    payload = {"model": model, "messages": messages, "params": params, "seed": seed,
               "response_format": response_format}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


def kind_of(writer_name: str) -> str:
    """Writers are named KIND-RANK (`responses-00003`, `judge-00003`); a cache reads the segments of its own kind,
    since another kind of step never asks the same requests."""
    return re.sub(r"-\d+$", "", writer_name)


class Segment:
    """The segment a writer appends to: named with the positions it may hold while it is written, renamed to the
    positions it holds when it is closed."""

    def __init__(self, folder: Path, writer_name: str, first: int, last: int):
        self.folder, self.writer_name, self.unique = folder, writer_name, uuid.uuid4().hex[:12]
        self.first, self.last = first, last
        self.path = self._named(first, last)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        self.size = self.answers = 0
        self.low, self.high = last, first  # the positions it holds

    def _named(self, first: int, last: int) -> Path:
        return self.folder / f"seg-{first:016x}-{last:016x}-{self.writer_name}-{self.unique}.jsonl"

    def takes(self, position: int) -> bool:
        return self.first <= position <= self.last and self.answers < SEGMENT_ANSWERS

    def append(self, line: bytes, position: int) -> int:
        """Writes one answer's line and returns its offset."""
        offset = self.size
        os.write(self._fd, line)
        self.size += len(line)
        self.answers += 1
        self.low, self.high = min(self.low, position), max(self.high, position)
        return offset

    def close(self) -> Path:
        os.close(self._fd)
        if not self.answers:
            self.path.unlink(missing_ok=True)
        else:
            final = self._named(self.low, self.high)
            os.rename(self.path, final)
            self.path = final
        return self.path


class ResponseCache:
    """A writer's view of the cache in `folder`: it reads every writer's answers of its kind and writes its own as
    `writer_name` (see `kind_of`). Used from one thread."""

    def __init__(self, folder: str | os.PathLike, writer_name: str = "responses"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer_name = writer_name
        self.bytes_read = self.answers_read = 0  # what loading read: the cost of the cache to this task
        self._paths: list[Path] = []  # file number -> path (a segment's changes when it is closed)
        self._numbers: dict[Path, int] = {}
        # key -> (file number, offset, length, position), or a list of them when the key has several positions
        self._index: dict[str, tuple | list[tuple]] = {}
        self._readers: dict[int, int] = {}  # file number -> descriptor, least recently used first
        self._unread: list[tuple[int, int, Path]] = []  # segments not loaded yet, by first position, last first
        self._below: list[tuple[int, int, Path]] = []  # skipped: they end below every position asked about
        self._low = self._high = None  # the positions asked about so far
        self._written = 0  # positioned answers this writer wrote
        kind = kind_of(writer_name)
        for path in sorted(self.folder.glob("*.jsonl")):
            name = SEGMENT_NAME.fullmatch(path.name)
            if name is None:
                self._load(path)
            elif kind_of(name[3]) == kind:
                self._unread.append((int(name[1], 16), int(name[2], 16), path))
        self._unread.sort(reverse=True)
        self._plain = self.folder / f"{writer_name}.jsonl"  # this writer's answers without a position
        self._plain_fd: int | None = None
        self._segment: Segment | None = None

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    # --- reading --------------------------------------------------------------------------------------------------

    def _number(self, path: Path) -> int:
        if path not in self._numbers:
            self._numbers[path] = len(self._paths)
            self._paths.append(path)
        return self._numbers[path]

    def _load(self, path: Path) -> None:
        try:
            f = open(path, "rb")
        except FileNotFoundError:  # a segment closed (renamed) since the listing: another task's, being written
            return
        number, offset = self._number(path), 0
        with f:
            for line in f:
                if line.endswith(b"\n"):  # a torn last line (killed mid-write) is ignored
                    try:
                        rec = json.loads(line)
                        key, position = rec["key"], rec.get("pos")
                    except (ValueError, KeyError, TypeError):
                        key = None
                    if key:
                        self._add(key, (number, offset, len(line), position))
                        self.answers_read += 1
                offset += len(line)
        self.bytes_read += offset

    def _add(self, key: str, entry: tuple) -> None:
        known = self._index.get(key)
        if known is None or (type(known) is tuple and known[3] == entry[3]):
            self._index[key] = entry
        else:
            entries = [known] if type(known) is tuple else known
            self._index[key] = [e for e in entries if e[3] != entry[3]] + [entry]

    def _entries(self, key: str) -> list[tuple]:
        known = self._index.get(key)
        return [] if known is None else [known] if type(known) is tuple else known

    def _reach(self, position: int | None) -> None:
        """Loads the segments that may hold answers about the positions asked about so far."""
        if position is None:  # a caller that does not say where: every segment, as before segments
            for _, _, path in self._unread + self._below:
                self._load(path)
            self._unread, self._below = [], []
            return
        if self._low is None:
            self._low = self._high = position
        elif position < self._low:  # asked below the positions so far (not in input order): rare
            self._low, skipped, self._below = position, self._below, []
            self._take(skipped)
        self._high = max(self._high, position)
        while self._unread and self._unread[-1][0] <= self._high:
            self._take([self._unread.pop()])

    def _take(self, segments: list[tuple[int, int, Path]]) -> None:
        """Loads those of `segments` (all starting at or below the highest position asked) that reach the lowest."""
        for segment in segments:
            if segment[1] >= self._low:
                self._load(segment[2])
            else:
                self._below.append(segment)

    def _read(self, number: int, offset: int, length: int) -> dict | None:
        fd = self._readers.pop(number, None)
        if fd is None:
            if len(self._readers) >= OPEN_FILES:
                os.close(self._readers.pop(next(iter(self._readers))))
            try:
                fd = os.open(self._paths[number], os.O_RDONLY)
            except FileNotFoundError:  # another task's segment, closed since it was loaded: asked again
                return None
        self._readers[number] = fd
        return json.loads(os.pread(fd, length, offset))

    def get(self, key: str, position: int | None = None) -> Completion | None:
        """The answer cached for `key`, or None; `position`: where the item asking sits in the input."""
        position = None if position is None else int(position)
        self._reach(position)
        entries = self._entries(key)
        if not entries:
            return None
        number, offset, length, at = next((e for e in entries if e[3] == position), entries[-1])
        rec = self._read(number, offset, length)
        if rec is None:
            return None
        completion = Completion(rec["text"], rec["prompt_tokens"], rec["completion_tokens"],
                                rec.get("finish_reason", "stop"))
        if position is not None and at is not None and at != position:
            self.put(key, completion, position)  # a duplicate item: found at its own position by other shares
        return completion

    # --- writing --------------------------------------------------------------------------------------------------

    def put(self, key: str, completion: Completion, position: int | None = None) -> None:
        """Records `completion` for `key`, asked about the item at `position` (None: not about an input item)."""
        position = None if position is None else int(position)
        if any(e[3] == position for e in self._entries(key)):
            return
        rec = {"key": key, **({"pos": position} if position is not None else {}), "text": completion.text,
               "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
               "finish_reason": completion.finish_reason}
        line = json.dumps(rec, ensure_ascii=False).encode("utf-8") + b"\n"
        if position is None:
            number, offset = self._number(self._plain), self._append_plain(line)
        else:
            self._reach(position)
            if self._segment is None or not self._segment.takes(position):
                self._roll(position)
            number, offset = self._number(self._segment.path), self._segment.append(line, position)
            self._written += 1
        self._add(key, (number, offset, len(line), position))

    def _append_plain(self, line: bytes) -> int:
        if self._plain_fd is None:
            self._plain_fd = os.open(self._plain, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(self._plain_fd).st_size
            if size:
                with open(self._plain, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        os.write(self._plain_fd, b"\n")  # end a torn line so the next record starts clean
        offset = os.fstat(self._plain_fd).st_size
        os.write(self._plain_fd, line)
        return offset

    def _roll(self, position: int) -> None:
        """Closes the segment being written and starts the next, bounded to about twice `SEGMENT_ANSWERS` answers'
        worth of positions ahead, as far apart as this writer's answers lie so far."""
        self._close_segment()
        apart = (self._high - self._low) / self._written if self._written else 1.0
        last = min(MAX_POSITION, position + max(SEGMENT_ANSWERS, math.ceil(2 * SEGMENT_ANSWERS * apart)))
        self._segment = Segment(self.folder, self.writer_name, min(self._low, position), last)

    def _close_segment(self) -> None:
        if self._segment is not None:
            number = self._number(self._segment.path)
            del self._numbers[self._segment.path]
            self._paths[number] = self._segment.close()
            self._numbers[self._paths[number]] = number
            self._segment = None

    def close(self) -> None:
        self._close_segment()
        for fd in [self._plain_fd, *self._readers.values()]:
            if fd is not None:
                os.close(fd)
        self._plain_fd, self._readers = None, {}
