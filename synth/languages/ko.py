"""Korean, polite (해요체) and casual (반말) requests mixed as users write them, “ ” quotes. Korean is written
with spaces: lengths count words. A particle's form depends on the last syllable of the word before it (을/를), so
quoted material ({text}, {word}) is never followed by one; language names all end in a vowel (영어로, 영어를)."""

import re

from redraft.synth.languages import Words

NAMES = {"en": "영어", "zh": "중국어", "de": "독일어", "fr": "프랑스어", "es": "스페인어", "ja": "일본어", "ru": "러시아어",
         "it": "이탈리아어", "pt": "포르투갈어", "ko": "한국어", "ar": "아랍어", "nl": "네덜란드어", "cs": "체코어",
         "uk": "우크라이나어"}

REQUESTS = [
    "{tgt}로 번역해 주세요: {text}",
    "이 {src} 문장을 {tgt}로 번역해 줄래요?\n\n{text}",
    "이거 {tgt}로 뭐라고 해요?\n{text}",
    "다음 글을 {src}에서 {tgt}로 번역해 줘.\n{text}",
    "다음 문장을 {tgt}로 옮겨 줄 수 있어요? “{text}”",
    "{text}\n\n위 문장을 {tgt}로 번역해 주세요.",
]

REVISIONS = {
    "include_word": ["번역에 이 단어를 꼭 넣어 주세요: “{word}”", "“{word}” 이 단어가 들어가게 다시 써 줄래요?"],
    "avoid_word": ["이 단어는 빼고 다른 표현으로 바꿔 주세요: “{word}”", "“{word}” 없이 다시 써 줘."],
    "register": ["{value} 바꿔 주세요.", "번역을 {value} 다듬어 줄 수 있어요?"],
    "audience": ["{value}에게 맞게 번역을 고쳐 주세요.", "{value}가 쉽게 이해할 수 있게 다시 써 줘."],
    "shorten": ["{limit}{unit} 이내로 줄여 주세요.", "너무 길어요. {limit}{unit} 이내로 해 주세요."],
    "grammar": {
        "tense=past": ["과거형으로 바꿔 주세요."],
        "tense=future": ["미래형으로 바꿔 주세요."],
        "voice=passive": ["수동태로 바꿔 주세요."],
        "person=first_plural": ["1인칭 복수(‘우리’)로 다시 써 주세요."],
        "person=third_singular": ["3인칭 단수로 다시 써 주세요."],
    },
    "polish": ["자연스럽게 읽히도록 다듬어 주세요.", "좀 더 매끄럽게 할 수 있어요?"],
    "error_correction": ["번역이 일부 틀렸어요. 여기는 이렇게 옮겨야 해요: “{word}”. 고쳐 주세요.",
                         "조금 틀렸어요. 여기서 맞는 표현은 “{word}”입니다."],
    "explain": ["“{word}” 이 단어를 고른 이유를 설명해 주세요.", "왜 이 단어를 썼는지 알려 줘: “{word}”"],
    "format": {
        "numbered_list": ["서로 다른 번역 세 가지를 번호를 매긴 목록으로 보여 주세요."],
        "json": ["{{\"translation\": \"...\"}} 형식의 JSON만 보내 주세요."],
        "quoted": ["번역문만 큰따옴표로 감싸서 답해 주세요."],
    },
    "third_language": ["이번엔 {lang}로도 번역해 주세요.", "{lang}로는요?"],
    "back_translation": ["번역한 문장을 {lang}로 한 단어씩 다시 번역해 주세요.", "뜻을 확인하고 싶으니 {lang}로 역번역해 줘."],
}

VALUES = {
    "register": {"formal": "좀 더 격식 있게", "informal": "좀 더 편한 말투로"},
    # all end in a vowel: 가 and 에게 fit every one
    "audience": {"children": "어린아이", "experts": "전문가", "learners": "언어 학습자"},
    "shorten": {"words": "단어", "chars": "자"},
}

# content words: 2+ syllables, less a particle (도서관에서 -> 도서관); particles that also end common nouns (가: 가수,
# 이: 어린이, 도: 정도, 과: 사과) are left on; Hangul is no foreign script here
WORDS = Words(min_letters=2, particles=("에서는", "에게서", "으로는", "에서", "에게", "에는", "께서", "한테", "부터",
                                        "까지", "으로", "처럼", "보다", "을", "를", "은", "는", "에"),
              foreign=re.compile(r"[\u3400-\u9fff\u3040-\u30ff]{2,}"))
