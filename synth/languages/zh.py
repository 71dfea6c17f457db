"""Chinese (Simplified)."""

NAMES = {"en": "英文", "zh": "中文", "de": "德语", "fr": "法语", "es": "西班牙语", "ja": "日语", "ru": "俄语",
         "it": "意大利语", "pt": "葡萄牙语", "ko": "韩语", "ar": "阿拉伯语", "nl": "荷兰语", "cs": "捷克语",
         "uk": "乌克兰语"}

REQUESTS = [
    "请把这句话翻译成{tgt}：{text}",
    "把下面的{src}翻译成{tgt}：\n{text}",
    "“{text}”用{tgt}怎么说？",
    "{text}\n\n请将上面这句话译成{tgt}。",
    "帮我翻译成{tgt}：{text}",
]

REVISIONS = {
    "include_word": ["请在译文中使用“{word}”这个词。", "能改一下吗？译文里要用到“{word}”。"],
    "avoid_word": ["请不要用“{word}”这个词，换个说法。", "译文里别出现“{word}”。"],
    "register": ["请把译文改得{value}一些。", "译文能不能{value}一点？"],
    "audience": ["请把译文改写成适合{value}阅读的版本。", "改写一下，让{value}能轻松看懂。"],
    "shorten": ["请把译文缩短到{limit}个{unit}以内。", "太长了，控制在{limit}个{unit}以内。"],
    "grammar": {
        "tense=past": ["请把译文改成过去时。"],
        "tense=future": ["请把译文改成将来时。"],
        "voice=passive": ["请改用被动语态。"],
        "person=first_plural": ["请改成第一人称复数（“我们”）。"],
        "person=third_singular": ["请改成第三人称单数。"],
    },
    "polish": ["请润色一下译文，让它更自然。", "能让译文更通顺一点吗？"],
    "error_correction": ["有一处翻译错了，应该译为“{word}”。请改正。", "不太对，这里正确的说法是“{word}”。"],
    "explain": ["你为什么用“{word}”来翻译？", "解释一下为什么选“{word}”这个词。"],
    "format": {
        "numbered_list": ["请给出三种不同的译法，用编号列表列出。"],
        "json": ["只返回 JSON，格式为 {{\"translation\": \"...\"}}。"],
        "quoted": ["只回复译文，并用双引号括起来。"],
    },
    "third_language": ["再把它翻译成{lang}。", "用{lang}怎么说？"],
    "back_translation": ["把你的译文再逐字翻译回{lang}。", "请把译文回译成{lang}，我核对一下意思。"],
}

VALUES = {
    "register": {"formal": "更正式", "informal": "更口语化"},
    "audience": {"children": "小孩子", "experts": "专业人士", "learners": "语言初学者"},
    "shorten": {"words": "词", "chars": "字"},
}

SPACED = False
LACKS = {"tense=past": "Chinese verbs do not inflect for tense (了 and 过 mark aspect)",
         "tense=future": "Chinese verbs do not inflect for tense"}
