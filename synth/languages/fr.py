"""French, addressing the assistant as "tu". Spaced punctuation as typed in chat: a space before : ? ! and inside
« ». Names: "name" (en anglais), "from" (de l'anglais, du chinois)."""

NAMES = {
    "en": {"name": "anglais", "from": "de l'anglais"}, "zh": {"name": "chinois", "from": "du chinois"},
    "de": {"name": "allemand", "from": "de l'allemand"}, "fr": {"name": "français", "from": "du français"},
    "es": {"name": "espagnol", "from": "de l'espagnol"}, "ja": {"name": "japonais", "from": "du japonais"},
    "ru": {"name": "russe", "from": "du russe"}, "it": {"name": "italien", "from": "de l'italien"},
    "pt": {"name": "portugais", "from": "du portugais"}, "ko": {"name": "coréen", "from": "du coréen"},
    "ar": {"name": "arabe", "from": "de l'arabe"}, "nl": {"name": "néerlandais", "from": "du néerlandais"},
    "cs": {"name": "tchèque", "from": "du tchèque"}, "uk": {"name": "ukrainien", "from": "de l'ukrainien"},
}

REQUESTS = [
    "Traduis en {tgt} : {text}",
    "Tu peux me traduire cette phrase en {tgt} ?\n\n{text}",
    "Comment on dit ça en {tgt} ?\n{text}",
    "Traduis le texte suivant {src[from]} en {tgt} :\n{text}",
    "Tu pourrais me donner une traduction en {tgt} de « {text} » ?",
    "{text}\n\nTraduis le texte ci-dessus en {tgt}, s'il te plaît.",
]

REVISIONS = {
    "include_word": ["Utilise le mot « {word} » dans la traduction, s'il te plaît.",
                     "Tu peux la reformuler pour qu'elle contienne « {word} » ?"],
    "avoid_word": ["N'utilise pas le mot « {word} », trouve une autre façon de le dire.", "Reformule sans « {word} »."],
    "register": ["Rends la traduction {value}.", "Tu pourrais la rendre un peu {value} ?"],
    "audience": ["Adapte la traduction pour {value}.", "Réécris-la pour que {value} la comprennent facilement."],
    "shorten": ["Raccourcis-la à {limit} {unit} maximum.", "C'est trop long : pas plus de {limit} {unit}, s'il te plaît."],
    "grammar": {
        "tense=past": ["Mets-la au passé."],
        "tense=future": ["Mets-la au futur."],
        "voice=passive": ["Utilise la voix passive."],
        "person=first_plural": ["Réécris-la à la première personne du pluriel (« nous »)."],
        "person=third_singular": ["Réécris-la à la troisième personne du singulier."],
    },
    "polish": ["Peaufine la traduction pour qu'elle paraisse plus naturelle.", "Tu peux la rendre plus fluide ?"],
    "error_correction": ["Il y a une erreur de traduction : il faudrait mettre « {word} ». Corrige-la, s'il te plaît.",
                         "Ce n'est pas tout à fait ça, le bon terme ici est « {word} »."],
    "explain": ["Pourquoi as-tu traduit par « {word} » ?", "Explique-moi le choix de « {word} »."],
    "format": {
        "numbered_list": ["Donne-moi trois traductions différentes sous forme de liste numérotée."],
        "json": ["Renvoie uniquement du JSON de la forme {{\"translation\": \"...\"}}."],
        "quoted": ["Réponds seulement avec la traduction, entre guillemets."],
    },
    "third_language": ["Maintenant, traduis-la aussi en {lang}.", "Et en {lang} ?"],
    "back_translation": ["Retraduis ta traduction en {lang}, mot à mot.",
                         "Fais-en une rétrotraduction en {lang} pour que je vérifie le sens."],
}

VALUES = {
    # "la traduction" is feminine
    "register": {"formal": "plus formelle", "informal": "plus familière"},
    "audience": {"children": "de jeunes enfants", "experts": "des spécialistes du domaine",
                 "learners": "des apprenants"},
    "shorten": {"words": "mots", "chars": "caractères"},
}
