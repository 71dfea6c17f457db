"""The revision taxonomy: what a user asks for after the first translation.

Each kind draws its arguments from the pair and the dialogue so far (a word taken from the reference, a length
limit, a register...), phrases the request in the language the user writes in (its templates and the words they slot
in: synth/languages/), and records in `args` what curation needs to check that the next answer complied. Kinds marked
`final` change the language of the answer (third language, back-translation), so they only close a dialogue.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from babel import Locale

from redraft.synth.languages import (LANGUAGES, THIRD_LANGUAGES, UNSPACED, Words, forms, language,
                                      name_forms, writing_language)


@dataclass
class Context:
    src_lang: str
    tgt_lang: str
    source_text: str
    reference_text: str
    last_answer: str
    write_in: str  # the language the user writes in
    third_languages: tuple[str, ...] = THIRD_LANGUAGES
    used: set = field(default_factory=set)  # kinds already asked in this dialogue


@dataclass(frozen=True)
class Revision:
    kind: str
    request: str
    args: dict


_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]", re.UNICODE)
# in an unspaced script, a Han run (read as 2-character spans) or a katakana word
_UNSPACED_WORD = re.compile(r"[\u3400-\u9fff]{2,}|[\u30a0-\u30ff]{2,}")
# function characters: a 2-character span holding one is rarely a word of its own
_FUNCTION_CHARS = set("我你他她它们的了是在很不也都就和与吗呢吧啊这那个有着过把被给对从为")


def content_words(text: str, lang: str) -> list[str]:
    """Candidate words for lexical constraints: 2-character spans of Han runs and katakana words in unspaced
    scripts; elsewhere words of the language's least length, less a trailing particle (see `Words`)."""
    if lang in UNSPACED:
        spans = []
        for run in _UNSPACED_WORD.findall(text):
            spans += [run] if "\u30a0" <= run[0] <= "\u30ff" else [run[i:i + 2] for i in range(len(run) - 1)]
        return list(dict.fromkeys(s for s in spans if not _FUNCTION_CHARS & set(s)))
    words = language(lang).words if language(lang) else Words()
    out = []
    for w in _WORD.findall(text):
        # a Chinese run in a spaced-language answer (a weak teacher answered in the wrong language) is no word
        if words.foreign.search(w):
            continue
        particle = next((p for p in words.particles if w.endswith(p) and len(w) - len(p) >= words.min_letters), "")
        w = w[:len(w) - len(particle)]
        if len(w) >= words.min_letters:
            out.append(w)
    return list(dict.fromkeys(out))


def length_of(text: str, lang: str) -> int:
    return len(re.sub(r"\s", "", text)) if lang in UNSPACED else len(text.split())


def plural(value, lang: str, n: int) -> str:
    """A noun after the number n: one form, or a dict of CLDR plural categories ("до 21 слова", "до 5 слов")."""
    if isinstance(value, str):
        return value
    category = Locale.parse(lang).plural_form(n)
    return value.get(category) or value["other"]


class Kind:
    name: str = ""
    final = False

    def args(self, rng: random.Random, ctx: Context) -> dict | None:
        """What this request asks for; None when it does not apply to this dialogue."""
        return {}

    def templates(self, lang: str, args: dict) -> list[str]:
        return LANGUAGES[lang].revisions[self.name]

    def phrase(self, rng: random.Random, ctx: Context, args: dict) -> str:
        lang = writing_language(ctx.write_in)
        templates = self.templates(lang, args)
        template = templates[0] if len(templates) == 1 else rng.choice(templates)
        return template.format(**self.slots(ctx, args, lang))

    def slots(self, ctx: Context, args: dict, lang: str) -> dict:
        return dict(args)

    def make(self, rng: random.Random, ctx: Context) -> Revision | None:
        args = self.args(rng, ctx)
        return None if args is None else Revision(self.name, self.phrase(rng, ctx, args), args)


def _missing_words(rng: random.Random, ctx: Context) -> dict | None:
    """A word of the reference the last answer lacks."""
    answer = ctx.last_answer.lower()
    words = [w for w in content_words(ctx.reference_text, ctx.tgt_lang) if w.lower() not in answer]
    return {"word": rng.choice(words)} if words else None


class IncludeWord(Kind):
    name = "include_word"

    def args(self, rng, ctx):
        return _missing_words(rng, ctx)


class AvoidWord(Kind):
    name = "avoid_word"

    def args(self, rng, ctx):
        reference = ctx.reference_text.lower()
        words = content_words(ctx.last_answer, ctx.tgt_lang)
        # a word of the answer the reference does without, else one of the reference's own words the answer used
        pick = [w for w in words if w.lower() not in reference] or words
        return {"word": rng.choice(pick)} if pick else None


class Register(Kind):
    name = "register"
    values = ("formal", "informal")

    def args(self, rng, ctx):
        return {"register": rng.choice(sorted(self.values))}

    def slots(self, ctx, args, lang):
        return {"value": forms(LANGUAGES[lang].values["register"][args["register"]])}


class Audience(Kind):
    name = "audience"
    values = ("children", "experts", "learners")

    def args(self, rng, ctx):
        return {"audience": rng.choice(sorted(self.values))}

    def slots(self, ctx, args, lang):
        return {"value": forms(LANGUAGES[lang].values["audience"][args["audience"]])}


class Shorten(Kind):
    """A length limit in the target language's unit: characters where it is written without spaces, else words."""
    name = "shorten"

    def args(self, rng, ctx):
        # the limit is set from the answer the user is looking at: one set from the reference could already be met
        unit = "chars" if ctx.tgt_lang in UNSPACED else "words"
        n = length_of(ctx.last_answer, ctx.tgt_lang)
        if n < (6 if unit == "chars" else 4):
            return None
        return {f"max_{unit}": max(2, round(n * rng.uniform(0.5, 0.8)))}

    def slots(self, ctx, args, lang):
        unit = "chars" if "max_chars" in args else "words"
        limit = args[f"max_{unit}"]
        return {"limit": limit, "unit": plural(LANGUAGES[lang].values["shorten"][unit], lang, limit)}


class Grammar(Kind):
    """A grammatical feature of the target language to change; those it lacks (its module's LACKS: Chinese has no
    tense, Japanese no future) are not drawn."""
    name = "grammar"
    variants = ("tense=past", "tense=future", "voice=passive", "person=first_plural", "person=third_singular")

    def args(self, rng, ctx):
        target = language(ctx.tgt_lang)
        options = [v for v in self.variants if not (target and v in target.lacks)]
        if not options:
            return None
        feature, value = rng.choice(sorted(options)).split("=")
        return {feature: value}

    def templates(self, lang, args):
        (feature, value), = args.items()
        return LANGUAGES[lang].revisions[self.name][f"{feature}={value}"]


class Polish(Kind):
    name = "polish"


class ErrorCorrection(Kind):
    name = "error_correction"

    def args(self, rng, ctx):
        return _missing_words(rng, ctx)


class Explain(Kind):
    name = "explain"

    def args(self, rng, ctx):
        words = content_words(ctx.last_answer, ctx.tgt_lang)
        return {"word": rng.choice(words)} if words else None


class Format(Kind):
    name = "format"
    variants = ("numbered_list", "json", "quoted")

    def args(self, rng, ctx):
        fmt = rng.choice(sorted(self.variants))
        return {"format": fmt, "count": 3} if fmt == "numbered_list" else {"format": fmt}

    def templates(self, lang, args):
        return LANGUAGES[lang].revisions[self.name][args["format"]]

    def slots(self, ctx, args, lang):
        return {}


class ThirdLanguage(Kind):
    name = "third_language"
    final = True

    def args(self, rng, ctx):
        options = [lang for lang in ctx.third_languages if lang not in (ctx.src_lang, ctx.tgt_lang)]
        return {"lang": rng.choice(options)} if options else None

    def slots(self, ctx, args, lang):
        return {"lang": name_forms(args["lang"], lang)}


class BackTranslation(Kind):
    name = "back_translation"
    final = True

    def args(self, rng, ctx):
        return {"lang": ctx.src_lang}

    def slots(self, ctx, args, lang):
        return {"lang": name_forms(args["lang"], lang)}


KINDS: dict[str, Kind] = {k.name: k for k in (
    IncludeWord(), AvoidWord(), Register(), Audience(), Shorten(), Grammar(), Polish(), ErrorCorrection(), Explain(),
    Format(), ThirdLanguage(), BackTranslation())}

DEFAULT_MIX = {"include_word": 3, "avoid_word": 2, "register": 2, "audience": 1, "shorten": 2, "grammar": 2,
               "polish": 2, "error_correction": 2, "explain": 1, "format": 1, "third_language": 1,
               "back_translation": 1}


def resolve_mix(mix: dict[str, float] | str) -> dict[str, float]:
    mix = DEFAULT_MIX if mix == "default" else mix
    unknown = sorted(set(mix) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown revision kinds {unknown}; known: {sorted(KINDS)}")
    mix = {k: float(w) for k, w in mix.items() if w > 0}
    if not mix:
        raise ValueError("synth.revisions: at least one kind needs a positive weight")
    return mix


def draw_revision(rng: random.Random, mix: dict[str, float], ctx: Context, final_turn: bool) -> Revision:
    """A revision of a kind drawn by weight; kinds that do not apply (or not yet) are drawn again without."""
    options = {k: w for k, w in mix.items() if final_turn or not KINDS[k].final}
    while options:
        names = sorted(options)
        kind = rng.choices(names, weights=[options[n] for n in names])[0]
        revision = KINDS[kind].make(rng, ctx)
        if revision is not None:
            return revision
        del options[kind]
    return KINDS["polish"].make(rng, ctx)  # always applies
