"""Text normalisation and the small per-language facts curation needs (which languages are written without spaces)."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# Languages written without spaces between words: lengths are counted in characters, n-grams are character n-grams.
CJK_LANGS = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu"})
# Characters per English-equivalent word in those languages (used to compare lengths across a pair). Japanese: on
# WMT22 en-ja, 2.6 puts a reference at 1.08 x its English source's words (the median), as 1.6 puts Chinese at 1.09.
CHARS_PER_WORD = {"zh": 1.6, "ja": 2.6, "yue": 1.6, "wuu": 1.6, "th": 5.0, "lo": 5.0, "km": 5.0, "my": 5.0, "bo": 4.0}

_PUNCT_OR_SPACE = re.compile(r"[\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")

# Regular-expression fragments shared by the polars checks (Rust regex syntax; also valid for Python `re`).
CJK_CHAR = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]"
URL_PATTERN = r"(?i)(?:https?://|www\.)[!#-;=?-~]+|[A-Za-z0-9.+_-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.]+"
# Printf/format placeholders, template variables and markup tags or entities that a translation must carry over.
PLACEHOLDER_PATTERN = r"%(?:\d+\$)?[sd]\b|%\(\w+\)[sd]|\{\{?\s*\w*\s*\}\}?|\$\{\w+\}|</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>|&#?\w+;"
# UTF-8 read as cp1252/latin-1 ("Ã©", "â€™", "Ã¤"), the replacement character and C1 controls.
MOJIBAKE_PATTERN = r"[ÃÂ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122¡-¿]|â€[\x80-\xbf\u0153\u2122\u201c\u201d\u02dc\u0161\u201e\u00a6]|\ufffd|[\x80-\x9f]|ï»¿"
# Every character whose NFKC form holds a digit (full-width, superscript, circled, squared CJK dates...): text
# without one has no numbers for the numbers check (tests/test_filters_pairs.py checks this over all of Unicode).
DIGIT_LIKE = r"[\d\p{No}\u3200-\u33ff\U0001F100-\U0001F1FF]"
# A number as written: digit groups (1,000 / 1.000 / 1 000), a decimal part (3,5 / 3.5), and CJK myriads between
# digits (2万4801, 2億8,600万), so that each reads as one number.
NUMBER_PATTERN = r"\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?(?:[万萬億亿]\d+(?:[.,]\d+)?)*"
# Clock times written with a colon or an h (9:30, 18h30); "21.30" is read by NUMBER_PATTERN.
TIME_PATTERN = r"\b\d{1,2}[:h]\d{2}\b"
# Numbers written in Chinese or Japanese numerals (三十, 二〇二二, 十四, 两千).
CJK_NUMERAL_PATTERN = r"[〇零一二两兩三四五六七八九十百千万萬亿億]+"
_CJK_DIGITS = {c: d for d, cs in enumerate(["〇零", "一", "二两兩", "三", "四", "五", "六", "七", "八", "九"]) for c in cs}
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_MYRIADS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

# Material a text quotes: between the quotation marks of any language ("", “”, „“, «», 「」, 『』, ‘’) and JSON objects.
# Straight single quotes are left alone: they are apostrophes too (s'il, l'anglais).
QUOTED_PATTERN = r'"[^"\n]*"|“[^”\n]*”|„[^“”\n]*[“”]|«[^»\n]*»|「[^」\n]*」|『[^』\n]*』|‘[^’\n]*’|\{[^{}\n]*\}'
_QUOTED = re.compile(QUOTED_PATTERN)


def nonspace_count(text: pl.Expr) -> pl.Expr:
    """Characters other than whitespace, per text: spaces counted as a literal, other whitespace (rare) by regex,
    since regex counting costs per match."""
    return text.str.len_chars() - text.str.count_matches(" ", literal=True) - text.str.count_matches(r"[^\S ]")


def nonletter_count(text: pl.Expr) -> pl.Expr:
    """Characters other than letters and whitespace, per text."""
    return text.str.count_matches(r"[^\p{L}\s]")


def letter_count(text: pl.Expr) -> pl.Expr:
    """Letters (\\p{L}) per text, counted the cheap way round: every character is whitespace, a letter or something
    else, and the other two are rarer than letters (regex counting costs per match)."""
    return nonspace_count(text) - nonletter_count(text)


def normalize(text: str) -> str:
    """Canonical form for comparisons and exact dedupe: NFKC, case-folded, punctuation and spacing removed."""
    return _PUNCT_OR_SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def unquoted(text: str, *quoted: str) -> str:
    """The text less the given strings (the source sentence a request carries) and less any quoted material: what
    its writer wrote in their own language."""
    for q in quoted:
        if q:
            text = text.replace(q, " ")
    return _QUOTED.sub(" ", text)


def quoted(text: str) -> list[str]:
    """The quoted material of a text, less the quotation marks."""
    return [q[1:-1] for q in _QUOTED.findall(text)]


def base_lang(code: str) -> str:
    """'zh-cn' / 'zh_Hans' / '__label__zh' -> 'zh'."""
    return code.removeprefix("__label__").replace("_", "-").split("-")[0].lower()


def is_cjk(lang: str) -> bool:
    return base_lang(lang) in CJK_LANGS


def word_count(text: str, lang: str) -> float:
    """Length in English-equivalent words: whitespace tokens, or characters / CHARS_PER_WORD for unspaced scripts."""
    lang = base_lang(lang)
    if lang in CJK_LANGS:
        return len(_SPACES.sub("", text)) / CHARS_PER_WORD.get(lang, 1.6)
    return float(len(text.split()))


def shingles(text: str, lang: str, n: int | None = None) -> set[str]:
    """Word n-grams (n=2) for spaced languages, character n-grams (n=3) for unspaced ones, over `normalize(text)`.

    Texts shorter than n units give one shingle (the whole text), so even one-word items can be compared."""
    norm = normalize(text)
    if is_cjk(lang):
        units: list[str] | str = norm.replace(" ", "")
        n = n or 3
        if len(units) <= n:
            return {units} if units else set()
        return {units[i:i + n] for i in range(len(units) - n + 1)}
    units = norm.split()
    n = n or 2
    if len(units) <= n:
        return {" ".join(units)} if units else set()
    return {" ".join(units[i:i + n]) for i in range(len(units) - n + 1)}


def cjk_numeral_value(text: str) -> int:
    """The value of a number in Chinese/Japanese numerals: 三十 = 30, 两千五百 = 2500, 二〇二二 = 2022 (digit by
    digit when there are no units), 十四 = 14, 三万 = 30000."""
    if not any(c in _CJK_UNITS or c in _CJK_MYRIADS for c in text):
        return int("".join(str(_CJK_DIGITS[c]) for c in text))
    total = section = digit = last_myriad = 0
    for c in text:
        if c in _CJK_DIGITS:
            digit = _CJK_DIGITS[c]
        elif c in _CJK_UNITS:
            section += (digit or 1) * _CJK_UNITS[c]
            digit = 0
        else:
            myriad = _CJK_MYRIADS[c]
            if total and myriad > last_myriad:  # 一万亿: the 亿 multiplies the 万 before it
                total = (total + section + digit) * myriad
            else:
                total += (section + digit or 1) * myriad
            section = digit = 0
            last_myriad = myriad
    return total + section + digit


def word_count_expr(text: pl.Expr, lang: pl.Expr) -> pl.Expr:
    """`word_count` over columns, decided by script rather than by the declared language (a Chinese answer where
    English was asked for is measured right): runs of other text count one word each, characters of unspaced
    scripts 1 / CHARS_PER_WORD of `lang` (1.6 when `lang` is not an unspaced language)."""
    per_word = lang.replace_strict(CHARS_PER_WORD, default=1.6, return_dtype=pl.Float64)
    # the katakana length mark (ー, of the Common script) is part of the word it lengthens
    unspaced = text.str.count_matches(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}ー]")
    words = text.str.count_matches(r"[^\s\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}ー]+")
    return words.cast(pl.Float64) + unspaced / per_word
