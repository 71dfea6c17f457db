"""What an assistant turn says instead of (or around) a translation, as regular expressions (Rust `regex` syntax, also
valid for Python `re`), in every language redraft's requests are written in (en, zh, de, fr, es, it, pt, ru, uk, cs,
ja, ko, ar: synth/languages/), which covers every language an answer is asked for by default.

REFUSAL: the assistant declines the task. META_TALK: it talks about itself or the task, or announces the translation
("Here is the translation:", "The Spanish translation is:", "Auf Deutsch:", "英文翻译如下："). REMARK: it comments on the
translation or the words instead of giving one ("It should be 'X'.", "The translation uses the word 'X' instead of
'Y'."), or names what it is working on (translation, sentence, original text, 译文, Übersetzung...), which a
translation of a sentence that does not itself talk about translations never does. All match lower-cased text. A
sentence may legitimately say such a thing ("I can't wait any longer"): the filters skip a pattern that the pair's own
source or reference also matches, and read ’ as '. An answer in a third language cannot match the pair's texts
pattern by pattern: there a list's pattern is skipped when any pattern of the list matches the source or reference
("Надеюсь, это поможет!" translating "Hope this helps!").
"""

from __future__ import annotations

# Language names as each language writes them, for the meta-talk that states the target language.
LANGUAGE_NAMES = {
    "en": ["english", "chinese", "german", "french", "spanish", "japanese", "italian", "russian", "portuguese",
           "korean", "arabic", "dutch", "czech", "ukrainian", "mandarin"],
    "zh": ["英文", "英语", "中文", "汉语", "德语", "德文", "法语", "法文", "西班牙语", "日语", "日文", "意大利语", "俄语",
           "葡萄牙语", "韩语", "阿拉伯语", "荷兰语", "捷克语", "乌克兰语"],
    "de": ["englisch", "englische", "chinesisch", "chinesische", "deutsch", "deutsche", "französisch", "französische",
           "spanisch", "spanische", "japanisch", "japanische", "italienisch", "italienische", "russisch", "russische",
           "portugiesisch", "portugiesische", "koreanisch", "koreanische", "arabisch", "arabische", "niederländisch",
           "niederländische", "tschechisch", "tschechische", "ukrainisch", "ukrainische"],
    "fr": ["anglais", "chinois", "allemand", "français", "espagnol", "japonais", "italien", "russe", "portugais",
           "coréen", "arabe", "néerlandais", "tchèque", "ukrainien"],
    "es": ["inglés", "chino", "alemán", "francés", "español", "japonés", "italiano", "ruso", "portugués", "coreano",
           "árabe", "neerlandés", "checo", "ucraniano"],
    "it": ["inglese", "cinese", "tedesco", "francese", "spagnolo", "giapponese", "italiano", "russo", "portoghese",
           "coreano", "arabo", "olandese", "ceco", "ucraino"],
    "pt": ["inglês", "chinês", "alemão", "francês", "espanhol", "japonês", "italiano", "russo", "português",
           "coreano", "árabe", "holandês", "tcheco", "checo", "ucraniano"],
    # Slavic names by stem: every case (на английский, с английского, на английском, по-английски)
    "ru": [stem + r"\w*" for stem in ("английск", "китайск", "немецк", "французск", "испанск", "японск", "русск",
                                      "итальянск", "португальск", "корейск", "арабск", "нидерландск", "голландск",
                                      "чешск", "украинск")],
    "uk": [stem + r"\w*" for stem in ("англійськ", "китайськ", "німецьк", "французьк", "іспанськ", "японськ",
                                      "російськ", "італійськ", "португальськ", "корейськ", "арабськ",
                                      "нідерландськ", "чеськ", "українськ")],
    "cs": [stem + r"\w*" for stem in ("angli", "čín", "něm", "francouz", "španěl", "japon", "rus", "ital",
                                      "portugal", "korej", "arab", "nizozem", "češ", "česk", "ukrajin")],
    "ja": ["英語", "中国語", "ドイツ語", "フランス語", "スペイン語", "日本語", "イタリア語", "ロシア語", "ポルトガル語",
           "韓国語", "アラビア語", "オランダ語", "チェコ語", "ウクライナ語"],
    "ko": ["영어", "중국어", "독일어", "프랑스어", "스페인어", "일본어", "이탈리아어", "러시아어", "포르투갈어", "한국어",
           "아랍어", "네덜란드어", "체코어", "우크라이나어"],
    "ar": ["الإنجليزية", "الإنكليزية", "الصينية", "الألمانية", "الفرنسية", "الإسبانية", "اليابانية", "الروسية",
           "الإيطالية", "البرتغالية", "الكورية", "العربية", "الهولندية", "التشيكية", "الأوكرانية"],
}


def _any(words) -> str:
    return "(?:" + "|".join(sorted(set(words), key=len, reverse=True)) + ")"


_EN, _ZH, _DE = _any(LANGUAGE_NAMES["en"]), _any(LANGUAGE_NAMES["zh"]), _any(LANGUAGE_NAMES["de"])
_FR, _ES, _IT, _PT, _JA, _KO = (_any(LANGUAGE_NAMES[k]) for k in ("fr", "es", "it", "pt", "ja", "ko"))
_RU, _UK, _CS = (_any(LANGUAGE_NAMES[k]) for k in ("ru", "uk", "cs"))

REFUSAL = [
    # en: an apology or "I can't" followed by what an assistant declines to do
    r"\b(?:i'm|i am) sorry,? but (?:i|as an)\b",
    r"\bi (?:cannot|can't|can not|am unable to|won't|will not|'m unable to) "
    r"(?:help (?:you|with)|assist|translate|provide|fulfill|fulfil|comply|complete|do that|do this|answer|process|"
    r"rewrite|perform|generate|create|write|support)\b",
    r"\bas an ai\b", r"\bi apologi[sz]e, but\b", r"\bi'm not able to (?:help|translate|assist)\b",
    # zh
    r"(?:抱歉|对不起)[，,]\s*(?:但)?(?:我)?(?:无法|不能|没法)", r"我(?:无法|不能|没法)(?:帮|协助|翻译|提供|完成|回答|处理)",
    r"作为(?:一个)?(?:人工智能|ai|语言模型)",
    # de
    r"\bich kann (?:ihnen |dir )?(?:dabei |hier )?nicht (?:helfen|übersetzen)\b",
    r"\bals (?:eine )?ki\b",
    # fr, es, it, ja
    r"\bje suis désolée?, mais\b", r"\bje ne peux pas (?:traduire|aider|vous aider)\b",
    r"\blo siento, pero\b", r"\bno puedo (?:traducir|ayudar)\b",
    r"\bmi dispiace, ma\b", r"\bnon posso (?:tradurre|aiutare)\b",
    # ja: not 申し訳ございませんが alone, which every Japanese customer service writes
    r"申し訳(?:ありません|ございません)が、?(?:この|その|ご依頼の)?(?:翻訳|依頼|リクエスト|お手伝い)",
    r"(?:翻訳|お手伝い)(?:は|が)?できません",
    r"(?:ai|人工知能|言語モデル)として",
    # pt, ru, uk, cs, ko, ar: "I can't" with what an assistant declines (an apology alone is a customer service's)
    r"\bnão (?:posso|consigo) (?:traduzir|ajudar)\b",
    r"\bя не (?:могу|смогу) (?:помочь|перевести|выполнить)\b", r"\bкак (?:ии|искусственный интеллект)\b",
    r"\bя не (?:можу|зможу) (?:допомогти|перекласти|виконати)\b", r"\bяк (?:ші|штучний інтелект)\b",
    r"\b(?:nemohu|nemůžu) (?:vám |ti )?(?:pomoci|pomoct|přeložit)\b", r"\bjako (?:ai|umělá inteligence)\b",
    r"번역(?:해 드릴|할) 수 없", r"(?:ai|인공지능|언어 모델)(?:로서|으로서)",
    r"لا (?:أستطيع|يمكنني) (?:ترجمة|المساعدة في الترجمة)", r"(?:بصفتي|كوني) (?:ذكاء|نموذج)",
]

META_TALK = [
    # en: about itself, the help, or announcing the translation (with or without naming the language)
    r"\bas an? (?:ai|language model)\b", r"\blanguage model\b", r"\b(?:i )?hope (?:this|that|it) helps\b",
    r"\bhere(?:'s| is| are|’s)\b[^.:\n]{0,40}\b(?:translation|version|rewrite|sentence)s?\b",
    rf"\b(?:the |a |an |my |this |your )?(?:{_EN} )?(?:translation|version)s?(?: of [^:\n]{{0,80}}?)?"
    rf"(?: (?:in|into|to) {_EN})? (?:is|would be|reads|could be|are|will be)\b[^.\n]{{0,10}}:",
    rf"\b(?:the |a )?(?:{_EN} )(?:translation|version)s? (?:is|would be|reads|could be)\b",
    rf"\btranslat(?:ed|ion|es|ing)? (?:in|into|to) {_EN}\b", rf"(?:^|\n)\s*(?:in )?{_EN}(?: translation| version)?\s*:",
    rf"\bin {_EN},? (?:this|it|that) (?:would be|is|reads|means)\b", r"(?:^|\n)\s*translation\s*:",
    r"\bthe translation is\b", r"\bthis translation\b",
    rf"\bthis is (?:the|a|my|an) (?:{_EN} )?(?:translation|version)\b",
    rf"\b(?:{_EN} )?translation (?:for|of) (?:the|this) (?:sentence|text|phrase)\b",
    # zh
    r"以下是[^。\n]{0,12}(?:翻译|译文|译法|(?:句子|版本)\s*[:：])", r"(?:翻译|译文|翻譯)如下", rf"(?:{_ZH})?(?:翻译|译文|翻譯)(?:是|为)\s*[:：]?", rf"(?:翻译|译)成{_ZH}(?:是|为|：|:)",
    rf"用{_ZH}(?:说|表达)(?:是|为|：|:)", rf"{_ZH}(?:翻译|译文|版本)\s*[:：]", r"希望(?:这|能)?(?:对你|对您)有(?:所)?帮助", r"希望这能(?:有所)?帮",
    r"作为(?:一个)?语言模型",
    # de
    r"\bhier (?:ist|sind) (?:die|eine|meine)\b[^.:\n]{0,30}übersetzung",
    rf"\b(?:die |eine )?(?:{_DE} )?übersetzung(?: ins {_DE}| auf {_DE})? (?:lautet|ist|wäre)\b",
    rf"(?:^|\n)\s*(?:auf |in )?{_DE}\s*:", rf"\bauf {_DE} (?:heißt|wäre|lautet) (?:das|es)\b",
    rf"\bübersetzt (?:ins|auf) {_DE}\b",
    # fr
    r"\bvoici (?:la|une|ma)\b[^.:\n]{0,30}traduction", rf"\bla traduction(?: en {_FR})? (?:est|serait)\b",
    rf"(?:^|\n)\s*en {_FR}\s*:",
    # es
    r"\baquí (?:está|tienes) (?:la|una)\b[^.:\n]{0,30}traducción",
    rf"\bla traducción(?: al {_ES}| en {_ES})? (?:es|sería)\b",
    rf"(?:^|\n)\s*en {_ES}\s*:",
    # it
    r"\becco (?:la|una)\b[^.:\n]{0,30}traduzione", rf"\bla traduzione(?: in {_IT})? (?:è|sarebbe)\b",
    rf"(?:^|\n)\s*in {_IT}\s*:",
    # pt
    r"\baqui está (?:a|uma|minha)\b[^.:\n]{0,30}tradução", rf"\ba tradução(?: para o {_PT}| em {_PT})? (?:é|seria)\b",
    rf"(?:^|\n)\s*em {_PT}\s*:",
    # ru, uk: "вот перевод", "перевод:", "на английском:", "по-английски это ..."
    r"\bвот (?:мой |ваш |твой )?(?:перевод|вариант перевода)", r"(?:^|\n)\s*перевод\s*:",
    rf"\bперевод(?: на {_RU})? (?:звучит|будет звучать|будет такой)\b", rf"(?:^|\n)\s*(?:на )?{_RU}\s*:",
    r"\bось (?:мій |ваш |твій )?(?:переклад|варіант перекладу)", r"(?:^|\n)\s*переклад\s*:",
    rf"\bпереклад(?: на {_UK}| {_UK})? (?:звучить|звучатиме|буде такий)\b", rf"(?:^|\n)\s*(?:на )?{_UK}\s*:",
    r"\bсподіваюся,? (?:це|цей переклад) (?:допоможе|допоміг)", r"\bнадеюсь,? (?:это|этот перевод) (?:поможет|помог)",
    # cs
    r"\b(?:zde|tady|tu) (?:je|máte|máš) (?:můj |váš )?překlad", r"(?:^|\n)\s*překlad\s*:",
    rf"\bpřeklad(?: do {_CS})? (?:zní|by zněl)\b", rf"(?:^|\n)\s*(?:v |do )?{_CS}\s*:", r"\bdoufám, že (?:vám |ti )?to pomůže",
    # ja
    r"翻訳(?:は以下|すると|は次)", r"(?:翻訳|訳)(?:は|：|:)", rf"{_JA}(?:訳|で言うと|では)(?:は|：|:)?",
    r"以下(?:が|は)(?:翻訳|訳)", r"お役に立てれば幸い",
    # ko
    r"번역(?:은|하면|한 문장은|문은)?\s*(?:다음과|아래와) 같", r"(?:^|\n)\s*번역(?:문)?\s*[:：]",
    rf"{_KO}로 (?:번역하면|옮기면|하면)", r"도움이 되(?:었|셨)으면", rf"(?:^|\n)\s*{_KO}\s*[:：]",
    # ar
    r"إليك (?:الترجمة|ترجمة)", r"(?:^|\n)\s*الترجمة\s*:", r"الترجمة (?:هي|ستكون)\s*:", r"أتمنى أن (?:يكون|تكون) .{0,10}مفيد",
]

REMARK = [
    # en: talks about the translation or its words instead of giving one
    r"^(?:it|this|that) (?:should|could|would|must) be\s*['\"“‘]", r"\binstead of ['\"“‘]",
    r"\bthe (?:word|term|phrase) ['\"“‘][^'\"”’]{1,40}['\"”’] (?:is|means|should|was|has)\b",
    r"\bthe (?:correct|right|proper) (?:word|term|translation)\b", r"\b(?:uses|used|use) the (?:word|term)\b",
    r"\bthe (?:sentence|translation|original) (?:uses|means|says|is about|refers)\b",
    # zh
    r"应该(?:是|为|译为|译成|用)\s*[“\"'「]", r"这个词", r"(?:译文|翻译)(?:中|里)(?:的|用了)",
    # de
    r"^(?:es|das) (?:sollte|müsste|muss) [^.]{0,20}(?:heißen|sein)\b", r"\bdas wort [„\"']", r"\bstatt [„\"']",
    # fr, es, it, pt
    r"\ble mot [«\"']", r"\bla palabra [\"'«]", r"\bla parola [\"'«]", r"\ba palavra [\"'«“]",
    # ru, uk, cs: "вместо «X»" (instead of "X")
    r"\bвместо [«\"„]", r"\bзамість [«\"„]", r"\bmísto [„\"«]",
    # ja, ko, ar
    r"という(?:言葉|単語|語)(?:を|は)", r"(?:이라는|라는) 단어", r"كلمة [\"«]",
]

# Words for the task itself: in an answer whose source and reference do not use them, the answer talks about the task.
TASK_WORDS = [
    r"\btranslat(?:e|es|ed|ing|ion|ions|or)\b", r"\bsentence\b", r"\bphrase\b", r"\boriginal (?:text|word)\b",
    r"\bexplanation\s*:", r"翻译", r"译文", r"原文", r"原句", r"这句话", r"说明\s*[:：]", r"\bübersetz\w*", r"\bsatz\b",
    r"\btraduc\w+", r"\btraduz\w+", r"\btraduç\w+", r"翻訳", r"訳文", r"\bfrase\b",
    # not Russian перевод: a bank transfer too
    r"\bпереклад(?:у|і|ом|ач|ати|іть|и)?\b", r"\bpřeklad\w*",
    r"번역", r"ترجمة",
]
