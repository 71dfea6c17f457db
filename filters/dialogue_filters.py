"""Dialogue filters: structure, the language of every assistant turn, refusals and meta-talk, revision compliance
and the faithfulness of the first translation to the reference.

A dialogue is a Document whose metadata holds `messages` (see redraft/types.py). Inputs that are not redraft's own
(any `messages` dataset) may lack languages, revisions or a reference: the checks that need them then pass.
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from .compliance import check_revision, expected_language, parse_args
from .langid import LanguageIdentifier
from .text import base_lang, word_count

UNKNOWN_LANGS = {"", "und", "xx", "mul"}


def turns(doc: Document) -> list[dict]:
    return list(doc.metadata.get("messages") or [])


def answers(doc: Document) -> list[str]:
    return [t.get("content") or "" for t in turns(doc) if t.get("role") == "assistant"]


def revisions(doc: Document) -> list[tuple[str, dict]]:
    kinds = list(doc.metadata.get("revisions") or [])
    raw = list(doc.metadata.get("revision_args") or [])
    return [(kind, parse_args(raw[i] if i < len(raw) else None)) for i, kind in enumerate(kinds)]


class DialogueFilter(BaseFilter):
    name = ""

    def __init__(self, exclusion_writer=None, batch_size: int = 1):
        super().__init__(exclusion_writer, batch_size)


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


# Lower-cased phrases. Refusals: the assistant declines. Meta-talk: it talks about itself or the task instead of
# (or around) the translation.
REFUSALS = ("i'm sorry, but", "i am sorry, but", "i cannot ", "i can't ", "i can not ", "i'm unable", "i am unable",
            "as an ai", "i apologize", "抱歉", "对不起", "我无法", "我不能", "es tut mir leid", "ich kann nicht",
            "je suis désolé", "je ne peux pas", "申し訳", "できません")
META_TALK = ("as a language model", "language model", "i hope this helps", "let me know if", "feel free to",
             "here is the translation", "here's the translation", "the translation is:", "translation:",
             "以下是", "翻译如下", "译文如下", "希望对你有帮助", "希望这能帮到", "hier ist die übersetzung",
             "voici la traduction", "翻訳は以下")


class Refusal(DialogueFilter):
    """An assistant turn that refuses (reason `refusal`) or wraps the translation in talk about the task (reason
    `meta_talk`). Answers to `explain` and `format` requests may talk about the translation and are only checked for refusals."""
    name = "refusal"

    def __init__(self, refusals: list[str] | None = None, meta_talk: list[str] | None = None, **kw):
        super().__init__(**kw)
        self.refusals = tuple(p.lower() for p in refusals) if refusals is not None else REFUSALS
        self.meta_talk = tuple(p.lower() for p in meta_talk) if meta_talk is not None else META_TALK

    def filter(self, doc):
        kinds = [None] + [k for k, _ in revisions(doc)]
        for i, answer in enumerate(answers(doc)):
            text = answer.lower()
            if any(p in text for p in self.refusals):
                return False, "refusal"
            kind = kinds[i] if i < len(kinds) else None
            if kind not in ("explain", "format") and any(p in text for p in self.meta_talk):
                return False, "meta_talk"
        return True


class TurnLanguage(DialogueFilter):
    """Every assistant turn is in the language asked for: the target language, or the language a
    `third_language` / `back_translation` request names (answers to `explain` are not checked). One wrong turn drops
    the dialogue. Reason `lang_mismatch`."""
    name = "turn_language"

    def __init__(self, short_chars: int = 25, min_letters: int = 10, max_chars: int = 300, **kw):
        super().__init__(batch_size=kw.pop("batch_size", 512), **kw)
        self.identifier = LanguageIdentifier(short_chars=short_chars, min_letters=min_letters, max_chars=max_chars)

    def expected(self, doc) -> list[tuple[str, str]]:
        tgt = base_lang(doc.metadata.get("tgt_lang") or "")
        kinds = [(None, {})] + revisions(doc)
        out = []
        for i, answer in enumerate(answers(doc)):
            kind, args = kinds[i] if i < len(kinds) else (None, {})
            lang = expected_language(kind, args, tgt) if kind else tgt
            if lang and base_lang(lang) not in UNKNOWN_LANGS:
                out.append((answer, base_lang(lang)))
        return out

    def filter_batch(self, batch):
        checks = [self.expected(doc) for doc in batch]
        flat = [c for cs in checks for c in cs]
        verdicts = iter(self.identifier.agrees([t for t, _ in flat], [l for _, l in flat]) if flat else [])
        return [True if all([next(verdicts) for _ in cs]) else (False, "lang_mismatch") for cs in checks]

    def filter(self, doc):
        return self.filter_batch([doc])[0]


class Compliance(DialogueFilter):
    """Each follow-up answer did what its request asked, for the kinds that can be checked (include/avoid a word,
    error correction, explain the word, shorten to a limit, list/JSON/quoted format), and actually changed the text
    for rewrites. Reasons `revision_ignored`, `revision_unchanged`."""
    name = "compliance"

    def filter(self, doc):
        texts = answers(doc)
        lang = doc.metadata.get("tgt_lang") or ""
        for i, (kind, args) in enumerate(revisions(doc)):
            if i + 1 >= len(texts):
                break
            reason = check_revision(kind, args, texts[i], texts[i + 1], lang)
            if reason:
                return False, reason
        return True


class Faithfulness(DialogueFilter):
    """The first translation against the pair's reference: chrF (sacrebleu) at least `min_chrf`, and length ratio
    (English-equivalent words) at most `max_length_ratio`. Skipped when there is no reference. Reason `unfaithful`."""
    name = "faithfulness"

    def __init__(self, min_chrf: float = 20.0, max_length_ratio: float = 2.5, **kw):
        super().__init__(**kw)
        self.min_chrf, self.max_length_ratio = min_chrf, max_length_ratio

    def filter(self, doc):
        from sacrebleu.metrics import CHRF

        ref, texts = doc.metadata.get("reference_text") or "", answers(doc)
        if not ref.strip() or not texts:
            return True
        hyp, lang = texts[0], doc.metadata.get("tgt_lang") or ""
        a, b = word_count(hyp, lang), word_count(ref, lang)
        if (max(a, b) + 2) / (min(a, b) + 2) > self.max_length_ratio:
            return False, "unfaithful"
        if CHRF().sentence_score(hyp, [ref]).score < self.min_chrf:
            return False, "unfaithful"
        return True


DIALOGUE_FILTERS: dict[str, type[DialogueFilter]] = {c.name: c for c in (
    Structure, Refusal, TurnLanguage, Compliance, Faithfulness)}
DEFAULT_DIALOGUE_FILTERS = ["structure", "refusal", "compliance", "faithfulness", "turn_language"]
