"""The revision taxonomy: what a user asks for after the first translation.

Each kind draws its arguments from the pair and the dialogue so far (a word taken from the reference, a length
limit, a register...), phrases the request in the language the user writes in, and records in `args` what curation
needs to check that the next answer complied. Kinds marked `final` change the language of the answer (third
language, back-translation), so they only close a dialogue.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from redraft.synth.languages import THIRD_LANGUAGES, UNSPACED, language_name, writing_language


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
_HAN = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]{2,}")
# function characters: a 2-character span holding one is rarely a word of its own
_FUNCTION_CHARS = set("我你他她它们的了是在很不也都就和与吗呢吧啊这那个有着过把被给对从为")


def content_words(text: str, lang: str) -> list[str]:
    """Candidate words for lexical constraints: words of 4+ letters, or 2-character spans in unspaced scripts."""
    if lang in UNSPACED:
        spans = [run[i:i + 2] for run in _HAN.findall(text) for i in range(len(run) - 1)]
        return list(dict.fromkeys(s for s in spans if not _FUNCTION_CHARS & set(s)))
    # a Chinese run in a spaced-language answer (a weak teacher answered in the wrong language) is no word
    return list(dict.fromkeys(w for w in _WORD.findall(text) if len(w) >= 4 and not _HAN.search(w)))


def length_of(text: str, lang: str) -> int:
    return len(re.sub(r"\s", "", text)) if lang in UNSPACED else len(text.split())


class Kind:
    name: str = ""
    final = False
    templates: dict[str, list[str]] = {}

    def args(self, rng: random.Random, ctx: Context) -> dict | None:
        """What this request asks for; None when it does not apply to this dialogue."""
        return {}

    def phrase(self, rng: random.Random, ctx: Context, args: dict) -> str:
        lang = writing_language(ctx.write_in)
        return rng.choice(self.templates[lang]).format(**self.slots(ctx, args, lang))

    def slots(self, ctx: Context, args: dict, lang: str) -> dict:
        return dict(args)

    def make(self, rng: random.Random, ctx: Context) -> Revision | None:
        args = self.args(rng, ctx)
        return None if args is None else Revision(self.name, self.phrase(rng, ctx, args), args)


class IncludeWord(Kind):
    name = "include_word"
    templates = {
        "en": ["Please use the word \"{word}\" in the translation.", "Can you rework it so that it contains \"{word}\"?"],
        "zh": ["请在译文中使用“{word}”这个词。", "能改一下吗？译文里要用到“{word}”。"],
        "de": ["Bitte verwende das Wort „{word}“ in der Übersetzung.", "Kannst du es so umformulieren, dass „{word}“ vorkommt?"],
    }

    def args(self, rng, ctx):
        answer = ctx.last_answer.lower()
        words = [w for w in content_words(ctx.reference_text, ctx.tgt_lang) if w.lower() not in answer]
        return {"word": rng.choice(words)} if words else None


class AvoidWord(Kind):
    name = "avoid_word"
    templates = {
        "en": ["Please don't use the word \"{word}\"; find another way to say it.", "Rephrase it without \"{word}\"."],
        "zh": ["请不要用“{word}”这个词，换个说法。", "译文里别出现“{word}”。"],
        "de": ["Bitte verwende das Wort „{word}“ nicht, sondern formuliere es anders.", "Formuliere es ohne „{word}“."],
    }

    def args(self, rng, ctx):
        reference = ctx.reference_text.lower()
        words = content_words(ctx.last_answer, ctx.tgt_lang)
        # a word of the answer the reference does without, else one of the reference's own words the answer used
        pick = [w for w in words if w.lower() not in reference] or words
        return {"word": rng.choice(pick)} if pick else None


class Register(Kind):
    name = "register"
    values = {"formal": {"en": "more formal", "zh": "更正式", "de": "förmlicher"},
              "informal": {"en": "more casual", "zh": "更口语化", "de": "lockerer"}}
    templates = {
        "en": ["Make it {value}.", "Could you make the translation sound {value}?"],
        "zh": ["请把译文改得{value}一些。", "译文能不能{value}一点？"],
        "de": ["Formuliere es bitte {value}.", "Kannst du die Übersetzung {value} klingen lassen?"],
    }

    def args(self, rng, ctx):
        return {"register": rng.choice(sorted(self.values))}

    def slots(self, ctx, args, lang):
        return {"value": self.values[args["register"]][lang]}


class Audience(Kind):
    name = "audience"
    # German in the plural: one form after "für" (accusative) and as the subject of "dass ..." (nominative)
    values = {"children": {"en": "a young child", "zh": "小孩子", "de": "kleine Kinder"},
              "experts": {"en": "a domain expert", "zh": "专业人士", "de": "Fachleute"},
              "learners": {"en": "a language learner", "zh": "语言初学者", "de": "Sprachlernende"}}
    templates = {
        "en": ["Adapt the translation for {value}.", "Rewrite it so that {value} would understand it easily."],
        "zh": ["请把译文改写成适合{value}阅读的版本。", "改成{value}也能轻松看懂的说法。"],
        "de": ["Passe die Übersetzung für {value} an.", "Schreib es so um, dass {value} es leicht verstehen."],
    }

    def args(self, rng, ctx):
        return {"audience": rng.choice(sorted(self.values))}

    def slots(self, ctx, args, lang):
        return {"value": self.values[args["audience"]][lang]}


class Shorten(Kind):
    name = "shorten"
    templates = {
        "en": ["Shorten it to at most {limit} {unit}.", "That's too long: keep it under {limit} {unit}, please."],
        "zh": ["请把译文缩短到{limit}个{unit}以内。", "太长了，控制在{limit}个{unit}以内。"],
        "de": ["Kürze es auf höchstens {limit} {unit}.", "Das ist zu lang: bitte höchstens {limit} {unit}."],
    }
    units = {"words": {"en": "words", "zh": "词", "de": "Wörter"},
             "chars": {"en": "characters", "zh": "字", "de": "Zeichen"}}

    def args(self, rng, ctx):
        # the limit is set from the answer the user is looking at: one set from the reference could already be met
        unit = "chars" if ctx.tgt_lang in UNSPACED else "words"
        n = length_of(ctx.last_answer, ctx.tgt_lang)
        if n < (6 if unit == "chars" else 4):
            return None
        return {f"max_{unit}": max(2, round(n * rng.uniform(0.5, 0.8)))}

    def slots(self, ctx, args, lang):
        unit = "chars" if "max_chars" in args else "words"
        return {"limit": args[f"max_{unit}"], "unit": self.units[unit][lang]}


class Grammar(Kind):
    name = "grammar"
    values = {
        ("tense", "past"): {"en": "Put it in the past tense.", "zh": "请把译文改成过去时。", "de": "Setze es in die Vergangenheit."},
        ("tense", "future"): {"en": "Put it in the future tense.", "zh": "请把译文改成将来时。", "de": "Setze es ins Futur."},
        ("voice", "passive"): {"en": "Use the passive voice.", "zh": "请改用被动语态。", "de": "Verwende das Passiv."},
        ("person", "first_plural"): {"en": "Rewrite it in the first person plural (\"we\").",
                                     "zh": "请改成第一人称复数（“我们”）。", "de": "Schreib es in der ersten Person Plural („wir“)."},
        ("person", "third_singular"): {"en": "Rewrite it in the third person singular.",
                                       "zh": "请改成第三人称单数。", "de": "Schreib es in der dritten Person Singular."},
    }

    def args(self, rng, ctx):
        options = [k for k in self.values if not (k[0] == "tense" and ctx.tgt_lang in UNSPACED)]
        feature, value = rng.choice(sorted(options))
        return {feature: value}

    def phrase(self, rng, ctx, args):
        (feature, value), = args.items()
        return self.values[(feature, value)][writing_language(ctx.write_in)]


class Polish(Kind):
    name = "polish"
    templates = {
        "en": ["Polish it so it reads naturally.", "Can you make it sound more fluent?", "Improve the wording a bit."],
        "zh": ["请润色一下译文，让它更自然。", "能让译文更通顺一点吗？"],
        "de": ["Glätte die Übersetzung, damit sie natürlich klingt.", "Kannst du es flüssiger formulieren?"],
    }


class ErrorCorrection(Kind):
    name = "error_correction"
    templates = {
        "en": ["You mistranslated part of it: it should be rendered as \"{word}\". Please fix the translation.",
               "That's not quite right; the correct term here is \"{word}\"."],
        "zh": ["有一处翻译错了，应该译为“{word}”。请改正。", "不太对，这里正确的说法是“{word}”。"],
        "de": ["Da ist ein Übersetzungsfehler: Es sollte „{word}“ heißen. Bitte korrigiere das.",
               "Das stimmt nicht ganz, hier ist „{word}“ richtig."],
    }

    def args(self, rng, ctx):
        answer = ctx.last_answer.lower()
        words = [w for w in content_words(ctx.reference_text, ctx.tgt_lang) if w.lower() not in answer]
        return {"word": rng.choice(words)} if words else None


class Explain(Kind):
    name = "explain"
    templates = {
        "en": ["Why did you translate it with \"{word}\"?", "Explain your choice of \"{word}\"."],
        "zh": ["你为什么用“{word}”来翻译？", "解释一下为什么选“{word}”这个词。"],
        "de": ["Warum hast du „{word}“ gewählt?", "Erkläre bitte, warum du „{word}“ verwendet hast."],
    }

    def args(self, rng, ctx):
        words = content_words(ctx.last_answer, ctx.tgt_lang)
        return {"word": rng.choice(words)} if words else None


class Format(Kind):
    name = "format"
    values = {
        "numbered_list": {"en": "Give me three alternative translations as a numbered list.",
                          "zh": "请给出三种不同的译法，用编号列表列出。",
                          "de": "Gib mir drei alternative Übersetzungen als nummerierte Liste."},
        "json": {"en": "Return only JSON of the form {{\"translation\": \"...\"}}.",
                 "zh": "只返回 JSON，格式为 {{\"translation\": \"...\"}}。",
                 "de": "Gib nur JSON der Form {{\"translation\": \"...\"}} zurück."},
        "quoted": {"en": "Reply with the translation only, in double quotes.", "zh": "只回复译文，并用双引号括起来。",
                   "de": "Antworte nur mit der Übersetzung in doppelten Anführungszeichen."},
    }

    def args(self, rng, ctx):
        fmt = rng.choice(sorted(self.values))
        return {"format": fmt, "count": 3} if fmt == "numbered_list" else {"format": fmt}

    def phrase(self, rng, ctx, args):
        return self.values[args["format"]][writing_language(ctx.write_in)].format()


class ThirdLanguage(Kind):
    name = "third_language"
    final = True
    templates = {
        "en": ["Now translate it into {lang_name} as well.", "And in {lang_name}?"],
        "zh": ["再把它翻译成{lang_name}。", "用{lang_name}怎么说？"],
        "de": ["Übersetze es jetzt auch ins {lang_name}.", "Und auf {lang_short}?"],
    }

    def args(self, rng, ctx):
        options = [lang for lang in ctx.third_languages if lang not in (ctx.src_lang, ctx.tgt_lang)]
        return {"lang": rng.choice(options)} if options else None

    def slots(self, ctx, args, lang):
        name = language_name(args["lang"], lang)
        return {"lang_name": name, "lang_short": name[:-1] if lang == "de" else name}


class BackTranslation(Kind):
    name = "back_translation"
    final = True
    templates = {
        "en": ["Translate your translation back into {lang_name}, word for word.",
               "Back-translate it into {lang_name} so I can check the meaning."],
        "zh": ["把你的译文再逐字翻译回{lang_name}。", "请把译文回译成{lang_name}，我核对一下意思。"],
        "de": ["Übersetze deine Übersetzung wörtlich zurück ins {lang_name}.",
               "Übersetze es zurück ins {lang_name}, damit ich die Bedeutung prüfen kann."],
    }

    def args(self, rng, ctx):
        return {"lang": ctx.src_lang}

    def slots(self, ctx, args, lang):
        return {"lang_name": language_name(args["lang"], lang)}


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
