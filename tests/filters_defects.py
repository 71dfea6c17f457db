"""Real WMT22 pairs with planted defects: one function per defect kind, each returning the damaged (src, ref) or
None when the pair does not lend itself to that defect."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

from datatrove.data import Document

DIRECTIONS = ["deen", "ende", "zhen", "enzh", "jaen", "enja", "ruen", "csen", "defr", "frde", "uken"]


def load_wmt22(root: Path, directions=DIRECTIONS) -> list[tuple[str, str, str, str]]:
    """(src_lang, tgt_lang, src, ref) for every non-empty line pair."""
    out = []
    for d in directions:
        src = (root / f"{d}.src").read_text(encoding="utf-8").splitlines()
        ref = (root / f"{d}.ref").read_text(encoding="utf-8").splitlines()
        out += [(d[:2], d[2:], s, r) for s, r in zip(src, ref) if s.strip() and r.strip()]
    return out


def doc(sl: str, tl: str, src: str, ref: str, i: int = 0) -> Document:
    return Document(text=src, id=f"{sl}{tl}-{i}", metadata={"src_lang": sl, "tgt_lang": tl, "reference_text": ref})


_WORDS_OF = {"en": "The committee will publish its final report on the economic situation next week in Geneva.",
             "de": "Der Ausschuss wird seinen Abschlussbericht über die wirtschaftliche Lage nächste Woche vorlegen.",
             "fr": "Le comité publiera la semaine prochaine son rapport final sur la situation économique à Genève."}


def empty(sl, tl, src, ref, pool):
    return src, "  "


def too_long(sl, tl, src, ref, pool):
    others = [r for (a, b, _, r) in pool if b == tl][:60]
    return src, " ".join(others)


def length_ratio(sl, tl, src, ref, pool):
    words = ref.split()
    if tl in ("zh", "ja") or len(src.split()) < 15 or len(words) < 12:
        return None
    return src, " ".join(words[:2])


def copied_source(sl, tl, src, ref, pool):
    return src, src.upper().rstrip(".!?") + " !"


def no_letters(sl, tl, src, ref, pool):
    return src, "12.5 % — 3/4 ### 2021-01-05 (+44) 20 7946 0958"


def repeated_words(sl, tl, src, ref, pool):
    if tl in ("zh", "ja"):
        return src, ref + "哈" * 8
    last = re.findall(r"\w+", ref)[-1]
    return src, ref + (" " + last) * 5


def runaway(sl, tl, src, ref, pool):
    head = ref[:6] if tl in ("zh", "ja") else " ".join(ref.split()[:3])
    return src, ref + (" " + head) * 12


def mojibake(sl, tl, src, ref, pool):
    if ref.isascii():
        ref = ref.replace(" ", " – ", 1)  # an en dash turns into "â€“"
    return src, ref.encode("utf-8").decode("cp1252", errors="replace")


def number_mismatch(sl, tl, src, ref, pool):
    altered = altered_number(src, ref, random.Random(ref), min_digits=2)
    return None if altered is None else (src, altered)


def altered_number(src: str, ref: str, rng: random.Random, min_digits: int = 1) -> str | None:
    """`ref` with one of its numbers that the source also writes in digits (any script of digits) changed in one
    digit, so that it no longer matches the source; None when the pair has no such number."""
    in_src = {int(unicodedata.normalize("NFKC", n)) for n in re.findall(r"\d+", src)}
    shared = [m for m in re.finditer(r"\d+", ref)
              if len(m.group()) >= min_digits and int(unicodedata.normalize("NFKC", m.group())) in in_src]
    for m in rng.sample(shared, len(shared)):
        number = m.group()
        for i in rng.sample(range(len(number)), len(number)):
            digit = unicodedata.digit(number[i])
            for new in rng.sample(range(10), 10):
                if new == digit or (i == 0 and new == 0 and len(number) > 1):
                    continue
                changed = number[:i] + chr(ord(number[i]) - digit + new) + number[i + 1:]  # same script of digits
                if int(unicodedata.normalize("NFKC", changed)) not in in_src:
                    return ref[:m.start()] + changed + ref[m.end():]
    return None


def url_mismatch(sl, tl, src, ref, pool):
    return src + " https://example.org/docs/page-17", ref


def placeholder_mismatch(sl, tl, src, ref, pool):
    return "<b>" + src + "</b> {0}", ref


def wrong_language(sl, tl, src, ref, pool):
    other = next(l for l in ("fr", "de", "en") if l not in (sl, tl))
    return src, _WORDS_OF[other]


def swapped(sl, tl, src, ref, pool):
    if len(src) < 40 or len(ref) < 40:
        return None
    return ref, src


# defect -> (function, the reason the default pair filters must give)
DEFECTS = {
    "empty": (empty, "empty"), "too_long": (too_long, "too_long"), "length_ratio": (length_ratio, "length_ratio"),
    "copied_source": (copied_source, "copied_source"), "no_letters": (no_letters, "no_letters"),
    "repeated_words": (repeated_words, "repetition"), "runaway": (runaway, "repetition"),
    "mojibake": (mojibake, "bad_encoding"), "number_mismatch": (number_mismatch, "number_mismatch"),
    "url_mismatch": (url_mismatch, "url_mismatch"), "placeholder_mismatch": (placeholder_mismatch, "placeholder_mismatch"),
    "wrong_language": (wrong_language, "lang_mismatch"), "swapped": (swapped, "swapped"),
}


def planted(pairs, defect: str, n: int = 40, seed: int = 0) -> list[Document]:
    fn, _ = DEFECTS[defect]
    rng = random.Random(seed)
    out = []
    for sl, tl, src, ref in rng.sample(pairs, len(pairs)):
        damaged = fn(sl, tl, src, ref, pairs)
        if damaged is not None:
            out.append(doc(sl, tl, *damaged, i=len(out)))
        if len(out) == n:
            break
    return out
