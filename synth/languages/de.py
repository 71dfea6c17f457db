"""German. Names: "name" after "auf" (auf Englisch), "acc" after "ins" (ins Englische)."""

NAMES = {code: {"name": name, "acc": name + "e"} for code, name in {
    "en": "Englisch", "zh": "Chinesisch", "de": "Deutsch", "fr": "Französisch", "es": "Spanisch", "ja": "Japanisch",
    "ru": "Russisch", "it": "Italienisch", "pt": "Portugiesisch", "ko": "Koreanisch", "ar": "Arabisch",
    "nl": "Niederländisch", "cs": "Tschechisch", "uk": "Ukrainisch"}.items()}

REQUESTS = [
    "Übersetze ins {tgt[acc]}: {text}",
    "Bitte übersetze diesen Satz ins {tgt[acc]}:\n{text}",
    "Wie sagt man das auf {tgt}?\n{text}",
    "{text}\n\nÜbersetze den Satz oben ins {tgt[acc]}.",
    "Kannst du mir „{text}“ ins {tgt[acc]} übersetzen?",
]

REVISIONS = {
    "include_word": ["Bitte verwende das Wort „{word}“ in der Übersetzung.",
                     "Kannst du es so umformulieren, dass „{word}“ vorkommt?"],
    "avoid_word": ["Bitte verwende das Wort „{word}“ nicht, sondern formuliere es anders.", "Formuliere es ohne „{word}“."],
    "register": ["Formuliere es bitte {value}.", "Kannst du die Übersetzung {value} klingen lassen?"],
    # audience values in the plural: one form after "für" (accusative) and as the subject of "dass ..." (nominative)
    "audience": ["Passe die Übersetzung für {value} an.", "Schreib es so um, dass {value} es leicht verstehen."],
    "shorten": ["Kürze es auf höchstens {limit} {unit}.", "Das ist zu lang: bitte höchstens {limit} {unit}."],
    "grammar": {
        "tense=past": ["Setze es in die Vergangenheit."],
        "tense=future": ["Setze es ins Futur."],
        "voice=passive": ["Verwende das Passiv."],
        "person=first_plural": ["Schreib es in der ersten Person Plural („wir“)."],
        "person=third_singular": ["Schreib es in der dritten Person Singular."],
    },
    "polish": ["Glätte die Übersetzung, damit sie natürlich klingt.", "Kannst du es flüssiger formulieren?"],
    "error_correction": ["Da ist ein Übersetzungsfehler: Es sollte „{word}“ heißen. Bitte korrigiere das.",
                         "Das stimmt nicht ganz, hier ist „{word}“ richtig."],
    "explain": ["Warum hast du „{word}“ gewählt?", "Erkläre bitte, warum du „{word}“ verwendet hast."],
    "format": {
        "numbered_list": ["Gib mir drei alternative Übersetzungen als nummerierte Liste."],
        "json": ["Gib nur JSON der Form {{\"translation\": \"...\"}} zurück."],
        "quoted": ["Antworte nur mit der Übersetzung in doppelten Anführungszeichen."],
    },
    "third_language": ["Übersetze es jetzt auch ins {lang[acc]}.", "Und auf {lang}?"],
    "back_translation": ["Übersetze deine Übersetzung wörtlich zurück ins {lang[acc]}.",
                         "Übersetze es zurück ins {lang[acc]}, damit ich die Bedeutung prüfen kann."],
}

VALUES = {
    "register": {"formal": "förmlicher", "informal": "lockerer"},
    "audience": {"children": "kleine Kinder", "experts": "Fachleute", "learners": "Sprachlernende"},
    "shorten": {"words": "Wörter", "chars": "Zeichen"},
}
