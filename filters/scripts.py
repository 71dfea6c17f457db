"""Source text left in an answer: a weak teacher's English answer keeps Chinese words (眼球, 捷信), its Chinese answer
keeps English phrases or adds pinyin. Checked on every assistant turn that has a language to be in (not `explain`):

- `source_script`: letters of a script the turn's language is not written in (Han, kana or Hangul in English, Cyrillic
  in German, kana in Chinese...), by Unicode script; a script that the turn's anchor text uses too is allowed (an
  English reference quoting a Chinese name).
- `source_words`: in a turn written in Chinese, Japanese or Korean, a run of 3+ Latin-script words, not all
  capitalised, that its anchor text does not hold (untranslated English, pinyin) nor the user quoted in a follow-up
  request (「"machine learning model"を使って」: in any language's quotation marks); in a turn in another language, a
  run of 3+ words of the source (3+ letters each) that the reference does not hold either. The allowance for names in
  Latin-script pairs: words capitalised in the source or shared by source and reference neither count nor break a
  run. A third-language answer is checked against the answer it translates, less its capitalised words.
  Back-translations are in the source language and skip it.

The anchor is the reference for target-language turns and the source for back-translations; a third-language answer
has none for scripts, and the source and reference for Latin words. Reasons: `turn{N}_source_script`,
`turn{N}_source_words`.
"""

from __future__ import annotations

import re

import hanzidentifier
import polars as pl

from .text import quoted
from .turns import DialogueFilter, turn_frame, verdicts

SCRIPTS = {"han": r"\p{Han}", "kana": r"\p{Hiragana}\p{Katakana}", "hangul": r"\p{Hangul}",
           "cyrillic": r"\p{Cyrillic}", "greek": r"\p{Greek}", "arabic": r"\p{Arabic}", "hebrew": r"\p{Hebrew}",
           "thai": r"\p{Thai}", "devanagari": r"\p{Devanagari}"}
# The scripts (besides Latin) each language is written in; languages not listed are written in Latin script only.
LANGUAGE_SCRIPTS = {"zh": {"han"}, "yue": {"han"}, "ja": {"han", "kana"}, "ko": {"hangul", "han"},
                    "ru": {"cyrillic"}, "uk": {"cyrillic"}, "be": {"cyrillic"}, "bg": {"cyrillic"}, "sr": {"cyrillic"},
                    "mk": {"cyrillic"}, "kk": {"cyrillic"}, "el": {"greek"}, "ar": {"arabic"}, "fa": {"arabic"},
                    "ur": {"arabic"}, "he": {"hebrew"}, "th": {"thai"}, "hi": {"devanagari"}, "mr": {"devanagari"},
                    "ne": {"devanagari"}}
UNSPACED_SCRIPT_LANGS = ["zh", "yue", "ja", "ko"]
# Letter runs of scripts written without spaces count from one letter; alphabets from two (a stray symbol is not text).
_ONE_LETTER = {"han", "kana", "hangul", "thai"}
_LATIN_RUN = r"\p{Latin}+(?:[\s'’-]+\p{Latin}+){2,}"
_LETTERS = re.compile(r"[^\W\d_]{3,}")  # words of 3+ letters, as `\p{L}{3,}` reads them


def foreign_pattern(lang: str) -> str:
    """Letters of the scripts `lang` is not written in, as one regex (Latin is never foreign here)."""
    own = LANGUAGE_SCRIPTS.get(lang, set())
    one = "".join(SCRIPTS[s] for s in SCRIPTS if s not in own and s in _ONE_LETTER)
    two = "".join(SCRIPTS[s] for s in SCRIPTS if s not in own and s not in _ONE_LETTER)
    return "|".join(p for p in (one and f"[{one}]", two and f"[{two}]{{2,}}") if p)


def class_pattern(lang: str) -> str:
    """Any one letter of the scripts `lang` is not written in: does the anchor use them too?"""
    own = LANGUAGE_SCRIPTS.get(lang, set())
    return "[" + "".join(SCRIPTS[s] for s in SCRIPTS if s not in own) + "]"


def is_name(run: str) -> bool:
    """Every word capitalised: a name or a title ("Optimals Hydra Radiance"), not untranslated text."""
    return all(w[:1].isupper() for w in run.replace("-", " ").split())


def word_runs(answer: list[str], leftover: set[str], names: set[str], n: int = 3) -> bool:
    """`n` or more consecutive words of the answer in `leftover`; names neither count nor break a run."""
    run = 0
    for w in answer:
        if w in names:
            continue
        run = run + 1 if w in leftover else 0
        if run >= n:
            return True
    return False


# Language tags that name a Chinese script: zh-Hant, zh-TW, zh-HK and zh-MO are written in Traditional characters.
_TRADITIONAL_TAG = re.compile(r"(?i)^(?:zh|yue)[-_](?:.*\b)?(?:hant|tw|hk|mo)\b")
_SIMPLIFIED_TAG = re.compile(r"(?i)^(?:zh|yue)[-_](?:.*\b)?(?:hans|cn|sg)\b")


def chinese_variant(text: str) -> str | None:
    """`simplified` or `traditional` when the text's Han characters are all of one variant's (characters both share
    decide nothing), `mixed` when it holds characters of both, else None."""
    kind = hanzidentifier.identify(text)
    return {hanzidentifier.SIMPLIFIED: "simplified", hanzidentifier.TRADITIONAL: "traditional",
            hanzidentifier.MIXED: "mixed"}.get(kind)


def tag_variant(tag: str) -> str | None:
    """The Chinese variant a language tag names (zh-TW, zh-Hant: traditional; zh-CN, zh-Hans: simplified), else None."""
    if _TRADITIONAL_TAG.match(tag or ""):
        return "traditional"
    if _SIMPLIFIED_TAG.match(tag or ""):
        return "simplified"
    return None


def wrong_variant(answer: str, tag: str, anchor: str) -> bool:
    """A Chinese answer in the other variant than the one its tag names, else the one its anchor text (the
    reference, or the source for a back-translation) is written in; or mixing both where the anchor does not
    ("確膠素對軟骨的彈性" where the pair is in Simplified characters)."""
    anchor_variant = chinese_variant(anchor) if anchor else None
    expected = tag_variant(tag) or (anchor_variant if anchor_variant != "mixed" else None)
    found = chinese_variant(answer)
    return expected is not None and found not in (None, expected) and not (
        found == "mixed" and anchor_variant == "mixed")


class SourceScript(DialogueFilter):
    """Source-language text left in an answer, by script and by runs of source words (see the module docstring)."""
    name = "source_script"

    def __init__(self, min_run_words: int = 3, **kw):
        super().__init__(batch_size=kw.pop("batch_size", 512), **kw)
        self.min_run_words = min_run_words

    def filter_batch(self, batch):
        frame = turn_frame(batch).filter(pl.col("lang").is_not_null())
        if frame.is_empty():
            return [True] * len(batch)
        kind, lang = pl.col("kind"), pl.col("lang")
        langs = frame["lang"].unique().to_list()
        # script allowance: none for a third language (its answer has no text of its own to compare with)
        script_anchor = (pl.when(kind == "back_translation").then(pl.col("source"))
                         .when(kind == "third_language").then(pl.lit(""))
                         .otherwise(pl.col("reference")))
        # Latin words allowed in a CJK-language turn: names and titles its pair's texts hold
        anchor = (pl.when(kind == "back_translation").then(pl.col("source"))
                  .when(kind == "third_language").then(pl.col("reference") + "\n" + pl.col("source"))
                  .otherwise(pl.col("reference")))
        foreign = lang.replace_strict({l: foreign_pattern(l) for l in langs}, return_dtype=pl.String)
        script_class = lang.replace_strict({l: class_pattern(l) for l in langs}, return_dtype=pl.String)
        frame = frame.with_columns(
            anchor=anchor,
            script=pl.col("answer").str.contains(foreign) & script_anchor.str.contains(script_class).not_(),
            latin_runs=pl.when(lang.is_in(UNSPACED_SCRIPT_LANGS)).then(pl.col("answer").str.extract_all(_LATIN_RUN)),
            answer_words=pl.col("answer").str.to_lowercase().str.extract_all(r"\p{L}{3,}"),
            source_words=pl.col("source").str.to_lowercase().str.extract_all(r"\p{L}{3,}"),
            reference_words=pl.col("reference").str.to_lowercase().str.extract_all(r"\p{L}{3,}"),
            previous_words=pl.col("previous").fill_null("").str.to_lowercase().str.extract_all(r"\p{L}{3,}"),
            previous_names=pl.col("previous").fill_null("").str.extract_all(r"\p{Lu}\p{L}{2,}"),
            source_names=pl.col("source").str.extract_all(r"\p{Lu}\p{L}{2,}"),
        )
        reasons = []
        for row in frame.iter_rows(named=True):
            if row["script"]:
                reasons.append("source_script")
            elif self._source_words(row):
                reasons.append("source_words")
            else:
                reasons.append(None)
        return verdicts(frame, pl.Series(reasons, dtype=pl.String), len(batch))

    def filter(self, doc):
        return self.filter_batch([doc])[0]

    def _source_words(self, row: dict) -> bool:
        if row["kind"] == "back_translation":
            return False
        # what the user quoted in a follow-up request is theirs (the first request quotes the whole source)
        asked = " ".join(quoted(row["request"])).lower() if row["kind"] is not None else ""
        if row["latin_runs"] is not None:  # a CJK-language turn: Latin text its anchor does not hold
            anchor = row["anchor"].casefold()
            return any(run.casefold() not in anchor and run.lower() not in asked and not is_name(run)
                       for run in row["latin_runs"])
        if row["kind"] == "third_language":  # words of the answer it translates, less capitalised ones (names)
            names = {w.lower() for w in row["previous_names"]}
            leftover = set(row["previous_words"]) - names
        else:  # names: capitalised in the source, or in both the source and the reference
            names = (set(row["source_words"]) & set(row["reference_words"])) | {w.lower() for w in row["source_names"]}
            leftover = set(row["source_words"]) - names
        if row["kind"] is not None:  # words the user quoted (the first request quotes the whole source)
            leftover -= set(row["request"].lower().split()) | set(_LETTERS.findall(asked))
        return word_runs(row["answer_words"], leftover, names, self.min_run_words)
