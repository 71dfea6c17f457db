"""Training data: load redraft output folders or Hub ids, tokenise dialogues with the chat template, build
assistant-only targets, truncate, and audit the masks per source.

Truncation policy: a dialogue longer than `seq_len` tokens keeps its first `seq_len` tokens (the first translation
matters most; later revisions are cut). Dialogues left with no trained token (e.g. the first assistant turn starts
after `seq_len`) are excluded from sampling and counted in the audit as `no_trained_tokens`, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from redraft.storage import path as storage_path

from .config import DataSource

IGNORE = -100

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
    """All examples of all sources: `input_ids[i]` and `targets[i]` (already shifted: the token to predict at each
    position, IGNORE where not trained), `source[i]`, `n_trained[i]`. Excluded examples are not in these arrays."""
    input_ids: list[np.ndarray]
    targets: list[np.ndarray]
    source: np.ndarray
    n_trained: np.ndarray
    sources: list[SourceInfo]

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self.input_ids))

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


def load_source(src: DataSource):
    """The rows of one source and its provenance: a redraft output folder (local or at a URL), or a Hub dataset id."""
    import datasets

    folder = storage_path(src.path)
    if folder.is_dir():
        files = sorted((folder / "data").glob("*.parquet")) or sorted(folder.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"data source {src.path}: no data/*.parquet in the folder")
        rows = datasets.load_dataset("parquet", data_files=[str(f) for f in files], split="train")
        recipe = folder / "recipe.yaml"
        recipe_name = (yaml.safe_load(recipe.read_text()) or {}).get("name") if recipe.is_file() else None
        return rows, "folder", recipe_name, _hash_files(files), src.name or folder.resolve().name
    rows = datasets.load_dataset(src.path, split=src.split)
    return rows, "hub", None, rows._fingerprint, src.name or src.path


def tokenize_sources(sources: list[DataSource], tokenizer, seq_len: int, system_prompt: str | None = None,
                     log=print) -> TokenizedData:
    input_ids, targets, source_of, n_trained, infos = [], [], [], [], []
    for s_idx, src in enumerate(sources):
        rows, kind, recipe_name, content_hash, name = load_source(src)
        if "messages" not in rows.column_names:
            raise ValueError(f"data source {src.path}: rows have no `messages` column")
        names = [i.name for i in infos]
        if name in names:
            name = f"{name}#{s_idx}"
        counts = dict(examples=0, tokens=0, trained_tokens=0, truncated=0, no_trained_tokens=0)
        for messages in rows["messages"]:
            if system_prompt and messages and messages[0]["role"] != "system":
                messages = [{"role": "system", "content": system_prompt}, *messages]
            ids, trained = tokenize_dialogue(tokenizer, messages)
            counts["examples"] += 1
            if len(ids) > seq_len:
                counts["truncated"] += 1
                ids, trained = ids[:seq_len], trained[:seq_len]
            ids = np.asarray(ids, dtype=np.int64)
            tgt = np.full(len(ids), IGNORE, dtype=np.int64)
            next_trained = np.asarray(trained[1:], dtype=bool)
            tgt[:-1][next_trained] = ids[1:][next_trained]
            k = int(next_trained.sum())
            if k == 0:
                counts["no_trained_tokens"] += 1
                continue
            counts["tokens"] += len(ids)
            counts["trained_tokens"] += k
            input_ids.append(ids), targets.append(tgt), source_of.append(s_idx), n_trained.append(k)
        counts["trained_share"] = round(counts["trained_tokens"] / max(counts["tokens"], 1), 4)
        info = SourceInfo(name, src.path, src.weight, kind, recipe_name, content_hash, len(rows), counts)
        infos.append(info)
        log(f"[data] {name}: {json.dumps(counts)}")
        if counts["no_trained_tokens"]:
            log(f"[data] WARNING {name}: {counts['no_trained_tokens']} of {counts['examples']} examples have no "
                f"trained token after truncation to seq_len={seq_len}; they are excluded")
    if not input_ids:
        raise ValueError("no example has a trained token; check the data and seq_len")
    return TokenizedData(input_ids, targets, np.asarray(source_of), np.asarray(n_trained), infos)
