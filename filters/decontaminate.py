"""Decontamination: drop items whose source, reference or assistant text overlaps a declared evaluation set.

Evaluation files are plain text (one segment a line, e.g. WMT `.src`/`.ref`) or JSONL (every string in every record,
e.g. BayLing-80's `{"text": [turn1, turn2]}`). Overlap is measured in word n-grams of the normalised text, or
character n-grams for text that is mostly CJK; a text is contaminated when at least `threshold` of its n-grams occur
in the evaluation set. Texts shorter than n count as one n-gram, i.e. they must match an evaluation n-gram exactly.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import regex
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from redraft.errors import UsageError

from .text import normalize

_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")
_LETTER = regex.compile(r"\p{L}")


def read_segments(path: Path) -> list[str]:
    if path.suffix in (".jsonl", ".json"):
        out: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                _strings(json.loads(line), out)
        return out
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _strings(value, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)


def ngrams(text: str, n: int, char_n: int) -> list[str]:
    """Word n-grams, or character n-grams (spaces removed) when at least 30% of the letters are CJK."""
    norm = normalize(text)
    letters = len(_LETTER.findall(norm))
    if letters and len(_CJK.findall(norm)) >= 0.3 * letters:
        units, n, sep = norm.replace(" ", ""), char_n, ""
    else:
        units, sep = norm.split(), " "
    if not units:
        return []
    if len(units) <= n:
        return [sep.join(units)]
    return [sep.join(units[i:i + n]) for i in range(len(units) - n + 1)]


class Decontaminate(BaseFilter):
    """Drops items overlapping the evaluation sets in `paths` (files or folders of .src/.ref/.txt/.jsonl).
    `n`: word n-gram size; `char_n`: character n-gram size for CJK; `threshold`: share of a text's n-grams found in
    the evaluation set that makes it contaminated. Reason `contaminated`."""
    name = "decontaminate"

    def __init__(self, paths: list[str] | str, n: int = 8, char_n: int = 12, threshold: float = 0.5,
                 exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.paths = [paths] if isinstance(paths, str) else list(paths)
        self.n, self.char_n, self.threshold = n, char_n, threshold
        for p in self.files():
            if not p.is_file():
                raise UsageError(f"decontaminate: evaluation file not found: {p}")

    def files(self) -> list[Path]:
        out = []
        for p in map(Path, self.paths):
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")) if p.is_dir() else [p]
        return out

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "index"}

    @cached_property
    def index(self) -> set[int]:
        """Hashes of every evaluation n-gram (hash() is consistent within the process that builds and uses it)."""
        return {hash(g) for f in self.files() for seg in read_segments(f) for g in ngrams(seg, self.n, self.char_n)}

    def contaminated(self, text: str) -> bool:
        grams = ngrams(text, self.n, self.char_n)
        if not grams:
            return False
        hits = sum(hash(g) in self.index for g in grams)
        return hits >= self.threshold * len(grams)

    def filter(self, doc: Document):
        m = doc.metadata
        texts = [doc.text, m.get("reference_text") or ""]
        texts += [t.get("content") or "" for t in m.get("messages") or [] if t.get("role") in ("assistant", "user")]
        return (False, "contaminated") if any(self.contaminated(t) for t in texts if t) else True
