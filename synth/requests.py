"""The opening request of a dialogue: the user asks for a translation, in varied phrasings, written in the source
or the target language of the pair."""

from __future__ import annotations

import random

from redraft.synth.languages import language_name, writing_language

TEMPLATES = {
    "en": [
        "Translate into {tgt}: {text}",
        "Please translate this {src} sentence into {tgt}.\n\n{text}",
        "How would you say this in {tgt}?\n{text}",
        "Translate the following from {src} to {tgt}:\n{text}",
        "Can you give me a {tgt} translation of \"{text}\"?",
        "{text}\n\nTranslate the above into {tgt}.",
    ],
    "zh": [
        "请把这句话翻译成{tgt}：{text}",
        "把下面的{src}翻译成{tgt}：\n{text}",
        "“{text}”用{tgt}怎么说？",
        "{text}\n\n请将上面这句话译成{tgt}。",
        "帮我翻译成{tgt}：{text}",
    ],
    "de": [
        "Übersetze ins {tgt}: {text}",
        "Bitte übersetze diesen Satz ins {tgt}:\n{text}",
        "Wie sagt man das auf {tgt_plain}?\n{text}",
        "{text}\n\nÜbersetze den Satz oben ins {tgt}.",
        "Kannst du mir „{text}“ ins {tgt} übersetzen?",
    ],
}


def _name(code: str, lang: str, dative: bool = False) -> str:
    name = language_name(code, lang)
    if lang == "de":  # "ins Englische" / "auf Englisch"
        return name if dative else name[:-1]
    return name


def first_request(rng: random.Random, src_lang: str, tgt_lang: str, text: str, write_in: str) -> str:
    lang = writing_language(write_in)
    template = rng.choice(TEMPLATES[lang])
    return template.format(src=_name(src_lang, lang), tgt=_name(tgt_lang, lang, dative=True),
                           tgt_plain=_name(tgt_lang, lang), text=text)
