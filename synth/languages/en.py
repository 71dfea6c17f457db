"""English. Names: "name", and "a" with its indefinite article (an English, a Chinese)."""

NAMES = {code: {"name": name, "a": ("an " if name in ("English", "Italian", "Arabic") else "a ") + name}
         for code, name in {"en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish",
                            "ja": "Japanese", "ru": "Russian", "it": "Italian", "pt": "Portuguese", "ko": "Korean",
                            "ar": "Arabic", "nl": "Dutch", "cs": "Czech", "uk": "Ukrainian"}.items()}

REQUESTS = [
    "Translate into {tgt}: {text}",
    "Please translate this {src} sentence into {tgt}.\n\n{text}",
    "How would you say this in {tgt}?\n{text}",
    "Translate the following from {src} to {tgt}:\n{text}",
    "Can you give me {tgt[a]} translation of \"{text}\"?",
    "{text}\n\nTranslate the above into {tgt}.",
]

REVISIONS = {
    "include_word": ["Please use the word \"{word}\" in the translation.",
                     "Can you rework it so that it contains \"{word}\"?"],
    "avoid_word": ["Please don't use the word \"{word}\"; find another way to say it.", "Rephrase it without \"{word}\"."],
    "register": ["Make it {value}.", "Could you make the translation sound {value}?"],
    "audience": ["Adapt the translation for {value}.", "Rewrite it so that {value} would understand it easily."],
    "shorten": ["Shorten it to at most {limit} {unit}.", "That's too long: {limit} {unit} at most, please."],
    "grammar": {
        "tense=past": ["Put it in the past tense."],
        "tense=future": ["Put it in the future tense."],
        "voice=passive": ["Use the passive voice."],
        "person=first_plural": ["Rewrite it in the first person plural (\"we\")."],
        "person=third_singular": ["Rewrite it in the third person singular."],
    },
    "polish": ["Polish it so it reads naturally.", "Can you make it sound more fluent?", "Improve the wording a bit."],
    "error_correction": ["You mistranslated part of it: it should be rendered as \"{word}\". Please fix the translation.",
                         "That's not quite right; the correct term here is \"{word}\"."],
    "explain": ["Why did you use \"{word}\" here?", "Explain your choice of \"{word}\"."],
    "format": {
        "numbered_list": ["Give me three alternative translations as a numbered list."],
        "json": ["Return only JSON of the form {{\"translation\": \"...\"}}."],
        "quoted": ["Reply with the translation only, in double quotes."],
    },
    "third_language": ["Now translate it into {lang} as well.", "And in {lang}?"],
    "back_translation": ["Translate your translation back into {lang}, word for word.",
                         "Back-translate it into {lang} so I can check the meaning."],
}

VALUES = {
    "register": {"formal": "more formal", "informal": "more casual"},
    "audience": {"children": "a young child", "experts": "a domain expert", "learners": "a language learner"},
    "shorten": {"words": "words", "chars": "characters"},
}
