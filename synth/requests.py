"""The opening request of a dialogue: the user asks for a translation, in varied phrasings, written in the source
or the target language of the pair (templates: synth/languages/)."""

from __future__ import annotations

import random

from redraft.synth.languages import LANGUAGES, name_forms, writing_language


def first_request(rng: random.Random, src_lang: str, tgt_lang: str, text: str, write_in: str) -> str:
    lang = writing_language(write_in)
    template = rng.choice(LANGUAGES[lang].requests)
    return template.format(src=name_forms(src_lang, lang), tgt=name_forms(tgt_lang, lang), text=text)
