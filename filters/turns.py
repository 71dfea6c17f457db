"""The assistant turns of a batch of dialogues as one polars frame, one row per turn, for the turn-level checks.

Columns: `doc` (index in the batch), `turn` (1 = the first translation), `kind` (the revision kind the turn answers;
null for turn 1), `word`, `max_len` / `unit`, `format` (the request's checkable arguments), `lang` (the language the
answer must be in: the target, or the one a third-language / back-translation request names; null when unknown or
not checked), `answer`, `previous` (the assistant's previous answer; null for turn 1), `request` (the user turn
before it), `source`, `reference`, `src_lang`, `tgt_lang`. Languages are base codes ('zh-cn' -> 'zh').

A check returns one reason per turn (null to keep); `verdicts` turns them into one result per dialogue, named by
the first failing turn: `turn2_remark`.
"""

from __future__ import annotations

import polars as pl
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from .compliance import expected_language, parse_args
from .text import base_lang

UNKNOWN_LANGS = {"", "und", "xx", "mul"}
SCHEMA = {"doc": pl.Int64, "turn": pl.Int64, "kind": pl.String, "word": pl.String, "max_len": pl.Int64,
          "unit": pl.String, "format": pl.String, "lang": pl.String, "answer": pl.String, "previous": pl.String,
          "request": pl.String, "source": pl.String, "reference": pl.String, "src_lang": pl.String,
          "tgt_lang": pl.String}


class DialogueFilter(BaseFilter):
    name = ""

    def __init__(self, exclusion_writer=None, batch_size: int = 1):
        super().__init__(exclusion_writer, batch_size)


def _known(lang: str | None) -> str | None:
    lang = base_lang(lang or "")
    return None if lang in UNKNOWN_LANGS else lang


def turn_rows(i: int, doc: Document) -> list[dict]:
    meta = doc.metadata
    msgs = [t for t in meta.get("messages") or [] if t.get("role") != "system"]
    kinds = list(meta.get("revisions") or [])
    raw = list(meta.get("revision_args") or [])
    src, tgt = _known(meta.get("src_lang")), _known(meta.get("tgt_lang"))
    rows, previous, request = [], None, ""
    for t in msgs:
        content = t.get("content") or ""
        if t.get("role") != "assistant":
            request = content
            continue
        n = len(rows)  # 0 for the first translation
        kind = kinds[n - 1] if 0 < n <= len(kinds) else None
        args = parse_args(raw[n - 1] if 0 < n <= len(raw) else None)
        limit = next(((int(args[k]), k[4:]) for k in ("max_words", "max_chars") if str(args.get(k, "")).isdigit()),
                     (None, None))
        lang = (expected_language(kind, args, tgt or "") if kind else tgt) or None
        rows.append({"doc": i, "turn": n + 1, "kind": kind, "word": str(args["word"]) if "word" in args else None,
                     "max_len": limit[0], "unit": limit[1], "format": args.get("format"), "lang": _known(lang),
                     "answer": content, "previous": previous, "request": request, "source": doc.text or "",
                     "reference": meta.get("reference_text") or "", "src_lang": src, "tgt_lang": tgt})
        previous = content
    return rows


def turn_frame(batch: list[Document]) -> pl.DataFrame:
    return pl.DataFrame([r for i, doc in enumerate(batch) for r in turn_rows(i, doc)], schema=SCHEMA)


def verdicts(frame: pl.DataFrame, reasons: pl.Series, n_docs: int) -> list[bool | tuple[bool, str]]:
    """One result per dialogue from one reason (or null) per turn: the first failing turn names it."""
    failed = (frame.select("doc", "turn").with_columns(reason=reasons).drop_nulls("reason")
              .sort("doc", "turn").unique("doc", keep="first", maintain_order=True))
    out: list[bool | tuple[bool, str]] = [True] * n_docs
    for doc, turn, reason in failed.iter_rows():
        out[doc] = (False, f"turn{turn}_{reason}")
    return out
