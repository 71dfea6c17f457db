"""Is each assistant answer a translation at all? What a weak teacher writes instead, turn by turn (reasons are
`turn{N}_{check}`, the first failing turn naming the dialogue's):

- `request_echoed`: the answer repeats the user's request ("Please use the word "X" in the translation.").
- `copied_source`: a target-language answer holds the source sentence untranslated (where the reference does not:
  "ELOPS SPEED 900" is its own translation).
- `remark`: it comments on the translation instead of giving one ("It should be 'proceeding'.", "The translation uses
  the word 'work' instead of 'project'."; patterns in filters/phrases.py, in every language the taxonomy writes).
- `repetition`: it loops ("The translation of the translation of the translation...").
- `stutter`: a Chinese word said twice in a row ("卡伯里射门射门简单"), which neither the source nor the reference
  does: a garbled translation.
- `too_short` / `too_long`: a follow-up answer's length (English-equivalent words) against the pair's reference (or,
  for a back-translation, the source) is out of the kind's bounds: a fragment, or a translation plus an essay.
  `shorten` has no lower bound; third-language and back-translation answers are measured across languages.
- `not_a_rewrite`: a follow-up rewrite in the target language shares too few words with the previous answer and the
  reference together to be a revision of the same translation.

Answers to `explain` requests talk about the translation by design and are only checked for echoes and loops.
The first translation's length and faithfulness are the `faithfulness` filter's.
"""

from __future__ import annotations

import json
import re

import polars as pl

from .phrases import REMARK, TASK_WORDS
from .text import normalize, word_count_expr
from .turns import DialogueFilter, turn_frame, verdicts

# Bounds on the smoothed length ratio (longer + 2) / (shorter + 2) of an answer against its anchor, per kind:
# (when the answer is the shorter, when it is the longer). None: no bound.
LENGTH_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "shorten": (None, 2.0), "audience": (2.0, 2.5), "register": (2.0, 2.2), "explain": (None, None),
    "third_language": (2.0, 2.0), "back_translation": (2.0, 2.0),
}
DEFAULT_BOUNDS = (1.8, 2.0)
# Kinds whose answer is a new version of the same translation, in the target language.
REWRITES = {"include_word", "avoid_word", "register", "audience", "shorten", "grammar", "polish", "error_correction"}
_WORD = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}]|\p{L}{4,}"
_LOOP = re.compile(r"(.{2,}?)(?:\s*\1){3,}", re.DOTALL)
# Han only: kana words repeat by design (いろいろ, どんどん); spaced languages double words by grammar ("die die")
_STUTTER = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,4})\1")
_REMARK = [re.compile(p, re.MULTILINE) for p in REMARK + TASK_WORDS]


def format_content(answer: str, fmt: str | None) -> str:
    """The translation inside a `format` answer: the JSON value, the quoted text, or the list items."""
    text = answer.strip()
    if fmt == "json":
        try:
            value = json.loads(re.sub(r"^```(?:json)?\s*|\s*```$", "", text))
        except ValueError:
            return text
        return " ".join(str(v) for v in value.values()) if isinstance(value, dict) else text
    if fmt == "quoted":
        return text.strip("\"'“”„‚‘’«»‹›「」『』")
    if fmt == "numbered_list":
        items = re.findall(r"^\s*(?:\d+[.)、:．）]|[-*•・①-⑳])\s*(.+)$", text, re.MULTILINE)
        return max(items, key=len) if items else text
    return text


def is_echo(answer: str, request: str, source: str) -> bool:
    """The answer repeats the request (less the source text the first request carries), or is a piece of it."""
    a, r = normalize(answer), normalize(request.replace(source, " ") if source else request)
    if len(r) < 8 or not a:
        return False
    return a.startswith(r) or (len(a) >= 5 and a in r) or (len(r) >= 20 and r in a and len(r) > len(a) / 3)


def loops(text: str, reference: str) -> bool:
    """A unit of 2+ characters repeated 4+ times in a row over 16+ characters (and not so in the reference)."""
    m = _LOOP.search(text)
    return bool(m) and len(m.group(0)) >= 16 and not _LOOP.search(reference)


def stutters(text: str, source: str, reference: str) -> bool:
    """A word of 2-4 Chinese characters said twice in a row ("射门射门", "快递快递": a garbled translation), where
    neither the source nor the reference does so (哈哈哈哈)."""
    return bool(_STUTTER.search(text)) and not _STUTTER.search(source) and not _STUTTER.search(reference)


def remarks(answer: str, source: str, reference: str, across: bool = False) -> bool:
    """A remark pattern or a task word in the answer that neither the source nor the reference matches; for an
    answer `across` languages (a third language), none at all where the source or reference matches one."""
    text, source, reference = (t.lower().replace("’", "'") for t in (answer, source, reference))
    if across and any(p.search(source) or p.search(reference) for p in _REMARK):
        return False
    return any(p.search(text) and not p.search(reference) and not p.search(source) for p in _REMARK)


class Rewrite(DialogueFilter):
    """Every assistant answer is a translation, not a remark, the request, the source, a loop or a fragment (see the
    module docstring). `min_shared`: the least share of a rewrite's words found in its previous answer or the
    reference."""
    name = "rewrite"

    def __init__(self, min_shared: float = 0.15, **kw):
        super().__init__(batch_size=kw.pop("batch_size", 512), **kw)
        self.min_shared = min_shared

    def filter_batch(self, batch):
        frame = turn_frame(batch)
        if frame.is_empty():
            return [True] * len(batch)
        content = [format_content(a, f) if k == "format" else a
                   for a, k, f in zip(frame["answer"], frame["kind"], frame["format"])]
        frame = frame.with_columns(content=pl.Series(content, dtype=pl.String))
        python_reasons = [self._text_reason(row) for row in frame.iter_rows(named=True)]
        reasons = pl.Series(python_reasons, dtype=pl.String)
        checks = frame.select(pl.coalesce(self._length_reason(), self._overlap_expr())).to_series()
        return verdicts(frame, reasons.fill_null(checks), len(batch))

    def filter(self, doc):
        return self.filter_batch([doc])[0]

    def _text_reason(self, row: dict) -> str | None:
        kind, answer, source, reference = row["kind"], row["answer"], row["source"], row["reference"]
        if is_echo(answer, row["request"], source):
            return "request_echoed"
        if loops(answer, reference):
            return "repetition"
        if stutters(answer, source, reference):
            return "stutter"
        if kind == "explain":
            return None
        target_side = kind is None or kind in REWRITES or kind == "format"
        # a source the reference keeps as it is (a product name, a code) is rightly copied
        if target_side and source and len(normalize(source)) >= 8 and normalize(source) in normalize(answer) \
                and row["lang"] != row["src_lang"] and normalize(source) not in normalize(reference):
            return "copied_source"
        if kind != "format" and remarks(answer, source, reference, across=kind == "third_language"):
            return "remark"
        return None

    def _length_reason(self) -> pl.Expr:
        """Follow-up answers only: against the reference (back-translations: the source), in English-equivalent
        words of the answer's language."""
        kind = pl.col("kind")
        anchor = pl.when(kind == "back_translation").then(pl.col("source")).otherwise(pl.col("reference"))
        anchor_lang = pl.when(kind == "back_translation").then(pl.col("src_lang")).otherwise(pl.col("tgt_lang"))
        lang = pl.col("lang").fill_null(pl.col("tgt_lang")).fill_null("")
        a = word_count_expr(pl.col("content"), lang)
        b = word_count_expr(anchor, anchor_lang.fill_null(""))
        ratio = (pl.max_horizontal(a, b) + 2) / (pl.min_horizontal(a, b) + 2)
        low = kind.replace_strict({k: v[0] for k, v in LENGTH_BOUNDS.items()}, default=DEFAULT_BOUNDS[0],
                                  return_dtype=pl.Float64)
        high = kind.replace_strict({k: v[1] for k, v in LENGTH_BOUNDS.items()}, default=DEFAULT_BOUNDS[1],
                                   return_dtype=pl.Float64)
        checked = kind.is_not_null() & (anchor.str.strip_chars() != "")
        return (pl.when(checked & (a < b) & low.is_not_null() & (ratio > low)).then(pl.lit("too_short"))
                .when(checked & (a > b) & high.is_not_null() & (ratio > high)).then(pl.lit("too_long"))
                .otherwise(pl.lit(None, dtype=pl.String)))

    def _overlap_expr(self) -> pl.Expr:
        """A target-language rewrite shares too few of its words (4+ letters; single characters of unspaced scripts)
        with its previous answer and the reference together."""
        def words(col: str) -> pl.Expr:
            return pl.col(col).fill_null("").str.to_lowercase().str.extract_all(_WORD).list.unique()

        own = words("content")
        shared = own.list.set_intersection(pl.concat_list(words("previous"), words("reference"))).list.len()
        low = (shared / own.list.len()) < self.min_shared
        return (pl.when(pl.col("kind").is_in(list(REWRITES)).fill_null(False) & (own.list.len() > 0) & low)
                .then(pl.lit("not_a_rewrite")).otherwise(pl.lit(None, dtype=pl.String)))
