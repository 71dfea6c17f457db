"""Spanish, addressing the assistant as "tú", with opening ¿ and « » quotes. Names after "al", "del", "en"."""

NAMES = {"en": "inglés", "zh": "chino", "de": "alemán", "fr": "francés", "es": "español", "ja": "japonés",
         "ru": "ruso", "it": "italiano", "pt": "portugués", "ko": "coreano", "ar": "árabe", "nl": "neerlandés",
         "cs": "checo", "uk": "ucraniano"}

REQUESTS = [
    "Traduce al {tgt}: {text}",
    "¿Me traduces esta frase al {tgt}?\n\n{text}",
    "¿Cómo se dice esto en {tgt}?\n{text}",
    "Traduce lo siguiente del {src} al {tgt}:\n{text}",
    "¿Puedes darme una traducción al {tgt} de «{text}»?",
    "{text}\n\nTraduce el texto de arriba al {tgt}, por favor.",
]

REVISIONS = {
    "include_word": ["Usa la palabra «{word}» en la traducción, por favor.",
                     "¿Puedes reformularla para que incluya «{word}»?"],
    "avoid_word": ["No uses la palabra «{word}»; busca otra forma de decirlo.", "Reformúlala sin «{word}»."],
    "register": ["Hazla {value}.", "¿Podrías hacer que la traducción suene {value}?"],
    "audience": ["Adapta la traducción para {value}.",
                 "Reescríbela de modo que sea fácil de entender para {value}."],
    "shorten": ["Acórtala a {limit} {unit} como máximo.", "Es demasiado larga: que no pase de {limit} {unit}, por favor."],
    "grammar": {
        "tense=past": ["Ponla en pasado."],
        "tense=future": ["Ponla en futuro."],
        "voice=passive": ["Usa la voz pasiva."],
        "person=first_plural": ["Reescríbela en primera persona del plural («nosotros»)."],
        "person=third_singular": ["Reescríbela en tercera persona del singular."],
    },
    "polish": ["Púlela para que suene natural.", "¿Puedes hacer que suene más fluida?"],
    "error_correction": ["Hay un error de traducción: debería decir «{word}». Corrígelo, por favor.",
                         "No es del todo correcto; aquí el término adecuado es «{word}»."],
    "explain": ["¿Por qué usaste «{word}» en la traducción?", "Explícame por qué elegiste «{word}»."],
    "format": {
        "numbered_list": ["Dame tres traducciones alternativas en una lista numerada."],
        "json": ["Devuelve solo JSON con el formato {{\"translation\": \"...\"}}."],
        "quoted": ["Responde solo con la traducción, entre comillas."],
    },
    "third_language": ["Ahora tradúcela también al {lang}.", "¿Y en {lang}?"],
    "back_translation": ["Traduce tu traducción de vuelta al {lang}, palabra por palabra.",
                         "Haz una traducción inversa al {lang} para que pueda comprobar el sentido."],
}

VALUES = {
    "register": {"formal": "más formal", "informal": "más coloquial"},
    # plural, without an article: after "para"
    "audience": {"children": "niños pequeños", "experts": "especialistas en el tema", "learners": "estudiantes del idioma"},
    "shorten": {"words": "palabras", "chars": "caracteres"},
}
