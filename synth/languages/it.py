"""Italian, addressing the assistant as "tu". Names: "name" (in inglese), "from" (dall'inglese, dal cinese,
dallo spagnolo)."""

NAMES = {
    "en": {"name": "inglese", "from": "dall'inglese"}, "zh": {"name": "cinese", "from": "dal cinese"},
    "de": {"name": "tedesco", "from": "dal tedesco"}, "fr": {"name": "francese", "from": "dal francese"},
    "es": {"name": "spagnolo", "from": "dallo spagnolo"}, "ja": {"name": "giapponese", "from": "dal giapponese"},
    "ru": {"name": "russo", "from": "dal russo"}, "it": {"name": "italiano", "from": "dall'italiano"},
    "pt": {"name": "portoghese", "from": "dal portoghese"}, "ko": {"name": "coreano", "from": "dal coreano"},
    "ar": {"name": "arabo", "from": "dall'arabo"}, "nl": {"name": "olandese", "from": "dall'olandese"},
    "cs": {"name": "ceco", "from": "dal ceco"}, "uk": {"name": "ucraino", "from": "dall'ucraino"},
}

REQUESTS = [
    "Traduci in {tgt}: {text}",
    "Mi traduci questa frase in {tgt}?\n\n{text}",
    "Come si dice in {tgt}?\n{text}",
    "Traduci il testo seguente {src[from]} in {tgt}:\n{text}",
    "Puoi darmi una traduzione in {tgt} di «{text}»?",
    "{text}\n\nTraduci in {tgt} il testo qui sopra, per favore.",
]

REVISIONS = {
    "include_word": ["Usa la parola «{word}» nella traduzione, per favore.",
                     "Puoi riformularla in modo che contenga «{word}»?"],
    "avoid_word": ["Non usare la parola «{word}»: trova un altro modo per dirlo.", "Riformulala senza «{word}»."],
    "register": ["Rendila {value}.", "Puoi rendere la traduzione un po' {value}?"],
    "audience": ["Adatta la traduzione per {value}.", "Riscrivila in modo che sia facile da capire per {value}."],
    "shorten": ["Accorciala a {limit} {unit} al massimo.", "È troppo lunga: non più di {limit} {unit}, per favore."],
    "grammar": {
        "tense=past": ["Mettila al passato."],
        "tense=future": ["Mettila al futuro."],
        "voice=passive": ["Usa la forma passiva."],
        "person=first_plural": ["Riscrivila alla prima persona plurale («noi»)."],
        "person=third_singular": ["Riscrivila alla terza persona singolare."],
    },
    "polish": ["Rifiniscila in modo che suoni naturale.", "Puoi renderla più scorrevole?"],
    "error_correction": ["C'è un errore di traduzione: dovrebbe essere «{word}». Correggila, per favore.",
                         "Non è del tutto giusto: qui il termine corretto è «{word}»."],
    "explain": ["Perché hai tradotto con «{word}»?", "Spiegami perché hai scelto «{word}»."],
    "format": {
        "numbered_list": ["Dammi tre traduzioni alternative in un elenco numerato."],
        "json": ["Restituisci solo JSON nella forma {{\"translation\": \"...\"}}."],
        "quoted": ["Rispondi solo con la traduzione, tra virgolette."],
    },
    "third_language": ["Ora traducila anche in {lang}.", "E in {lang}?"],
    "back_translation": ["Ritraduci la tua traduzione in {lang}, parola per parola.",
                         "Fanne una retrotraduzione in {lang}, così controllo il significato."],
}

VALUES = {
    "register": {"formal": "più formale", "informal": "più colloquiale"},
    # plural, without an article: after "per"
    "audience": {"children": "bambini piccoli", "experts": "esperti del settore", "learners": "studenti di lingue"},
    "shorten": {"words": "parole", "chars": "caratteri"},
}
