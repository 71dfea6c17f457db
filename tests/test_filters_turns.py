"""Turn-level dialogue checks (filters/rewrite.py, filters/scripts.py, the phrases of filters/phrases.py) on what a
weak teacher really writes: each case is a failure seen in tests/data/dialogue_labels.jsonl or in the review of
issue 15, next to a good answer of the same kind that must stay."""

import pytest

from redraft.filters.config import FilterSpec
from redraft.filters.registry import build_filters

from filters_dialogues import FIRST, REFERENCE, dialogue

ZH_SOURCE = "然而，考了PMP就能保证项目管理工作畅通无阻了吗？"
ZH_REFERENCE = "However, can you ensure the smooth proceeding of project management work after passing the PMP test?"
ZH_FIRST = "However, can obtaining a PMP certification guarantee smooth project management work?"


def zh_en(answers, revisions=(), **kw):
    return dialogue(answers, revisions, source=ZH_SOURCE, reference=ZH_REFERENCE, src_lang="zh", **kw)


def run(name, docs, **params):
    step = build_filters([FilterSpec(name=name, params=params)], "de", "en", "dialogue")[0]
    return [None if r is True else r[1] for r in step.filter_batch(docs)]


# --- rewrite: is the answer a translation at all? ----------------------------------------------------------------

@pytest.mark.parametrize("kind,args,answer,reason", [
    # a remark that quotes the requested word passed the word check (issue 15)
    ("include_word", {"word": "proceeding"}, "It should be 'proceeding'.", "turn2_remark"),
    ("error_correction", {"word": "executors"}, "The translation uses the word 'implementers' instead of 'executors'.",
     "turn2_remark"),
    ("include_word", {"word": "proceeding"},
     "However, can passing the PMP test ensure the smooth proceeding of project management work?", None),
    # the request echoed back
    ("include_word", {"word": "proceeding"}, "Please use the word \"proceeding\" in the translation.",
     "turn2_request_echoed"),
    # one word for a whole sentence, "in Spanish"
    ("third_language", {"lang": "es"}, "Licenciado.", "turn2_too_short"),
    ("third_language", {"lang": "es"},
     "Sin embargo, ¿aprobar el examen PMP garantiza que la gestión de proyectos funcione sin problemas?", None),
    # a fragment, and a translation followed by an essay about it
    ("polish", {}, "Smooth project management?", "turn2_too_short"),
    ("polish", {}, ZH_FIRST + " It is a rhetorical question: the writer doubts that a certificate alone is enough, "
     "and 畅通无阻 means without any obstacle at all. I kept the question form so that the doubt stays, and used "
     "smooth for the idiom because it reads naturally in English.", "turn2_too_long"),
    # shorten has no lower bound
    ("shorten", {"max_words": 7}, "Does a PMP certificate guarantee smooth projects?", None),
    # a back-translation of plausible length, and one that is not
    ("back_translation", {"lang": "zh"}, "然而，获得PMP认证就能保证项目管理工作顺利吗？", None),
    ("back_translation", {"lang": "zh"}, "项目管理", "turn2_too_short"),
])
def test_rewrite_checks_each_follow_up(kind, args, answer, reason):
    requests = {"include_word": "Please use the word \"proceeding\" in the translation."}
    d = zh_en([ZH_FIRST, answer], [(kind, args)], requests=[requests.get(kind, "Please revise.")])
    assert run("rewrite", [d]) == [reason]


def test_an_unrelated_sentence_is_not_a_rewrite():
    unrelated = "Our shop offers the best prices of the season for all winter jackets and boots."
    assert run("rewrite", [dialogue([FIRST, unrelated], [("register", {"register": "formal"})]),
                           dialogue([FIRST, "The committee shall present its final report in Geneva next week."],
                                    [("register", {"register": "formal"})])]) == ["turn2_not_a_rewrite", None]


def test_a_loop_and_a_copied_source_are_not_translations():
    loop = "The translation of the translation of the translation of the translation of the committee."
    copied = "Der Ausschuss wird seinen Abschlussbericht nächste Woche in Genf vorlegen."
    assert run("rewrite", [dialogue([loop]), dialogue([copied]), dialogue([FIRST])]) == [
        "turn1_repetition", "turn1_copied_source", None]


def test_the_failing_turn_names_the_reason():
    d = dialogue([FIRST, "The committee will publish its final report in Geneva next week.", "Licenciado."],
                 [("include_word", {"word": "publish"}), ("third_language", {"lang": "es"})])
    assert run("rewrite", [d]) == ["turn3_too_short"]


def test_explanations_may_talk_about_the_translation():
    explained = dialogue([FIRST, "I used \"present\" because \"vorlegen\" means to put a report before a body; "
                                 "\"submit\" would work as well."], [("explain", {"word": "present"})])
    assert run("rewrite", [explained]) == [None]


def test_a_chinese_word_said_twice_is_a_garbled_translation():
    # BayLing-13B's WMT22 en-zh output; the reference says it once
    en_zh = dict(source="If you need your order urgently, please choose the express postage option.",
                 reference="如果您的订单是急件，请选择快递邮资选项。", src_lang="en", tgt_lang="zh")
    garbled = dialogue(["如果您需要迅速收货，请选择快递快递选项。"], **en_zh)
    fine = dialogue(["如果您急需收货，请选择快递选项。"], **en_zh)
    # laughter the reference writes too, and Japanese, whose kana words repeat by design
    laughing = dialogue(["哈哈哈哈，这太好笑了。"], source="Hahaha, that's so funny.", reference="哈哈哈哈，太好笑了。",
                        src_lang="en", tgt_lang="zh")
    japanese = dialogue(["いろいろな方法を試しました。"], source="I tried various ways.", reference="色々な方法を試しました。",
                        src_lang="en", tgt_lang="ja")
    assert run("rewrite", [garbled, fine, laughing, japanese]) == ["turn1_stutter", None, None, None]


# --- source text left in the answer ------------------------------------------------------------------------------

def test_source_script_left_in_a_target_language_turn():
    kept_han = zh_en(["However, can passing the PMP 考试 guarantee smooth project management work?"])
    fine = zh_en([ZH_FIRST])
    # an English reference that itself quotes Chinese: the script is allowed
    quoted = zh_en(["The sign reads 畅通无阻, meaning smooth going."])
    quoted.metadata["reference_text"] = "The sign says 畅通无阻 (smooth going)."
    kana_in_chinese = dialogue(["委员会将于下周在日内瓦提交最终报告です。"], tgt_lang="zh",
                               reference="委员会将于下周在日内瓦提交最终报告。")
    assert run("source_script", [kept_han, fine, quoted, kana_in_chinese]) == [
        "turn1_source_script", None, None, "turn1_source_script"]


def test_a_back_translation_into_the_source_is_not_source_script():
    d = zh_en([ZH_FIRST, "然而，获得PMP认证就能保证项目管理工作顺利吗？"], [("back_translation", {"lang": "zh"})])
    wrong = zh_en([ZH_FIRST, "Pourquoi 项目管理 est-il difficile ?"], [("third_language", {"lang": "fr"})])
    assert run("source_script", [d, wrong]) == [None, "turn2_source_script"]


def test_untranslated_source_words_with_an_allowance_for_names():
    half_german = dialogue(["The committee wird seinen Abschlussbericht nächste Woche in Geneva present."])
    names = dialogue(["Only goalkeeper Dinah Eckerle was on form from the start and prevented worse with saves."],
                     source="Lediglich Torfrau Dinah Eckerle war sofort auf Betriebstemperatur und verhinderte "
                            "mit einigen Paraden Schlimmeres.",
                     reference="Only the goalie Dinah Eckerle was ready to play from the start and prevented "
                               "something worse with a few saves.")
    assert run("source_script", [half_german, names, dialogue([FIRST])]) == ["turn1_source_words", None, None]


def test_a_third_language_answer_keeps_names_but_not_the_text_it_translates():
    en_zh = dict(source="\"I had an idea of Lestat as the man of action,\" Rice said in a talk at Southern Illinois "
                        "University in 2010.", reference="2010 年，赖斯在南伊利诺伊大学的一次演讲中说：“我认为莱斯特是个实干家。”",
                 src_lang="en", tgt_lang="zh")
    first = "2010年，赖斯在南伊利诺伊大学的一次演讲中说：“我认为莱斯特是个实干家。”"
    german = dialogue([first, "„Ich sah Lestat als einen Mann der Tat“, sagte Rice 2010 in einem Vortrag an der "
                              "Southern Illinois University."], [("third_language", {"lang": "de"})], **en_zh)
    zh_en = dict(source=ZH_SOURCE, reference=ZH_REFERENCE, src_lang="zh")
    french = dialogue([ZH_FIRST, "Cependant, can obtaining a PMP certification garantir une gestion de projet "
                                 "fluide ?"], [("third_language", {"lang": "fr"})], **zh_en)
    assert run("source_script", [german, french]) == [None, "turn2_source_words"]


def test_latin_text_in_a_chinese_turn():
    en_zh = dict(source="I asked how she is, like I ask all my co-workers if I see them.",
                 reference="我问她怎么样了，就像问候所有同事一样。", src_lang="en", tgt_lang="zh")
    pinyin = dialogue(["我问她怎么样，就像我问所有同事一样。(wǒ wèn tā zěn me yàng)"], **en_zh)
    untranslated = dialogue(["我问她怎么样, like I ask all my co-workers。"], **en_zh)
    fine = dialogue(["我问她还好吗，就像我见到每个同事都会问一样。"], **en_zh)
    title = dialogue(["唯一一次看到主穿梭机全身是在《Cause and Effect》中。"], source="The only time we saw the shuttlebay "
                     "in full scale was in \"Cause and Effect.\"", reference="唯一一次看到主穿梭机全身是在《Cause and "
                     "Effect》中。", src_lang="en", tgt_lang="zh")
    assert run("source_script", [pinyin, untranslated, fine, title]) == [
        "turn1_source_words", "turn1_source_words", None, None]


def test_chinese_in_the_script_variant_of_the_pair():
    # GPT-4's WMT22 en-zh output, in Traditional characters where the reference is in Simplified ones
    en_zh = dict(source="Vacuum therapy has been shown to be effective in treating erectile dysfunction in over 95% "
                        "of men, without any major side effects or drugs.",
                 reference="真空疗法已被证明能有效治疗 95% 以上的男性勃起功能障碍，没有任何重大副作用，不需要使用药物。",
                 src_lang="en", tgt_lang="zh")
    traditional = "真空治療已被證明能在95%以上的男性中有效治療勃起功能障礙，且無任何重大副作用或藥物。"
    simplified = "真空治疗已被证明能在95%以上的男性中有效治疗勃起功能障碍，且无任何重大副作用或药物。"
    # one Traditional character in Simplified text (BayLing-13B's "並且")
    mixed = "真空治疗已被证明能在95%以上的男性中有效治疗勃起功能障碍，並且无任何重大副作用。"
    docs = [dialogue([traditional], **en_zh), dialogue([simplified], **en_zh), dialogue([mixed], **en_zh),
            dialogue([simplified, traditional], [("polish", {})], **en_zh)]
    # the tag decides where it names a variant: zh-TW wants Traditional whatever the reference
    taiwan = dict(en_zh, tgt_lang="zh-TW")
    docs += [dialogue([traditional], **taiwan), dialogue([simplified], **taiwan)]
    # a back-translation into Chinese follows the source's variant
    docs.append(zh_en([ZH_FIRST, "然而，考了PMP就能保證項目管理工作暢通無阻了嗎？"], [("back_translation", {"lang": "zh"})]))
    assert run("turn_language", docs) == ["turn1_script_variant", None, "turn1_script_variant",
                                          "turn2_script_variant", None, "turn1_script_variant",
                                          "turn2_script_variant"]


# --- refusals and meta-talk --------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    "The Spanish translation is: 'Sin embargo, ¿garantiza el PMP una gestión fluida?'",
    "Here is the French version: Cependant, le PMP garantit-il une gestion fluide ?",
    "In German, this would be: Garantiert das PMP-Zertifikat ein reibungsloses Projektmanagement?",
    "Die Übersetzung lautet: Garantiert das PMP-Zertifikat ein reibungsloses Projektmanagement?",
    "Auf Deutsch: Garantiert das PMP-Zertifikat ein reibungsloses Projektmanagement?",
    "英文翻译如下：However, can a PMP certificate guarantee smooth project management?",
    "翻译成英文是：However, can a PMP certificate guarantee smooth project management?",
    "Voici la traduction : Cependant, le PMP garantit-il une gestion fluide ?",
    "La traducción al español es: ¿Garantiza el PMP una gestión fluida?",
    "La traduzione in italiano è: il PMP garantisce una gestione fluida?",
    "日本語訳：しかし、PMPに合格すればプロジェクト管理は順調に進むのだろうか。",
    "This is the English translation for the sentence: However, can a PMP certificate guarantee smooth work?",
    "Aqui está a tradução: No entanto, o PMP garante uma gestão tranquila?",
    "Вот перевод: Однако гарантирует ли сертификат PMP гладкое управление проектами?",
    "На английском:\nHowever, can a PMP certificate guarantee smooth project management?",
    "Переклад українською звучить так: Однак чи гарантує сертифікат PMP безперешкодне управління?",
    "Tady je překlad: Zaručí ale certifikát PMP hladké řízení projektů?",
    "Anglicky:\nHowever, can a PMP certificate guarantee smooth project management?",
    "以下が翻訳です。しかし、PMPに合格すればプロジェクト管理は順調に進むのだろうか。",
    "영어로 번역하면 다음과 같습니다: However, can a PMP certificate guarantee smooth project management?",
    "إليك الترجمة: ومع ذلك، هل تضمن شهادة PMP إدارة سلسة للمشاريع؟",
])
def test_meta_talk_in_every_language_and_with_a_stated_language(answer):
    assert run("refusal", [zh_en([ZH_FIRST, answer], [("third_language", {"lang": "es"})])]) == ["turn2_meta_talk"]


@pytest.mark.parametrize("answer,reference,reason", [
    # the false positive of issue 15: a translation that says "I can't"
    ("I can't wait any longer, thanks.", "I can’t wait any longer, thanks.", None),
    ("Really, truly grateful, I cannot even put it into words.", "Really, truly grateful, I can’t put that into words.",
     None),
    ("I'm sorry, but I can't translate this text.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("I cannot help with translating this request.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("Извините, но я не могу перевести этот текст.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("Вибачте, але я не можу перекласти цей текст.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("Omlouvám se, ale tento text nemohu přeložit.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("Desculpe, mas não posso traduzir este texto.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("죄송하지만 이 텍스트는 번역할 수 없습니다.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("عذرًا، لكن لا أستطيع ترجمة هذا النص.", "I can’t wait any longer, thanks.", "turn1_refusal"),
    ("AIとして、この文章は翻訳できません。", "I can’t wait any longer, thanks.", "turn1_refusal"),
    # a Japanese customer service apologises in every other line: no refusal unless it declines the task
    ("申し訳ございませんが、こちらはただいま在庫切れです。", "Regrettably this is currently out of stock.", None),
    ("申し訳ありませんが、この翻訳はお引き受けできません。", "I can’t wait any longer, thanks.", "turn1_refusal"),
    # a Russian sentence that says "I can't" is no refusal when the reference says so too
    ("Я не могу больше ждать, спасибо.", "Я не могу больше ждать, спасибо.", None),
])
def test_refusals_not_sentences_that_say_cannot(answer, reference, reason):
    d = dialogue([answer], source="我不能再等了，谢谢", reference=reference, src_lang="zh")
    assert run("refusal", [d]) == [reason]


def test_a_chinese_apology_that_translates_the_source_is_no_refusal():
    d = dialogue(["很抱歉，您点的餐可能会晚到一会。"], source="I'm sorry that your order is running late.",
                 reference="很抱歉，您点的餐可能会晚到一会。", src_lang="en", tgt_lang="zh")
    refusing = dialogue(["抱歉，我无法翻译这段内容。"], source="I'm sorry that your order is running late.",
                        reference="很抱歉，您点的餐可能会晚到一会。", src_lang="en", tgt_lang="zh")
    assert run("refusal", [d, refusing]) == [None, "turn1_refusal"]


# --- faithfulness ------------------------------------------------------------------------------------------------

def test_a_swapped_number_word_is_unfaithful_in_any_turn():
    source, reference = ("今年“双十一”狂欢节全国网络支付业务交易金额达到1.77万亿元，相较往年再创新高。",
                         "During the “Double Eleven” festival this year, the amount of national online payment "
                         "business transaction reached 1.77 trillion yuan, a new high compared with previous years.")
    right = "This year's \"Double Eleven\" festival saw 1.77 trillion yuan of online payments nationwide, a new high."
    wrong = right.replace("trillion", "billion")
    docs = [dialogue([right], source=source, reference=reference, src_lang="zh"),
            dialogue([wrong], source=source, reference=reference, src_lang="zh"),
            dialogue([right, wrong], [("polish", {})], source=source, reference=reference, src_lang="zh")]
    assert run("faithfulness", docs) == [None, "turn1_number_mismatch", "turn2_number_mismatch"]


def test_a_rewrite_that_changes_a_name_is_unfaithful():
    # WMT22 zh-en: the reference as turn 1, then a shortened version that renames the author (labelled flawed)
    zh = dict(source="“悬疑天才”杨星辰熬白了头，奉献百万畅销书！", src_lang="zh",
              reference="Yang Xingche, the “thriller genius”, worked until his hair turned gray to contribute a "
                        "million bestselling books!")
    first = zh["reference"]
    renamed = "\"Suspense genius\" Yang Xingtu's hair turned white, dedicating millions of best-selling books!"
    kept = "Thriller genius Yang Xingche went gray writing a million bestsellers!"
    shorten = [("shorten", {"max_words": 14})]
    # a name the user asks for is no change of name
    asked = dialogue([first, "Thriller genius Yang Xingche, also known as Xingxing, wrote a million bestsellers!"],
                     [("include_word", {"word": "Xingxing"})], requests=["Please use the word \"Xingxing\"."], **zh)
    # German capitalises every noun: a capital is no name there
    german = dialogue(["Der Ausschuss legt seinen Bericht in Genf vor.", "Das Gremium legt seinen Bericht in Genf vor."],
                      [("polish", {})], source=REFERENCE, reference="Der Ausschuss wird seinen Bericht in Genf vorlegen.",
                      src_lang="en", tgt_lang="de")
    docs = [dialogue([first, renamed], shorten, **zh), dialogue([first, kept], shorten, **zh), asked, german]
    assert run("faithfulness", docs) == ["turn2_name_changed", None, None, None]


def test_a_short_chinese_translation_worded_unlike_its_reference_is_faithful():
    # chrF on character 6-grams scores it 9.5; on 3-grams it is clearly a translation of the same sentence
    d = dialogue(["我非常乐意帮助您。"], source="I will be happy to assist you.", reference="我很高兴能帮到您。",
                 src_lang="en", tgt_lang="zh")
    unrelated = dialogue(["今天的天气非常好，我们去公园散步吧。"], source="I will be happy to assist you.",
                         reference="我很高兴能帮到您。", src_lang="en", tgt_lang="zh")
    assert run("faithfulness", [d, unrelated]) == [None, "turn1_unfaithful"]


# --- the labelled dialogues (tests/data/dialogue_labels.md) ------------------------------------------------------

def test_the_default_filters_on_the_labelled_dialogues():
    import json
    from pathlib import Path

    from redraft.types import row_to_document

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "dialogue_labels.jsonl").open()]
    docs = [row_to_document({k: v for k, v in r.items() if k not in ("label", "note", "origin")}) for r in rows]
    kept = [True] * len(docs)
    for step in build_filters("default", "und", "und", "dialogue"):
        alive = [i for i, k in enumerate(kept) if k]
        for i, verdict in zip(alive, step.filter_batch([docs[i] for i in alive])):
            kept[i] = verdict is True
    good = [k for k, r in zip(kept, rows) if r["label"] == "good"]
    junk = [k for k, r in zip(kept, rows) if r["label"] == "junk"]
    assert len(good) >= 100 and len(junk) >= 100
    assert sum(good) / len(good) >= 0.95 and not any(junk)


# --- the languages requests are written in (synth/languages/) -----------------------------------------------------

def test_a_japanese_request_quoting_english_is_no_leak():
    """An en-ja answer keeps the English phrase the user quoted in a Japanese request: no source words. Left there
    unasked, the same phrase is."""
    en_ja = dict(source="We trained a machine learning model on the new data.",
                 reference="新しいデータで機械学習モデルを訓練しました。", src_lang="en", tgt_lang="ja")
    first = "新しいデータで機械学習モデルを訓練しました。"
    answer = "新しいデータで machine learning model を訓練しました。"
    asked = dialogue([first, answer], [("include_word", {"word": "machine learning model"})],
                     requests=["「machine learning model」という言葉を使ってください。"], **en_ja)
    unasked = dialogue([first, answer], [("polish", {})], requests=["自然な表現になるように訳文を整えてください。"], **en_ja)
    assert run("source_script", [asked, unasked]) == [None, "turn2_source_words"]


@pytest.mark.parametrize("tgt,first,answer,kind,word,reason", [
    # Slavic cases: the word asked for may appear inflected
    ("ru", "Мы встретимся в библиотеке.", "Мы встретимся у входа в библиотеку.", "include_word", "библиотека", None),
    ("cs", "Sejdeme se v knihovně.", "Sejdeme se u vchodu do knihovny.", "include_word", "knihovna", None),
    ("ru", "Мы встретимся в библиотеке.", "Мы встретимся в читальном зале.", "include_word", "библиотека",
     "turn2_revision_ignored"),
    ("uk", "Ми зустрінемося в бібліотеці.", "Ми зустрінемося біля бібліотеки.", "avoid_word", "бібліотека",
     "turn2_revision_ignored"),
    # Arabic attaches و, ب, ل to the next word
    ("ar", "سنلتقي في المكتبة.", "سنلتقي غدًا وبالمكتبة.", "include_word", "المكتبة", None),
    # Korean particles follow the word
    ("ko", "도서관에서 만나요.", "내일 도서관 앞에서 만나요.", "include_word", "도서관", None),
])
def test_compliance_reads_words_in_each_languages_grammar(tgt, first, answer, kind, word, reason):
    d = dialogue([first, answer], [(kind, {"word": word})], source="We meet at the library.", reference=first,
                 src_lang="en", tgt_lang=tgt)
    assert run("compliance", [d]) == [reason]


@pytest.mark.parametrize("answer", ["«Мы встретимся в библиотеке.»", "„Sejdeme se v knihovně.“", "「図書館で会いましょう。」",
                                    "“도서관에서 만나요.”"])
def test_a_quoted_answer_in_the_languages_quotation_marks_complies(answer):
    d = dialogue(["x y z", answer], [("format", {"format": "quoted"})])
    assert run("compliance", [d]) == [None]


def test_a_source_the_reference_keeps_is_rightly_copied():
    name = dict(source="ParkTool CM-5.3 / DM-1 Dummy Hub", reference="ParkTool CM-5.3 / DM-1 Dummy Hub",
                src_lang="fr", tgt_lang="de")
    assert run("rewrite", [dialogue(["ParkTool CM-5.3 / DM-1 Dummy Hub"], **name)]) == [None]


def test_japanese_length_counts_katakana_words_whole():
    """A Russian third-language answer to an en-ja pair (WMT22) is as long as the Japanese reference: no fragment."""
    d = dialogue(["指輪、イヤリング、ペンダント、マンガルスートラなども取り揃えております。",
                  "Наш ассортимент включает кольца, серьги, подвески и мангалустра."],
                 [("third_language", {"lang": "ru"})],
                 source="Our range includes rings, earrings, pendants, mangalsutras and more.",
                 reference="指輪、イヤリング、ペンダント、マンガルスートラなども取り揃えております。", src_lang="en", tgt_lang="ja")
    assert run("rewrite", [d]) == [None]


def test_a_third_language_answer_may_say_what_its_source_says():
    """WMT22 customer-service lines: a Russian third-language answer to an en-zh pair may wish the reader well where
    the English source does; where the source does not, the wish is the teacher's meta-talk."""
    hope = dict(source="Hope this helps!", reference="希望这能有所帮助！", src_lang="en", tgt_lang="zh")
    plain = dict(source="The parcel arrives on Monday.", reference="包裹周一到达。", src_lang="en", tgt_lang="zh")
    docs = [dialogue(["希望这能有所帮助！", "Надеюсь, это поможет!"], [("third_language", {"lang": "ru"})], **hope),
            dialogue(["包裹周一到达。", "Посылка придёт в понедельник. Надеюсь, это поможет!"],
                     [("third_language", {"lang": "ru"})], **plain),
            # an apology that is not a refusal: the customer service cannot find an account
            dialogue(["包裹周一到达。", "К сожалению, я не могу найти учетную запись с этим адресом."],
                     [("third_language", {"lang": "ru"})], **plain)]
    assert run("refusal", docs) == [None, "turn2_meta_talk", None]
