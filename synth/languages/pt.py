"""Portuguese (Brazilian), addressing the assistant as "você", with “ ” quotes. Names after "para o", "do", "em"."""

NAMES = {"en": "inglês", "zh": "chinês", "de": "alemão", "fr": "francês", "es": "espanhol", "ja": "japonês",
         "ru": "russo", "it": "italiano", "pt": "português", "ko": "coreano", "ar": "árabe", "nl": "holandês",
         "cs": "tcheco", "uk": "ucraniano"}

REQUESTS = [
    "Traduza para o {tgt}: {text}",
    "Você pode traduzir esta frase para o {tgt}?\n\n{text}",
    "Como se diz isso em {tgt}?\n{text}",
    "Traduza o texto abaixo do {src} para o {tgt}:\n{text}",
    "Pode me dar uma tradução em {tgt} de “{text}”?",
    "{text}\n\nTraduza o texto acima para o {tgt}, por favor.",
]

REVISIONS = {
    "include_word": ["Use a palavra “{word}” na tradução, por favor.",
                     "Dá para reformular de um jeito que tenha “{word}”?"],
    "avoid_word": ["Não use a palavra “{word}”; diga de outro jeito.", "Reformule sem “{word}”."],
    "register": ["Deixe a tradução {value}.", "Você pode deixar o texto {value}?"],
    "audience": ["Adapte a tradução para {value}.", "Reescreva de um jeito que {value} entendam com facilidade."],
    "shorten": ["Encurte para no máximo {limit} {unit}.", "Ficou longo demais: no máximo {limit} {unit}, por favor."],
    "grammar": {
        "tense=past": ["Coloque no passado."],
        "tense=future": ["Coloque no futuro."],
        "voice=passive": ["Use a voz passiva."],
        "person=first_plural": ["Reescreva na primeira pessoa do plural (“nós”)."],
        "person=third_singular": ["Reescreva na terceira pessoa do singular."],
    },
    "polish": ["Dê uma polida para soar natural.", "Dá para deixar mais fluente?"],
    "error_correction": ["Tem um erro na tradução: deveria ser “{word}”. Corrija, por favor.",
                         "Não está bem certo; aqui o termo correto é “{word}”."],
    "explain": ["Por que você usou “{word}” na tradução?", "Explique por que você escolheu “{word}”."],
    "format": {
        "numbered_list": ["Me dê três traduções alternativas em uma lista numerada."],
        "json": ["Retorne só JSON no formato {{\"translation\": \"...\"}}."],
        "quoted": ["Responda só com a tradução, entre aspas duplas."],
    },
    "third_language": ["Agora traduza também para o {lang}.", "E em {lang}?"],
    "back_translation": ["Traduza a sua tradução de volta para o {lang}, palavra por palavra.",
                         "Faça uma retrotradução para o {lang} para eu conferir o sentido."],
}

VALUES = {
    "register": {"formal": "mais formal", "informal": "mais informal"},
    # plural: after "para" and as the subject of "de um jeito que ... entendam"
    "audience": {"children": "crianças pequenas", "experts": "especialistas da área", "learners": "estudantes do idioma"},
    "shorten": {"words": "palavras", "chars": "caracteres"},
}
