"""Arabic (Modern Standard), addressing the assistant in the masculine imperative, with Arabic punctuation (، ؟)
and both « » and Latin "" quotes around quoted words. Names: "name" (إلى الإنجليزية, الجملة الإنجليزية), "bi"
(بالإنجليزية: "in English"). Audience values: "acc" (object of تناسب), "nom" (subject of يفهمها)."""

_NAMES = {"en": "الإنجليزية", "zh": "الصينية", "de": "الألمانية", "fr": "الفرنسية", "es": "الإسبانية",
          "ja": "اليابانية", "ru": "الروسية", "it": "الإيطالية", "pt": "البرتغالية", "ko": "الكورية", "ar": "العربية",
          "nl": "الهولندية", "cs": "التشيكية", "uk": "الأوكرانية"}
NAMES = {code: {"name": name, "bi": "ب" + name} for code, name in _NAMES.items()}

REQUESTS = [
    "ترجم إلى {tgt}: {text}",
    "من فضلك ترجم هذه الجملة {src} إلى {tgt}.\n\n{text}",
    "كيف أقول هذا {tgt[bi]}؟\n{text}",
    "ترجم النص التالي من {src} إلى {tgt}:\n{text}",
    "هل يمكنك ترجمة «{text}» إلى {tgt}؟",
    "{text}\n\nترجم النص أعلاه إلى {tgt} من فضلك.",
]

REVISIONS = {
    "include_word": ["استخدم كلمة \"{word}\" في الترجمة من فضلك.", "هل يمكنك إعادة صياغتها بحيث تتضمن «{word}»؟"],
    "avoid_word": ["لا تستخدم كلمة \"{word}\"، وعبّر عنها بطريقة أخرى.", "أعد الصياغة بدون «{word}»."],
    "register": ["اجعل الترجمة {value}.", "هل يمكنك أن تجعل الترجمة تبدو {value}؟"],
    "audience": ["عدّل الترجمة لتناسب {value[acc]}.", "أعد كتابتها بحيث يفهمها {value[nom]} بسهولة."],
    # "the number of words does not exceed N": no noun after the number, so no number agreement
    "shorten": ["اختصر الترجمة بحيث لا يتجاوز عدد {unit} {limit}.",
                "الترجمة طويلة جدًا، اجعل عدد {unit} فيها {limit} على الأكثر من فضلك."],
    "grammar": {
        "tense=past": ["ضعها في صيغة الماضي."],
        "tense=future": ["ضعها في صيغة المستقبل."],
        "voice=passive": ["استخدم صيغة المبني للمجهول."],
        "person=first_plural": ["أعد كتابتها بضمير المتكلمين («نحن»)."],
        "person=third_singular": ["أعد كتابتها بصيغة الغائب المفرد."],
    },
    "polish": ["حسّن صياغة الترجمة لتبدو طبيعية.", "هل يمكنك جعلها أكثر سلاسة؟"],
    "error_correction": ["هناك خطأ في الترجمة: الصواب هو \"{word}\". صحّحها من فضلك.",
                         "ليس صحيحًا تمامًا، المصطلح الصحيح هنا هو «{word}»."],
    "explain": ["لماذا استخدمت «{word}» في الترجمة؟", "اشرح لي سبب اختيارك لكلمة \"{word}\"."],
    "format": {
        "numbered_list": ["أعطني ثلاث ترجمات بديلة في قائمة مرقّمة."],
        "json": ["أعد JSON فقط بالشكل {{\"translation\": \"...\"}}."],
        "quoted": ["أجب بالترجمة فقط بين علامتي تنصيص مزدوجتين."],
    },
    "third_language": ["والآن ترجمها إلى {lang} أيضًا.", "وماذا عن {lang}؟"],
    "back_translation": ["أعد ترجمة ترجمتك إلى {lang} كلمة بكلمة.", "ترجمها ترجمة عكسية إلى {lang} لأتحقق من المعنى."],
}

VALUES = {
    "register": {"formal": "أكثر رسمية", "informal": "أقل رسمية"},
    "audience": {"children": {"name": "الأطفال الصغار", "acc": "الأطفال الصغار", "nom": "الأطفال الصغار"},
                 "experts": {"name": "المتخصصون", "acc": "المتخصصين في المجال", "nom": "المتخصصون في المجال"},
                 "learners": {"name": "متعلمو اللغة", "acc": "متعلمي اللغة", "nom": "متعلمو اللغة"}},
    "shorten": {"words": "الكلمات", "chars": "الأحرف"},
}
