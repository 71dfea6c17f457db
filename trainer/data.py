"""Training data: load redraft output folders or Hub ids, tokenise dialogues with the chat template, build
assistant-only targets, truncate, and audit the masks per source. Ranks tokenise a source once, each its share of the
rows, into Arrow files that every rank then reads examples from as micro-batches need them (tokenized.py).

Truncation policy: a dialogue longer than `seq_len` tokens keeps its first `seq_len` tokens (the first translation
matters most; later revisions are cut). Dialogues left with no trained token (e.g. the first assistant turn starts
after `seq_len`) are excluded from sampling and counted in the audit as `no_trained_tokens`, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from redraft.storage import location

from .config import DataSource
from .tokenized import Example, TokenColumn, encode_once, read_examples, write_examples

IGNORE = -100
ENCODING_VERSION = 1  # part of the cache key: bump when encode_example's output changes
BATCH_ROWS = 1024

# FastChat's BayLing conversation: system line, " Human: ...", " Assistant: ...</s>".
BAYLING_SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. "
                  "The assistant gives helpful, detailed, and polite answers to the human's questions.")
BAYLING_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] }}{% set loop_messages = messages[1:] %}"
    '{% else %}{{ "' + BAYLING_SYSTEM + '" }}{% set loop_messages = messages %}{% endif %}'
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}{{ ' Human: ' + message['content'] }}"
    "{% else %}{{ ' Assistant: ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ ' Assistant:' }}{% endif %}"
)


def prepare_tokenizer(tokenizer):
    """Give the tokenizer a chat template (BayLing's when it has none) and a pad token."""
    if not tokenizer.chat_template:
        tokenizer.chat_template = BAYLING_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def tokenize_dialogue(tokenizer, messages: list[dict]) -> tuple[list[int], list[bool]]:
    """Token ids of the rendered dialogue and, per token, whether it belongs to an assistant turn.

    An assistant turn's characters are those between the render of the preceding turns with the generation prompt
    and the render including the turn, so the end-of-turn marker the template appends is trained too (the model
    learns to stop). Works with any template whose renders of prefixes are prefixes of the full render.
    """
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        through = tokenizer.apply_chat_template(messages[:i + 1], tokenize=False)
        if not (text.startswith(before) and text.startswith(through)):
            raise ValueError("the chat template renders a dialogue's prefix differently from the full dialogue; "
                             "cannot locate assistant turns")
        spans.append((len(before), len(through)))
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    trained = [any(s <= start < e for s, e in spans) for start, _ in enc["offset_mapping"]]
    return enc["input_ids"], trained


def encode_example(tokenizer, messages: list[dict], seq_len: int, system_prompt: str | None
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Input ids truncated to `seq_len`, their targets (already shifted: the token to predict at each position,
    IGNORE where not trained), and whether the dialogue was truncated."""
    if system_prompt and messages and messages[0]["role"] != "system":
        messages = [{"role": "system", "content": system_prompt}, *messages]
    ids, trained = tokenize_dialogue(tokenizer, messages)
    truncated = len(ids) > seq_len
    ids = np.asarray(ids[:seq_len], dtype=np.int64)
    tgt = np.full(len(ids), IGNORE, dtype=np.int64)
    next_trained = np.asarray(trained[1:seq_len], dtype=bool)
    tgt[:-1][next_trained] = ids[1:][next_trained]
    return ids, tgt, truncated


def tokenizer_fingerprint(tokenizer) -> str:
    """What decides a dialogue's tokens: the tokenizer's vocabulary and rules, special tokens and chat template."""
    if tokenizer.is_fast:
        rules = json.loads(tokenizer.backend_tokenizer.to_str())
        rules.pop("truncation", None), rules.pop("padding", None)  # per-call settings
    else:
        from datasets.fingerprint import Hasher

        rules = Hasher.hash(tokenizer)
    parts = [type(tokenizer).__name__, rules, tokenizer.chat_template, tokenizer.special_tokens_map]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SourceInfo:
    name: str
    path: str
    weight: float
    kind: str  # "folder" | "hub"
    recipe_name: str | None
    content_hash: str
    rows: int
    audit: dict = field(default_factory=dict)


@dataclass
class TokenizedData:
    """All examples of all sources: `input_ids[i]` and `targets[i]` (int64 arrays, read from the encoding on disk when
    asked for), `source[i]`, `n_trained[i]`. Excluded examples are not in these arrays."""
    input_ids: TokenColumn
    targets: TokenColumn
    source: np.ndarray
    n_trained: np.ndarray
    sources: list[SourceInfo]
    files: object = None  # keeps a temporary encoding folder alive

    @property
    def lengths(self) -> np.ndarray:
        return self.input_ids.lengths

    def audit(self) -> dict:
        return {s.name: s.audit for s in self.sources}


def _hash_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _where(f) -> tuple[str, object]:
    """A parquet file for pyarrow: a local path, or a URL's path with its fsspec filesystem."""
    return (str(f), None) if isinstance(f, Path) else (f.path, f.fs)


class ParquetRows:
    """The `messages` of a folder's parquet files, read a range of rows at a time (never the whole column)."""

    def __init__(self, files: list[Path]):
        where, filesystem = _where(files[0])
        self.column_names = pq.read_schema(where, filesystem=filesystem).names
        self._groups = []  # (file, row group, first row, rows)
        self.num_rows = 0
        for f in files:
            where, filesystem = _where(f)
            meta = pq.read_metadata(where, filesystem=filesystem)
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                self._groups.append((f, g, self.num_rows, n))
                self.num_rows += n

    def messages(self, start: int, stop: int) -> Iterator[list]:
        for f, g, at, n in self._groups:
            if at + n <= start or at >= stop:
                continue
            # buffered pages, not the row group's whole column chunk: a group may hold a whole file
            where, filesystem = _where(f)
            reader = pq.ParquetFile(where, pre_buffer=False, buffer_size=1 << 20, filesystem=filesystem)
            for batch in reader.iter_batches(BATCH_ROWS, row_groups=[g], columns=["messages"]):
                lo, hi = max(start - at, 0), min(stop - at, batch.num_rows)
                if lo < hi:
                    yield batch.column(0).slice(lo, hi - lo).to_pylist()
                at += batch.num_rows


class DatasetRows:
    """The `messages` of a `datasets.Dataset` (a Hub dataset in the local cache), a range of rows at a time."""

    def __init__(self, rows):
        self.rows, self.column_names, self.num_rows = rows, rows.column_names, len(rows)

    def messages(self, start: int, stop: int) -> Iterator[list]:
        if start < stop:
            share = self.rows.select(range(start, stop)).select_columns(["messages"]).with_format("arrow")
            for batch in share.iter(BATCH_ROWS):
                yield batch.column(0).to_pylist()


def load_source(src: DataSource):
    """The rows of one source and its provenance: a redraft output folder (local or at a URL), or a Hub dataset id."""
    import datasets

    folder = location(src.path)
    if folder.is_dir():
        files = sorted((folder / "data").glob("*.parquet")) or sorted(folder.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"data source {src.path}: no data/*.parquet in the folder")
        recipe = folder / "recipe.yaml"
        recipe_name = (yaml.safe_load(recipe.read_text()) or {}).get("name") if recipe.is_file() else None
        return ParquetRows(files), "folder", recipe_name, _hash_files(files), src.name or folder.resolve().name
    rows = datasets.load_dataset(src.path, split=src.split)
    return DatasetRows(rows), "hub", None, rows._fingerprint, src.name or src.path


def _encode_share(rows, tokenizer, seq_len: int, system_prompt: str | None) -> Callable[[int, int, Path], dict]:
    def encode(start: int, stop: int, path: Path) -> dict:
        counts = dict(examples=0, tokens=0, trained_tokens=0, truncated=0, no_trained_tokens=0)

        def batches() -> Iterator[list[Example]]:
            for messages_batch in rows.messages(start, stop):
                examples = []
                for messages in messages_batch:
                    ids, tgt, truncated = encode_example(tokenizer, messages, seq_len, system_prompt)
                    k = int((tgt != IGNORE).sum())
                    counts["examples"] += 1
                    counts["truncated"] += truncated
                    if k == 0:
                        counts["no_trained_tokens"] += 1
                        continue
                    counts["tokens"] += len(ids)
                    counts["trained_tokens"] += k
                    examples.append((ids, tgt, k))
                yield examples

        write_examples(path, batches())
        return counts
    return encode


def tokenize_sources(sources: list[DataSource], tokenizer, seq_len: int, system_prompt: str | None = None,
                     log=print, cache_dir: Path | None = None, rank: int = 0, world_size: int = 1,
                     barrier: Callable[[], None] = lambda: None) -> TokenizedData:
    """Encode every source once into `cache_dir` (each of `world_size` ranks its share; a temporary folder when
    None) and read them. A source's encoding is reused while its content, the tokenizer and chat
    template, `seq_len` and `system_prompt` are unchanged."""
    temporary = tempfile.TemporaryDirectory(prefix="redraft-tokenized-") if cache_dir is None else None
    cache_dir = Path(temporary.name if temporary else cache_dir)
    tokenizer_hash = tokenizer_fingerprint(tokenizer)
    ids, targets, n_trained, source_of, infos = [], [], [], [], []
    for s_idx, src in enumerate(sources):
        rows, kind, recipe_name, content_hash, name = load_source(src)
        if "messages" not in rows.column_names:
            raise ValueError(f"data source {src.path}: rows have no `messages` column")
        names = [i.name for i in infos]
        if name in names:
            name = f"{name}#{s_idx}"
        key = [ENCODING_VERSION, content_hash, tokenizer_hash, seq_len, system_prompt]
        folder = cache_dir / hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]
        encoded = encode_once(folder, rows.num_rows, _encode_share(rows, tokenizer, seq_len, system_prompt), rank,
                              world_size, barrier)
        source_ids, source_targets, source_trained, counts = read_examples(folder)
        ids += source_ids
        targets += source_targets
        n_trained.append(source_trained)
        source_of.append(np.full(len(source_trained), s_idx))
        counts["trained_share"] = round(counts["trained_tokens"] / max(counts["tokens"], 1), 4)
        infos.append(SourceInfo(name, src.path, src.weight, kind, recipe_name, content_hash, rows.num_rows, counts))
        log(f"[data] {name}: {json.dumps(counts)} ({'encoded into' if encoded else 'reused'} {folder})")
        if counts["no_trained_tokens"]:
            log(f"[data] WARNING {name}: {counts['no_trained_tokens']} of {counts['examples']} examples have no "
                f"trained token after truncation to seq_len={seq_len}; they are excluded")
    n_trained = np.concatenate(n_trained)
    if not len(n_trained):
        raise ValueError("no example has a trained token; check the data and seq_len")
    return TokenizedData(TokenColumn(ids), TokenColumn(targets), np.concatenate(source_of), n_trained, infos,
                         temporary)
