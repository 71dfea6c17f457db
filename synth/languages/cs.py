"""Czech, addressing the assistant as "ty", with „“ quotes. Names: "gen" after "do" (do angličtiny), "from" with
its preposition, vocalised before s, z, š, ž (z angličtiny, ze španělštiny), "adv" (anglicky). Values: "acc" after
"pro", register "adj" / "adv"."""

_NAMES = {  # nominative, genitive, adverb
    "en": ("angličtina", "angličtiny", "anglicky"), "zh": ("čínština", "čínštiny", "čínsky"),
    "de": ("němčina", "němčiny", "německy"), "fr": ("francouzština", "francouzštiny", "francouzsky"),
    "es": ("španělština", "španělštiny", "španělsky"), "ja": ("japonština", "japonštiny", "japonsky"),
    "ru": ("ruština", "ruštiny", "rusky"), "it": ("italština", "italštiny", "italsky"),
    "pt": ("portugalština", "portugalštiny", "portugalsky"), "ko": ("korejština", "korejštiny", "korejsky"),
    "ar": ("arabština", "arabštiny", "arabsky"), "nl": ("nizozemština", "nizozemštiny", "nizozemsky"),
    "cs": ("čeština", "češtiny", "česky"), "uk": ("ukrajinština", "ukrajinštiny", "ukrajinsky"),
}
NAMES = {code: {"name": nom, "gen": gen, "from": ("ze " if gen[0] in "szšž" else "z ") + gen, "adv": adv}
         for code, (nom, gen, adv) in _NAMES.items()}

REQUESTS = [
    "Přelož do {tgt[gen]}: {text}",
    "Přelož mi prosím tuhle větu do {tgt[gen]}.\n\n{text}",
    "Jak se to řekne {tgt[adv]}?\n{text}",
    "Přelož následující text {src[from]} do {tgt[gen]}:\n{text}",
    "Můžeš mi přeložit „{text}“ do {tgt[gen]}?",
    "{text}\n\nPřelož text výše do {tgt[gen]}.",
]

REVISIONS = {
    "include_word": ["Použij prosím v překladu slovo „{word}“.", "Můžeš to přeformulovat tak, aby tam bylo „{word}“?"],
    "avoid_word": ["Nepoužívej slovo „{word}“, řekni to jinak.", "Přeformuluj to bez „{word}“."],
    "register": ["Udělej překlad {value[adj]}.", "Můžeš to přepsat, aby to znělo {value[adv]}?"],
    "audience": ["Uprav překlad pro {value[acc]}.", "Přepiš to tak, aby to bylo srozumitelné pro {value[acc]}."],
    "shorten": ["Zkrať to na nejvýš {limit} {unit}.", "Je to moc dlouhé: maximálně {limit} {unit}, prosím."],
    "grammar": {
        "tense=past": ["Převeď to do minulého času."],
        "tense=future": ["Převeď to do budoucího času."],
        "voice=passive": ["Použij trpný rod."],
        "person=first_plural": ["Přepiš to v první osobě množného čísla („my“)."],
        "person=third_singular": ["Přepiš to ve třetí osobě jednotného čísla."],
    },
    "polish": ["Uhlaď překlad, ať zní přirozeně.", "Můžeš to formulovat plynuleji?"],
    "error_correction": ["V překladu je chyba: má tam být „{word}“. Oprav to, prosím.",
                         "Není to úplně ono, správně je tady „{word}“."],
    "explain": ["Proč je v překladu „{word}“?", "Vysvětli mi volbu slova „{word}“."],
    "format": {
        "numbered_list": ["Dej mi tři různé překlady jako číslovaný seznam."],
        "json": ["Vrať jen JSON ve tvaru {{\"translation\": \"...\"}}."],
        "quoted": ["Odpověz jen překladem v uvozovkách."],
    },
    "third_language": ["Teď to přelož ještě do {lang[gen]}.", "A {lang[adv]}?"],
    "back_translation": ["Přelož svůj překlad zpátky do {lang[gen]}, doslova.",
                         "Udělej zpětný překlad do {lang[gen]}, ať si můžu ověřit význam."],
}

VALUES = {
    "register": {"formal": {"name": "formálnější", "adj": "formálnější", "adv": "formálněji"},
                 "informal": {"name": "hovorovější", "adj": "hovorovější", "adv": "hovorověji"}},
    "audience": {"children": {"name": "malé děti", "acc": "malé děti"},
                 "experts": {"name": "odborníci", "acc": "odborníky v oboru"},
                 "learners": {"name": "studenti jazyka", "acc": "studenty jazyka"}},
    # after a number: 1 slovo, 2-4 slova, 5+ slov ("na nejvýš 3 slova", "maximálně 10 slov")
    "shorten": {"words": {"one": "slovo", "few": "slova", "other": "slov"},
                "chars": {"one": "znak", "few": "znaky", "other": "znaků"}},
}
