"""Sentence-pair filters (source = `doc.text`, reference = `metadata["reference_text"]`), vectorised with polars.

Each check is a `PairCheck` (a datatrove filter usable on its own) that turns a batch into one polars frame and
returns, per row, the reason to drop it or null. `PairFilters` fuses several checks into one pipeline step: all polars
expressions run in a single `select` (the first failing check names the reason), and language ID, the one check that
costs real time, only runs on the rows still standing.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl
from datatrove.data import Document

from .batch_filter import BatchFilter
from .langid import LanguageIdentifier, base_lang_expr
from .text import (CHARS_PER_WORD, CJK_CHAR, CJK_LANGS, CJK_NUMERAL_PATTERN, DIGIT_LIKE, MOJIBAKE_PATTERN, NUMBER_PATTERN,
                   PLACEHOLDER_PATTERN, TIME_PATTERN, URL_PATTERN, cjk_numeral_value, nonletter_count, nonspace_count)

SIDES = ("src", "ref")
LANG_OF = {"src": "src_lang", "ref": "tgt_lang"}
_MIX = np.uint64(0x9E3779B97F4A7C15)


def pair_frame(batch: list[Document]) -> pl.DataFrame:
    """The batch as columns, languages as base codes ('zh-cn' -> 'zh')."""
    return pl.DataFrame({
        "src": [d.text or "" for d in batch],
        "ref": [d.metadata.get("reference_text") or "" for d in batch],
        "src_lang": [d.metadata.get("src_lang") or "" for d in batch],
        "tgt_lang": [d.metadata.get("tgt_lang") or "" for d in batch],
    }, schema={"src": pl.String, "ref": pl.String, "src_lang": pl.String, "tgt_lang": pl.String}
    ).with_columns(base_lang_expr(pl.col("src_lang", "tgt_lang")))


def unspaced(side: str) -> pl.Expr:
    return pl.col(LANG_OF[side]).is_in(list(CJK_LANGS))


def word_count(side: str) -> pl.Expr:
    """English-equivalent words: runs of non-CJK text count one each, CJK characters CHARS_PER_WORD of the side's
    language (1.6 by default). Decided by script, not by the declared language, so swapped or mislabelled sides are
    measured right."""
    per_word = pl.col(LANG_OF[side]).replace_strict(CHARS_PER_WORD, default=1.6, return_dtype=pl.Float64)
    cjk = pl.col(side).str.count_matches(CJK_CHAR)
    words = pl.col(side).str.count_matches(r"[^\s\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]+")
    return words.cast(pl.Float64) + cjk / per_word


def either(fn) -> pl.Expr:
    return fn("src") | fn("ref")


class PairCheck(BatchFilter):
    """One pair check. Subclasses set `name` (registry name) and implement `reasons` (or `expr`)."""

    name: ClassVar[str] = ""
    expensive: ClassVar[bool] = False  # run after the cheap expression checks, only on surviving rows

    def __init__(self, exclusion_writer=None, batch_size: int = 8192):
        super().__init__(exclusion_writer, batch_size)

    def expr(self) -> pl.Expr | None:
        """A Utf8 expression over the pair frame: the drop reason, or null to keep."""
        return None

    def candidates(self) -> pl.Expr | None:
        """A cheap Boolean expression that is true wherever `expr` may drop (None: everywhere). `expr` then runs only
        on those rows, which matters for checks that parse text most pairs do not contain (numbers, URLs, tags)."""
        return None

    def reasons(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        """The drop reason per row; `rows` are the candidate rows when the caller has them already."""
        candidates = self.candidates()
        if candidates is None:
            return frame.select(self.expr().alias("reason")).to_series()
        if rows is None:
            rows = frame.select(candidates).to_series()
        reason = pl.Series("reason", [None] * frame.height, dtype=pl.String)
        if not rows.any():
            return reason
        return reason.scatter(rows.arg_true(), frame.filter(rows).select(self.expr().alias("reason")).to_series())

    def batch_reasons(self, batch: list[Document]) -> pl.Series:
        return self.reasons(pair_frame(batch))


def drop_if(condition: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(reason)).otherwise(pl.lit(None, dtype=pl.String))


class EmptySide(PairCheck):
    """Either side is empty or whitespace."""
    name = "empty"

    def expr(self):
        return drop_if(either(lambda s: pl.col(s).str.strip_chars().str.len_chars() == 0), "empty")


class Length(PairCheck):
    """Either side shorter than `min_words` or longer than `max_words` English-equivalent words (CJK characters count
    1/1.6 word, 1/2.2 in Japanese). Reasons `too_short`, `too_long`."""
    name = "length"

    def __init__(self, min_words: float = 1, max_words: float = 250, **kw):
        super().__init__(**kw)
        self.min_words, self.max_words = min_words, max_words

    def expr(self):
        return (pl.when(either(lambda s: word_count(s) < self.min_words)).then(pl.lit("too_short"))
                .when(either(lambda s: word_count(s) > self.max_words)).then(pl.lit("too_long"))
                .otherwise(pl.lit(None, dtype=pl.String)))


class LengthRatio(PairCheck):
    """Longer side / shorter side, in English-equivalent words (so CJK compares fairly with spaced languages),
    smoothed by `slack` words so that 1-word vs 3-word pairs are not punished; drop above `max_ratio`."""
    name = "length_ratio"

    def __init__(self, max_ratio: float = 2.5, slack: float = 2.0, **kw):
        super().__init__(**kw)
        self.max_ratio, self.slack = max_ratio, slack

    def expr(self):
        a, b = word_count("src"), word_count("ref")
        ratio = (pl.max_horizontal(a, b) + self.slack) / (pl.min_horizontal(a, b) + self.slack)
        return drop_if(ratio > self.max_ratio, "length_ratio")


def _canonical(side: str) -> pl.Expr:
    return pl.col(side).str.to_lowercase().str.replace_all(r"[\W_]+", "")


class CopiedSource(PairCheck):
    """The reference is the source again (after case folding and dropping punctuation and spaces)."""
    name = "copied_source"

    def expr(self):
        return drop_if((_canonical("src") == _canonical("ref")) & (_canonical("src").str.len_chars() > 0),
                       "copied_source")

    def candidates(self):
        # as many letters on both sides (non-space minus non-letters, from the counts non_text computes anyway)
        src, ref = pl.col("src"), pl.col("ref")
        return nonspace_count(src) - nonspace_count(ref) == nonletter_count(src) - nonletter_count(ref)


class NonText(PairCheck):
    """A side made only of numbers and symbols: fewer than `min_letter_ratio` of its non-space characters are
    letters. Reason `no_letters`."""
    name = "non_text"

    def __init__(self, min_letter_ratio: float = 0.3, **kw):
        super().__init__(**kw)
        self.min_letter_ratio = min_letter_ratio

    def expr(self):
        def bad(s):  # letters < ratio * non-space, in the counts copied_source shares
            return nonletter_count(pl.col(s)) > (1 - self.min_letter_ratio) * nonspace_count(pl.col(s))
        return drop_if(either(bad), "no_letters")


class Repetition(PairCheck):
    """Repeated words and runaway repetition: one token (a word, or a character for CJK) `max_run` or more times in
    a row (CJK: two more), or a side of at least `min_tokens` tokens where more than `max_repeated` of its token
    trigrams are repeats of earlier ones (a phrase looping). Only letters count as tokens, so digit and emoji runs
    pass.

    Runs over one flat array of the token hashes of both sides (a run is `max_run` equal tokens in a row; a repeated
    trigram is one not first of its kind in its side), not per-row list evaluation."""
    name = "repetition"

    def __init__(self, max_run: int = 4, min_tokens: int = 12, max_repeated: float = 0.3, **kw):
        super().__init__(**kw)
        self.max_run, self.min_tokens, self.max_repeated = max_run, min_tokens, max_repeated

    def reasons(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        repeated = self.repeated(frame.select(text="src", unspaced=unspaced("src")),
                                 frame.select(text="ref", unspaced=unspaced("ref")))
        return pl.select(drop_if(pl.lit(repeated), "repetition")).to_series().alias("reason")

    def repeated(self, *sides: pl.DataFrame) -> np.ndarray:
        """Per row: does any of the sides (frames of `text` and `unspaced`, same height) repeat itself?"""
        both = pl.concat(sides).with_columns(side=pl.int_range(pl.len(), dtype=pl.Int64),
                                             text=pl.col("text").str.to_lowercase())
        cjk = both["unspaced"]
        # tokens: runs of letters, found by turning other characters into spaces (cheaper than extracting matches);
        # single letters on unspaced sides
        tokens = pl.concat([
            both.filter(cjk.not_()).select("side", token=pl.col("text").str.replace_all(r"[^\p{L} ]+", " ")
                                           .str.split(" ")),
            both.filter(cjk).select("side", token=pl.col("text").str.extract_all(r"\p{L}"))])
        side = np.repeat(tokens["side"].to_numpy(), tokens["token"].list.len().to_numpy())
        flat = tokens["token"].explode(empty_as_null=False)
        word = (flat.str.len_bytes() > 0).fill_null(False).to_numpy()  # splitting leaves empty strings
        side, h = side[word], flat.hash().to_numpy()[word]
        n_sides = both.height
        same = np.zeros(len(h), bool)  # the token equals the one before it, in the same side
        same[1:] = (h[1:] == h[:-1]) & (side[1:] == side[:-1])
        count = np.cumsum(same)
        last_other = np.maximum.accumulate(np.where(same, 0, np.arange(len(h))))
        run = count - count[last_other] + 1  # length of the run of equal tokens ending here
        need = np.where(cjk.to_numpy()[side], self.max_run + 2, self.max_run)
        has_run = np.zeros(n_sides, bool)
        has_run[side[run >= need]] = True
        valid = np.zeros(len(h), bool)
        valid[:-2] = side[2:] == side[:-2]
        with np.errstate(over="ignore"):
            trigram = (h[:-2] * _MIX + h[1:-1]) * _MIX + h[2:] + side[:-2].astype(np.uint64)
        trigram_side = side[:-2][valid[:-2]]
        repeat = pl.Series(trigram[valid[:-2]]).is_first_distinct().not_().to_numpy()
        n_trigrams = np.bincount(trigram_side, minlength=n_sides)
        n_repeats = np.bincount(trigram_side[repeat], minlength=n_sides)
        n_tokens = np.bincount(side, minlength=n_sides)
        looping = (n_tokens >= self.min_tokens) & (n_repeats > self.max_repeated * n_trigrams)
        bad = (has_run | looping).reshape(len(sides), -1)
        return bad.any(axis=0)


class Mojibake(PairCheck):
    """UTF-8 decoded as cp1252/latin-1 ("Ã©", "â€™"), the U+FFFD replacement character or C1 control characters.
    Reason `bad_encoding`."""
    name = "mojibake"

    def expr(self):
        return drop_if(either(lambda s: pl.col(s).str.contains(MOJIBAKE_PATTERN)), "bad_encoding")


def _multiset(side: str, pattern: str, strip: str | None = None) -> pl.Expr:
    found = pl.col(side).str.extract_all(pattern)
    if strip:
        found = found.list.eval(pl.element().str.replace_all(strip, ""))
    return found.list.sort()


class Numbers(PairCheck):
    """A number of the reference that no longer matches the source (or the other way round). Reason
    `number_mismatch`.

    Each side's numbers are compared in forms that survive translation: the digits without separators or leading
    and trailing zeros (1.000 = 1,000, 3,5 = 3.5, 2.5 Mio. = 2.5 million, 26.8万 = 268,000), the plain value, the
    12-hour clock (19 Uhr = 7 PM, 21.30 = 9:30), the century of a two-digit year (80年代 = 1980s); each side's
    digit runs and its numbers in CJK numerals (三十, 十九) can also stand for a number of the other side. A
    translation often spells out a number, drops a date or adds one, so one unmatched number is not enough: a pair
    is dropped when both sides have one, or one side has one and the other writes some number more often than this
    side (50 ... 50 against 50 ... 59). Numbers with fewer than `min_digits` digits need no match. A change of
    scale alone (100 -> 1000) is not caught: it reads like 2.5 Mio. against 2,500,000.

    Figures per WMT22 direction: benchmarks/number_check.py."""
    name = "numbers"

    def __init__(self, min_digits: int = 1, **kw):
        super().__init__(**kw)
        self.min_digits = min_digits

    def candidates(self):
        # both sides write digits, and not the same digit runs (sides that do have the same numbers)
        runs = lambda s: pl.col(s).str.extract_all(r"\d+").list.sort()
        return (pl.col("src").str.contains(DIGIT_LIKE) & pl.col("ref").str.contains(DIGIT_LIKE)
                & (runs("src") != runs("ref")))

    def reasons(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        if rows is None:
            rows = frame.select(self.candidates()).to_series()
        reason = pl.Series("reason", [None] * frame.height, dtype=pl.String)
        if not rows.any():
            return reason
        bad = self.mismatched(frame.filter(rows))
        return reason.scatter(rows.arg_true(), pl.select(drop_if(pl.lit(bad), "number_mismatch")).to_series())

    def mismatched(self, frame: pl.DataFrame) -> pl.Series:
        """Per row: do the sides' numbers disagree? Works on flat tables of (row, side, number) rather than
        per-row lists, so every step is one vectorised polars operation."""
        texts = pl.concat([frame.select(row=pl.int_range(pl.len(), dtype=pl.UInt32), side=pl.lit(s),
                                        text=pl.col(s).str.normalize("NFKC").str.replace_all(URL_PATTERN, " "))
                           for s in SIDES])
        found = lambda pattern: texts.select("row", "side", found=pl.col("text").str.extract_all(pattern)
                                             ).explode("found").drop_nulls("found")
        numbers = found(NUMBER_PATTERN).with_row_index("number").with_columns(digits=_digits(pl.col("found")))
        forms = numbers.select("number", "row", "side", form=pl.concat_list(
            _trimmed(pl.col("digits")), _value(pl.col("digits")), _clock(pl.col("found")),
            _hour12(pl.col("digits")), _century(pl.col("digits"), "19"), _century(pl.col("digits"), "20"),
        ).list.drop_nulls()).explode("form")
        runs = found(r"\d+")
        cjk = found(CJK_NUMERAL_PATTERN)
        values = cjk["found"].unique()
        values = cjk.select("row", "side", value=pl.col("found").replace_strict(
            values, [str(cjk_numeral_value(v)) for v in values], return_dtype=pl.String))
        # everything a side writes that may stand for a number of the other side
        written = pl.concat([
            forms.select("row", "side", "form"),
            runs.select("row", "side", form=_value(pl.col("found"))),
            runs.select("row", "side", form=_hour12(pl.col("found"))),
            found(TIME_PATTERN).select("row", "side", form=_clock(pl.col("found"))),
            values.select("row", "side", form=pl.lit("v") + pl.col("value")),
        ]).drop_nulls().unique().with_columns(side=pl.col("side").replace_strict({"src": "ref", "ref": "src"}))
        matched = forms.join(written, on=["row", "side", "form"], how="semi")["number"].unique()
        numbers = numbers.with_columns(number=_trimmed(pl.col("digits")), unmatched=pl.col("number").is_in(
            matched.implode()).not_() & (pl.col("digits").str.len_chars() >= self.min_digits))
        # how often each side writes each number, against the other side
        counts = numbers.group_by("row", "side", "number").agg(n=pl.len(), unmatched=pl.col("unmatched").any())
        other = counts.select("row", "number", n_other="n",
                              side=pl.col("side").replace_strict({"src": "ref", "ref": "src"}))
        per_side = counts.join(other, on=["row", "side", "number"], how="left").group_by("row", "side").agg(
            unmatched=pl.col("unmatched").any(), more=(pl.col("n") > pl.col("n_other").fill_null(pl.col("n"))).any())
        sides = {s: per_side.filter(pl.col("side") == s).select("row", pl.col("unmatched", "more").name.suffix(f"_{s}"))
                 for s in SIDES}
        table = (pl.DataFrame({"row": pl.int_range(frame.height, dtype=pl.UInt32, eager=True)})
                 .join(sides["src"], on="row", how="left").join(sides["ref"], on="row", how="left").fill_null(False)
                 .sort("row"))
        u_src, u_ref, m_src, m_ref = (pl.col(c) for c in ("unmatched_src", "unmatched_ref", "more_src", "more_ref"))
        return table.select((u_src & u_ref) | (u_ref & m_src) | (u_src & m_ref)).to_series()


def _digits(number: pl.Expr) -> pl.Expr:
    return number.str.replace_all(r"\D", "")


# Forms of a number. A form is a value ("v" + digits: 2500000) or significant digits ("t" + digits: 2.5 Mio. and
# 2,500,000 are both t25); the two kinds never match each other, so a 6 (周六, Saturday) does not stand for 60.
def _value(digits: pl.Expr) -> pl.Expr:
    """Without leading zeros: 007 = v7."""
    return pl.lit("v") + _significant(digits)


def _significant(digits: pl.Expr) -> pl.Expr:
    return pl.when(digits.str.contains(r"^0*$")).then(pl.lit("0")).otherwise(digits.str.strip_chars_start("0"))


def _trimmed(digits: pl.Expr) -> pl.Expr:
    """The significant digits, so that scale words and decimal separators do not matter: 2,500,000 = 2.5 = t25."""
    return pl.lit("t") + _significant(digits).str.strip_chars_end("0").replace("", "0")


def _hour12(digits: pl.Expr) -> pl.Expr:
    """An hour of the 24-hour clock as the 12-hour one writes it (19 -> v7, 0 -> v12); null for other numbers."""
    n = digits.cast(pl.Int64, strict=False)
    return pl.when((digits.str.len_chars() <= 2) & ((n == 0) | n.is_between(13, 23))).then(
        pl.lit("v") + ((n + 11) % 12 + 1).cast(pl.String))


def _clock(time: pl.Expr) -> pl.Expr:
    """A time (21.30, 21:30, 21h30) on the 12-hour clock: t93; null for other numbers."""
    parts = time.str.extract_groups(r"^(\d{1,2})[.:h](\d{2})$")
    hour = parts.struct.field("1").cast(pl.Int64, strict=False)
    return pl.when(hour <= 24).then(_trimmed(((hour + 11) % 12 + 1).cast(pl.String) + parts.struct.field("2")))


def _century(digits: pl.Expr, century: str) -> pl.Expr:
    """A two-digit year in a century ('80 -> 1980 = t198)."""
    return pl.when(digits.str.len_chars() == 2).then(_trimmed(pl.lit(century) + digits))


class Urls(PairCheck):
    """URLs and e-mail addresses must be carried over unchanged. Reason `url_mismatch`."""
    name = "urls"

    def expr(self):
        def urls(s):
            return _multiset(s, URL_PATTERN).list.eval(pl.element().str.strip_chars_end(".,;:!?)").str.to_lowercase())
        return drop_if(urls("src").list.sort() != urls("ref").list.sort(), "url_mismatch")

    def candidates(self):
        return either(lambda s: pl.col(s).str.contains(URL_PATTERN))


class Placeholders(PairCheck):
    """Format placeholders (%s, {0}, {{name}}, ${x}), markup tags and HTML entities must match as multisets.
    Reason `placeholder_mismatch`."""
    name = "placeholders"

    def expr(self):
        return drop_if(_multiset("src", PLACEHOLDER_PATTERN, r"\s") != _multiset("ref", PLACEHOLDER_PATTERN, r"\s"),
                       "placeholder_mismatch")

    def candidates(self):
        return either(lambda s: pl.col(s).str.contains(PLACEHOLDER_PATTERN))


class Language(PairCheck):
    """Each side in its declared language (script checks, fasttext lid.176, langdetect on short doubtful text: see
    langid.py).
    Reasons: `swapped` when the source reads as the target language and the reference as the source language,
    `lang_mismatch` when either side is in the wrong language."""
    name = "language"
    expensive = True

    def __init__(self, short_chars: int = 25, min_letters: int = 10, max_chars: int = 120, **kw):
        super().__init__(**kw)
        self.identifier = LanguageIdentifier(short_chars=short_chars, min_letters=min_letters, max_chars=max_chars)

    def reasons(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        n = frame.height
        known = frame.select((pl.col("src_lang") != "") & (pl.col("tgt_lang") != "")).to_series()
        agrees = self.identifier.agreement(pl.concat([frame["src"], frame["ref"]]),
                                           pl.concat([frame["src_lang"], frame["tgt_lang"]]))
        bad = known & (agrees.head(n) & agrees.tail(n)).not_()
        reason = pl.select(drop_if(pl.lit(bad), "lang_mismatch")).to_series().alias("reason")
        if not bad.any():
            return reason
        wrong = frame.filter(bad)  # swapped: each side reads as the other side's language
        crossed = self.identifier.agreement(pl.concat([wrong["src"], wrong["ref"]]),
                                            pl.concat([wrong["tgt_lang"], wrong["src_lang"]]))
        m = wrong.height
        swapped = crossed.head(m) & crossed.tail(m) & (wrong["src_lang"] != wrong["tgt_lang"])
        return reason.scatter(bad.arg_true(), pl.select(
            pl.when(pl.lit(swapped)).then(pl.lit("swapped")).otherwise(pl.lit("lang_mismatch"))).to_series())


class PairFilters(PairCheck):
    """Several pair checks as one step; the first failing check (in the given order, expensive ones last) names
    the reason."""
    name = "pair_filters"

    def __init__(self, checks: list[PairCheck], **kw):
        self.checks = checks
        super().__init__(**kw)

    def reasons(self, frame: pl.DataFrame, rows: pl.Series | None = None) -> pl.Series:
        cheap = [c for c in self.checks if not c.expensive]
        # the reasons of plain checks and the candidate rows of the others
        fused = {i: c.expr() if c.candidates() is None else c.candidates() for i, c in enumerate(cheap)
                 if c.candidates() is not None or c.expr() is not None}
        # one lazy select: polars computes subexpressions the checks share (word counts, letters) once
        columns = (frame.lazy().select(e.alias(str(i)) for i, e in fused.items()).collect() if fused
                   else pl.DataFrame())
        found = [columns[str(i)] if i in fused and c.candidates() is None
                 else c.reasons(frame, columns[str(i)] if i in fused else None) for i, c in enumerate(cheap)]
        reason = (pl.select(pl.coalesce(found)).to_series().alias("reason") if found
                  else pl.Series("reason", [None] * frame.height, dtype=pl.String))
        for check in (c for c in self.checks if c.expensive):
            todo = reason.is_null()
            if not todo.any():
                break
            reason = reason.scatter(todo.arg_true(), check.reasons(frame.filter(todo)))
        return reason

    def __repr__(self):
        return f"PairFilters({', '.join(c.name for c in self.checks)})"


PAIR_CHECKS: dict[str, type[PairCheck]] = {c.name: c for c in (
    EmptySide, Length, LengthRatio, CopiedSource, NonText, Repetition, Mojibake, Numbers, Urls, Placeholders,
    Language)}
DEFAULT_PAIR_CHECKS = ["empty", "length", "non_text", "mojibake", "copied_source", "repetition", "length_ratio",
                       "numbers", "urls", "placeholders", "language"]
