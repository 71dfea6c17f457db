"""Japanese, polite (です・ます) and casual requests mixed as users write them, 「」 quotes and full-width punctuation."""

NAMES = {"en": "英語", "zh": "中国語", "de": "ドイツ語", "fr": "フランス語", "es": "スペイン語", "ja": "日本語",
         "ru": "ロシア語", "it": "イタリア語", "pt": "ポルトガル語", "ko": "韓国語", "ar": "アラビア語", "nl": "オランダ語",
         "cs": "チェコ語", "uk": "ウクライナ語"}

REQUESTS = [
    "{tgt}に翻訳してください：{text}",
    "この{src}の文を{tgt}に訳してもらえますか？\n\n{text}",
    "これは{tgt}で何と言いますか？\n{text}",
    "次の文を{src}から{tgt}に翻訳して。\n{text}",
    "「{text}」を{tgt}に訳してくれる？",
    "{text}\n\n上の文を{tgt}に訳してください。",
]

REVISIONS = {
    "include_word": ["訳文に「{word}」という言葉を使ってください。", "「{word}」を入れて言い換えてもらえますか？"],
    "avoid_word": ["「{word}」という言葉は使わずに、別の言い方にしてください。", "「{word}」を使わないで書き直して。"],
    "register": ["もっと{value}してください。", "訳文をもう少し{value}できますか？"],
    "audience": ["{value}向けに訳文を書き直してください。", "{value}が読みやすいように書き直して。"],
    "shorten": ["{limit}{unit}以内に短くしてください。", "長すぎるので、{limit}{unit}以内でお願いします。"],
    "grammar": {
        "tense=past": ["過去形にしてください。"],
        "tense=future": ["未来形にしてください。"],
        "voice=passive": ["受け身の文にしてください。"],
        "person=first_plural": ["一人称複数（「私たち」）で書き直してください。"],
        "person=third_singular": ["三人称単数で書き直してください。"],
    },
    "polish": ["自然な表現になるように訳文を整えてください。", "もう少し自然な訳にできる？"],
    "error_correction": ["訳し間違いがあります。「{word}」とするべきです。直してください。",
                         "ちょっと違います。ここは「{word}」が正しいです。"],
    "explain": ["なぜ「{word}」と訳したのですか？", "「{word}」を選んだ理由を説明して。"],
    "format": {
        "numbered_list": ["別の訳し方を3つ、番号付きリストで出してください。"],
        "json": ["{{\"translation\": \"...\"}} の形のJSONだけを返してください。"],
        "quoted": ["訳文だけをダブルクォーテーションで囲んで返してください。"],
    },
    "third_language": ["次は{lang}にも訳してください。", "{lang}だと？"],
    "back_translation": ["あなたの訳を{lang}に逐語的に訳し戻してください。", "意味を確認したいので、{lang}に逆翻訳してください。"],
}

VALUES = {
    "register": {"formal": "フォーマルな表現に", "informal": "くだけた表現に"},
    "audience": {"children": "小さな子ども", "experts": "専門家", "learners": "語学の学習者"},
    "shorten": {"words": "語", "chars": "文字"},
}

SPACED = False
LACKS = {"tense=future": "Japanese verbs have no future tense: the non-past form speaks of the future"}
