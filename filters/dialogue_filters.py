"""Dialogue filters: structure, refusals and meta-talk, the language of every assistant turn, revision compliance
and the faithfulness of the first translation to the reference; filters/rewrite.py (is each answer a translation at
all?) and filters/scripts.py (source text left in an answer) check the rest.

A dialogue is a Document whose metadata holds `messages` (see redraft/types.py). Inputs that are not redraft's own
(any `messages` dataset) may lack languages, revisions or a reference: the checks that need them then pass. Reasons
of the turn-level checks name the first failing assistant turn (1 = the first translation): `turn2_meta_talk`.
"""

from __future__ import annotations

import re

import polars as pl
from datatrove.data import Document

from .compliance import MIXED_LANGUAGE, OTHER_LANGUAGE, check_revision, format_content, parse_args
from .langid import LanguageIdentifier
from .phrases import META_TALK, REFUSAL
from .rewrite import REWRITES
from .scripts import wrong_variant
from .text import CJK_LANGS, base_lang, word_count
from .turns import UNKNOWN_LANGS, DialogueFilter, turn_frame, verdicts

__all__ = ["UNKNOWN_LANGS", "DialogueFilter", "answers", "turns", "revisions"]


def turns(doc: Document) -> list[dict]:
    return list(doc.metadata.get("messages") or [])


def answers(doc: Document) -> list[str]:
    return [t.get("content") or "" for t in turns(doc) if t.get("role") == "assistant"]


def revisions(doc: Document) -> list[tuple[str, dict]]:
    kinds = list(doc.metadata.get("revisions") or [])
    raw = list(doc.metadata.get("revision_args") or [])
    return [(kind, parse_args(raw[i] if i < len(raw) else None)) for i, kind in enumerate(kinds)]


class Structure(DialogueFilter):
    """Roles alternate user/assistant after an optional leading system turn, the first is the user's and the last
    the assistant's, no turn is empty, and there is one follow-up request per recorded revision.
    Reason `bad_structure`."""
    name = "structure"

    def filter(self, doc):
        msgs = turns(doc)
        if msgs and msgs[0].get("role") == "system":
            msgs = msgs[1:]
        roles = [t.get("role") for t in msgs]
        ok = (len(roles) >= 2 and len(roles) % 2 == 0
              and roles == ["user", "assistant"] * (len(roles) // 2)
              and all(isinstance(t.get("content"), str) and t["content"].strip() for t in msgs))
        kinds = doc.metadata.get("revisions")
        if ok and kinds:
            raw = doc.metadata.get("revision_args") or []
            ok = len(roles) // 2 == 1 + len(kinds) and (not raw or len(raw) == len(kinds))
        return True if ok else (False, "bad_structure")


def matches_any(text: pl.Expr, patterns: list[str], *exempt: pl.Expr) -> pl.Expr:
    """Does the lower-cased text match one of the patterns that none of the `exempt` texts matches?"""
    hits = [text.str.contains(p) & pl.all_horizontal([e.str.contains(p).not_() for e in exempt])
            for p in patterns]
    return pl.any_horizontal(hits) if hits else pl.lit(False)


def own_phrase(patterns: list[str], *texts: pl.Expr) -> pl.Expr:
    """Do the pair's texts say such a thing themselves, in any of the patterns' languages? What a third-language answer
    is exempted by: it cannot match the source and reference pattern by pattern ("Надеюсь, это поможет!" for "Hope
    this helps!")."""
    return pl.any_horizontal([t.str.contains(p) for p in patterns for t in texts]) if patterns else pl.lit(False)


class Refusal(DialogueFilter):
    """An assistant turn that refuses (reason `turn{N}_refusal`) or talks about itself or the task around or instead
    of the translation, stated target language included ("The Spanish translation is:"; reason `turn{N}_meta_talk`),
    in every language redraft writes requests or answers in (patterns in filters/phrases.py). A pattern the pair's
    source or reference matches too is the sentence's own ("I can't wait any longer") and does not count; in a
    third-language answer, any pattern of the list the source or reference matches exempts the list. Answers to
    `explain` and `format` requests may talk about the translation and are only checked for refusals."""
    name = "refusal"

    def __init__(self, refusals: list[str] | None = None, meta_talk: list[str] | None = None, **kw):
        super().__init__(batch_size=kw.pop("batch_size", 512), **kw)
        self.refusals = [p.lower() for p in refusals] if refusals is not None else REFUSAL
        self.meta_talk = [p.lower() for p in meta_talk] if meta_talk is not None else META_TALK

    def filter_batch(self, batch):
        frame = turn_frame(batch)
        if frame.is_empty():
            return [True] * len(batch)
        text, src, ref = (pl.col(c).str.to_lowercase().str.replace_all("’", "'", literal=True)
                          for c in ("answer", "source", "reference"))
        talks = pl.col("kind").is_in(["explain", "format"]).fill_null(False).not_()
        third = (pl.col("kind") == "third_language").fill_null(False)
        refuses = matches_any(text, self.refusals, src, ref) & (third & own_phrase(self.refusals, src, ref)).not_()
        meta = matches_any(text, self.meta_talk, src, ref) & (third & own_phrase(self.meta_talk, src, ref)).not_()
        reason = frame.select(
            pl.when(refuses).then(pl.lit("refusal"))
            .when(talks & meta).then(pl.lit("meta_talk"))
            .otherwise(pl.lit(None, dtype=pl.String))).to_series()
        return verdicts(frame, reason, len(batch))

    def filter(self, doc):
        return self.filter_batch([doc])[0]


class TurnLanguage(DialogueFilter):
    """Every assistant turn is in the language asked for: the target language, or the language a
    `third_language` / `back_translation` request names (answers to `explain` are not checked), and Chinese in the
    pair's script variant: Simplified or Traditional as its language tag says (zh-TW, zh-Hans), else as the reference
    (the source, for a back-translation) is written. An answer to a `format` request is judged on what it says, not
    the format: a JSON answer's string values, not its keys. One wrong turn drops the dialogue. Reasons
    `turn{N}_lang_mismatch`, `turn{N}_script_variant`."""
    name = "turn_language"

    def __init__(self, short_chars: int = 25, min_letters: int = 10, max_chars: int = 300, **kw):
        super().__init__(batch_size=kw.pop("batch_size", 512), **kw)
        self.identifier = LanguageIdentifier(short_chars=short_chars, min_letters=min_letters, max_chars=max_chars)

    def filter_batch(self, batch):
        mixed = pl.col("kind").is_in(list(MIXED_LANGUAGE)).fill_null(False)
        frame = turn_frame(batch).filter(pl.col("lang").is_not_null() & mixed.not_())
        if frame.is_empty():
            return [True] * len(batch)
        said = [format_content(fmt, answer) if kind == "format" else answer
                for kind, fmt, answer in frame.select("kind", "format", "answer").iter_rows()]
        agrees = self.identifier.agreement(pl.Series(said, dtype=pl.String), frame["lang"])
        reason = [None if ok else "lang_mismatch" for ok in agrees]
        for i, row in enumerate(frame.iter_rows(named=True)):
            if reason[i] is None and row["lang"] in ("zh", "yue") and self._wrong_variant(row, batch[row["doc"]]):
                reason[i] = "script_variant"
        return verdicts(frame, pl.Series(reason, dtype=pl.String), len(batch))

    @staticmethod
    def _wrong_variant(row: dict, doc: Document) -> bool:
        """Chinese in the other script variant than the pair's side it is written in: its tag, else its text."""
        meta = doc.metadata
        if row["lang"] == row["tgt_lang"] and row["kind"] != "back_translation":
            return wrong_variant(row["answer"], meta.get("tgt_lang") or "", row["reference"])
        if row["lang"] == row["src_lang"]:
            return wrong_variant(row["answer"], meta.get("src_lang") or "", row["source"])
        return False  # a third language: no text of the pair shows which variant

    def filter(self, doc):
        return self.filter_batch([doc])[0]


class Compliance(DialogueFilter):
    """Each follow-up answer did what its request asked, for the kinds that can be checked (include/avoid a word,
    error correction, explain the word, shorten to a limit, list/JSON/quoted format), and actually changed the text
    for rewrites. Reasons `turn{N}_revision_ignored`, `turn{N}_revision_unchanged`."""
    name = "compliance"

    def filter(self, doc):
        texts = answers(doc)
        lang = doc.metadata.get("tgt_lang") or ""
        for i, (kind, args) in enumerate(revisions(doc)):
            if i + 1 >= len(texts):
                break
            reason = check_revision(kind, args, texts[i], texts[i + 1], lang)
            if reason:
                return False, f"turn{i + 2}_{reason}"
        return True


# Number words by the power of ten they stand for, per language, after a digit ("1.77 trillion", "1,77 万亿").
MAGNITUDES = {
    "en": {"thousand": 3, "million": 6, "billion": 9, "trillion": 12},
    "de": {"tausend": 3, "million": 6, "millionen": 6, "mio": 6, "milliarde": 9, "milliarden": 9, "mrd": 9,
           "billion": 12, "billionen": 12},
    "fr": {"mille": 3, "million": 6, "millions": 6, "milliard": 9, "milliards": 9, "billion": 12, "billions": 12},
    "es": {"mil": 3, "millón": 6, "millones": 6, "billón": 12, "billones": 12},
    "it": {"mila": 3, "milione": 6, "milioni": 6, "miliardo": 9, "miliardi": 9},
    "pt": {"mil": 3, "milhão": 6, "milhões": 6, "bilhão": 9, "bilhões": 9, "trilhão": 12, "trilhões": 12},
    "ru": {"тыс": 3, "тысяча": 3, "тысячи": 3, "тысяч": 3, "млн": 6, "миллион": 6, "миллиона": 6, "миллионов": 6,
           "млрд": 9, "миллиард": 9, "миллиарда": 9, "миллиардов": 9, "трлн": 12, "триллион": 12, "триллиона": 12,
           "триллионов": 12},
    "uk": {"тис": 3, "тисяча": 3, "тисячі": 3, "тисяч": 3, "млн": 6, "мільйон": 6, "мільйона": 6, "мільйони": 6,
           "мільйонів": 6, "млрд": 9, "мільярд": 9, "мільярда": 9, "мільярди": 9, "мільярдів": 9, "трлн": 12,
           "трильйон": 12, "трильйона": 12, "трильйони": 12, "трильйонів": 12},
    "cs": {"tis": 3, "tisíc": 3, "tisíce": 3, "mil": 6, "milion": 6, "miliony": 6, "milionů": 6, "mld": 9,
           "miliarda": 9, "miliardy": 9, "miliard": 9, "bilion": 12, "biliony": 12, "bilionů": 12},
    "ko": {"천": 3, "만": 4, "억": 8, "조": 12},
    "zh": {"千": 3, "万": 4, "亿": 8, "万亿": 12},
    "ja": {"千": 3, "万": 4, "億": 8, "兆": 12},
}
_MAGNITUDE = {lang: re.compile(r"\d\s*(" + "|".join(sorted(words, key=len, reverse=True)) + ")"
                              + ("" if lang in CJK_LANGS else r"(?!\w)"), re.IGNORECASE)
              for lang, words in MAGNITUDES.items()}


def magnitudes(text: str, lang: str) -> set[int]:
    pattern = _MAGNITUDE.get(base_lang(lang))
    return {MAGNITUDES[base_lang(lang)][m.lower()] for m in pattern.findall(text)} if pattern else set()


# Languages that capitalise every noun: a capital there does not mark a name.
NOUN_CAPITALISING = {"de", "lb"}
_WORD_RE = re.compile(r"[^\W\d_]{3,}")
_OPENERS = set(".!?:;\"'“”‘’«»„([{-–—")


def names(text: str) -> set[str]:
    """Capitalised words of 3+ letters that do not open a sentence, a quote or a bracket: names, in English."""
    out = set()
    for m in _WORD_RE.finditer(text):
        if not m.group()[0].isupper():
            continue
        i = m.start() - 1
        while i >= 0 and text[i].isspace():
            i -= 1
        if i >= 0 and text[i] not in _OPENERS:
            out.add(m.group())
    return out


def name_changed(answer: str, previous: str, reference: str, source: str, request: str) -> bool:
    """A rewrite drops a name that its previous answer and the reference agree on and brings in one that no text
    of the dialogue holds ("Yang Xingche" -> "Yang Xingtu")."""
    text = answer.lower()
    lost = [n for n in names(previous) & names(reference) if n.lower() not in text]
    if not lost:
        return False
    pool = " ".join((previous, reference, source, request)).lower()
    return any(n.lower() not in pool for n in names(answer))


class Faithfulness(DialogueFilter):
    """The first translation against the pair's reference: chrF (sacrebleu) at least `min_chrf` (`min_chrf_cjk`
    for a Chinese, Japanese or Thai target, scored on character 3-grams: a good Chinese translation that words things
    differently from its reference shares few 6-grams with it), and length ratio (English-equivalent words) at most
    `max_length_ratio` (reason `turn1_unfaithful`). And every answer in the target language against the reference:
    a number word swapped for another ("1.77 billion" where the reference says "1.77 trillion" for 1.77万亿; reason
    `turn{N}_number_mismatch`). And every rewrite in a target language that capitalises only names (not German):
    a name its previous answer and the reference agree on, swapped for one no text of the dialogue holds (reason
    `turn{N}_name_changed`). Skipped when there is no reference."""
    name = "faithfulness"

    def __init__(self, min_chrf: float = 20.0, max_length_ratio: float = 2.5, min_chrf_cjk: float = 10.0, **kw):
        super().__init__(**kw)
        self.min_chrf, self.max_length_ratio, self.min_chrf_cjk = min_chrf, max_length_ratio, min_chrf_cjk

    def filter(self, doc):
        from sacrebleu.metrics import CHRF

        ref, texts = doc.metadata.get("reference_text") or "", answers(doc)
        if not ref.strip() or not texts:
            return True
        hyp, lang = texts[0], doc.metadata.get("tgt_lang") or ""
        a, b = word_count(hyp, lang), word_count(ref, lang)
        if (max(a, b) + 2) / (min(a, b) + 2) > self.max_length_ratio:
            return False, "turn1_unfaithful"
        cjk = base_lang(lang) in CJK_LANGS
        chrf = CHRF(char_order=3) if cjk else CHRF()
        if chrf.sentence_score(hyp, [ref]).score < (self.min_chrf_cjk if cjk else self.min_chrf):
            return False, "turn1_unfaithful"
        expected = magnitudes(ref, lang)
        kinds = [None] + [k for k, _ in revisions(doc)]
        for turn, (text, kind) in enumerate(zip(texts, kinds), 1):
            if kind in OTHER_LANGUAGE or kind in MIXED_LANGUAGE:
                continue
            found = magnitudes(text, lang)
            if found - expected and expected - found:  # one swapped for another, not one left out
                return False, f"turn{turn}_number_mismatch"
        if base_lang(lang) in CJK_LANGS or base_lang(lang) in NOUN_CAPITALISING:
            return True
        requests = [t.get("content") or "" for t in turns(doc) if t.get("role") == "user"]
        for turn in range(2, len(texts) + 1):
            if kinds[turn - 1] in REWRITES and name_changed(texts[turn - 1], texts[turn - 2], ref, doc.text or "",
                                                            requests[turn - 1] if turn - 1 < len(requests) else ""):
                return False, f"turn{turn}_name_changed"
        return True
