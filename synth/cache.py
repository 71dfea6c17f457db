"""A content-addressed, append-only response cache kept in the run's state folder.

The key hashes what decides a completion: model, messages, generation parameters, per-request seed and response
format; never the API key or the base URL. Each worker appends one JSON line per completed call to its own file and
flushes it straight to the OS, so a SIGKILL loses at most the calls still in flight. Reading keeps only an index
(key -> file, offset) in memory and reads a response back when it is asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from redraft.synth.teacher import Completion


def cache_key(model: str, messages: list, params: dict, seed: int | None, response_format: dict | None = None) -> str:
    payload = {"model": model, "messages": messages, "params": params, "seed": seed,
               "response_format": response_format}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()


class ResponseCache:
    def __init__(self, folder: str | os.PathLike, writer_name: str = "responses"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._files: list[Path] = sorted(self.folder.glob("*.jsonl"))
        self._index: dict[str, tuple[int, int, int]] = {}
        for i, path in enumerate(self._files):
            self._load(i, path)
        self._path = self.folder / f"{writer_name}.jsonl"
        if self._path not in self._files:
            self._files.append(self._path)
        self._file_no = self._files.index(self._path)
        self._fd: int | None = None
        self._readers: dict[int, int] = {}

    def _load(self, file_no: int, path: Path) -> None:
        offset = 0
        with open(path, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):  # a torn last line (killed mid-write) is ignored
                    try:
                        key = json.loads(line)["key"]
                    except (ValueError, KeyError, TypeError):
                        key = None
                    if key:
                        self._index[key] = (file_no, offset, len(line))
                offset += len(line)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def get(self, key: str) -> Completion | None:
        where = self._index.get(key)
        if where is None:
            return None
        file_no, offset, length = where
        fd = self._readers.get(file_no)
        if fd is None:
            fd = self._readers[file_no] = os.open(self._files[file_no], os.O_RDONLY)
        rec = json.loads(os.pread(fd, length, offset))
        return Completion(rec["text"], rec["prompt_tokens"], rec["completion_tokens"], rec.get("finish_reason", "stop"))

    def put(self, key: str, completion: Completion) -> None:
        if self._fd is None:
            self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(self._fd).st_size
            if size:
                with open(self._path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        os.write(self._fd, b"\n")  # end a torn line so the next record starts clean
        line = json.dumps({"key": key, "text": completion.text, "prompt_tokens": completion.prompt_tokens,
                           "completion_tokens": completion.completion_tokens,
                           "finish_reason": completion.finish_reason}, ensure_ascii=False).encode("utf-8") + b"\n"
        offset = os.fstat(self._fd).st_size
        os.write(self._fd, line)
        self._index[key] = (self._file_no, offset, len(line))

    def close(self) -> None:
        for fd in [self._fd, *self._readers.values()]:
            if fd is not None:
                os.close(fd)
        self._fd, self._readers = None, {}
