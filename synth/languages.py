"""Language names as the user writes them, in the languages that have request templates (en, zh, de)."""

from __future__ import annotations

NAMES = {
    "en": {"en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish", "ja": "Japanese",
           "ru": "Russian", "it": "Italian", "pt": "Portuguese", "ko": "Korean", "ar": "Arabic", "nl": "Dutch"},
    "zh": {"en": "英文", "zh": "中文", "de": "德语", "fr": "法语", "es": "西班牙语", "ja": "日语", "ru": "俄语",
           "it": "意大利语", "pt": "葡萄牙语", "ko": "韩语", "ar": "阿拉伯语", "nl": "荷兰语"},
    "de": {"en": "Englische", "zh": "Chinesische", "de": "Deutsche", "fr": "Französische", "es": "Spanische",
           "ja": "Japanische", "ru": "Russische", "it": "Italienische", "pt": "Portugiesische", "ko": "Koreanische",
           "ar": "Arabische", "nl": "Niederländische"},
}
TEMPLATE_LANGUAGES = tuple(NAMES)
UNSPACED = {"zh", "ja", "ko"}  # languages written without spaces between words (lengths count characters)
THIRD_LANGUAGES = ("fr", "es", "de", "en", "ja", "it")


def writing_language(lang: str) -> str:
    """The language requests are written in: `lang` if there are templates for it, else English."""
    return lang if lang in NAMES else "en"


def language_name(code: str, in_lang: str) -> str:
    names = NAMES[writing_language(in_lang)]
    return names.get(code, NAMES["en"].get(code, code))
