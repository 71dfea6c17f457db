"""Did each assistant answer do what the user's revision request asked?

A dialogue's `revisions[i]` names the kind of the (i+1)-th user request and `revision_args[i]` (JSON) what to check;
the kinds and their arguments are defined by `redraft.synth.revisions`. Kinds without a mechanical check (register,
audience, grammar, polish) and unknown kinds only have to change the text. `expected_language` tells the language
filter which language each assistant turn must be in.
"""

from __future__ import annotations

import json
import re

from .text import base_lang, is_cjk, normalize

_ITEM_MARK = r"^\s*(?:\d+[.)、:．）]|[-*•・①-⑳])"
_NUMBERED_ITEM = re.compile(_ITEM_MARK + r"\s*\S", re.MULTILINE)
_ITEM_MARKS = re.compile(_ITEM_MARK + r"[ \t]*", re.MULTILINE)
_CODE_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_QUOTES = [('"', '"'), ("“", "”"), ("„", "“"), ("„", "”"), ("「", "」"), ("『", "』"), ("«", "»"), ("»", "«"),
           ("'", "'"), ("‘", "’"), ("‚", "‘")]
# Languages that change a word's ending by case: a word asked for may appear inflected ("книга" as "книгу", "kniha" as
# "knihy"), so it is matched by its stem, less up to two final vowels (or й, ь), keeping 3+ letters.
CASE_ENDINGS = {"ru": "аеёиоуыэюяйь", "uk": "аеєиіїоуюяйь", "be": "аеёіоуыэюяйь", "cs": "aáeéěiíoóuúůyý",
                "sk": "aáäeéiíoóôuúyý", "pl": "aąeęioóuy", "sl": "aeiou", "hr": "aeiou", "sr": "aeiouаеиоу",
                "bs": "aeiou", "bg": "аеиоуъяю", "lt": "aąeęėiįouųūy", "lv": "aāeēiīouūs"}
# Languages that attach words to the front of the next one (Arabic و, ب, ل, ال): a word is matched anywhere.
PREFIXING = {"ar", "fa", "ur", "he"}
# Answers to these kinds are not a new translation of the same text: they need not change it.
NOT_A_REWRITE = {"explain", "third_language", "back_translation", "format"}
# Answers to these kinds are not in the target language.
OTHER_LANGUAGE = {"third_language", "back_translation"}
# Answers to these kinds mix languages (an explanation quotes the translation): not language-checked.
MIXED_LANGUAGE = {"explain"}


def parse_args(raw) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def stem(word: str, lang: str) -> str:
    endings = CASE_ENDINGS.get(base_lang(lang), "")
    for _ in range(2):
        if len(word) > 3 and word[-1] in endings:
            word = word[:-1]
    return word


def contains_word(text: str, word: str, lang: str) -> bool:
    text, word = text.casefold(), word.casefold().strip()
    if not word:
        return True
    if is_cjk(lang) or base_lang(lang) in PREFIXING or not word[0].isalnum():
        return word in text
    # whole word or word-stem (inflections: "Haus" ~ "Hauses", "книга" ~ "книгу"), never inside another word's middle
    return re.search(r"(?<!\w)" + re.escape(stem(word, lang)), text) is not None


def length_of(text: str, unit: str) -> int:
    return len(re.sub(r"\s", "", text)) if unit == "chars" else len(text.split())


def expected_language(kind: str, args: dict, tgt_lang: str) -> str | None:
    """The language the answer to this revision must be in, or None when it is not checked."""
    if kind in OTHER_LANGUAGE:
        return args.get("lang") or None
    if kind in MIXED_LANGUAGE:
        return None
    return tgt_lang


def check_revision(kind: str, args: dict, previous: str, answer: str, lang: str) -> str | None:
    """The reason this answer fails its revision request, or None when it complies (or cannot be checked)."""
    if kind not in NOT_A_REWRITE and normalize(answer) == normalize(previous):
        return "revision_unchanged"
    followed = True
    if kind in ("include_word", "error_correction", "explain") and "word" in args:
        followed = contains_word(answer, args["word"], lang)
    elif kind == "avoid_word":
        words = args.get("words") or ([args["word"]] if "word" in args else [])
        followed = not any(contains_word(answer, w, lang) for w in words)
    elif kind == "shorten":
        for unit in ("words", "chars"):
            if f"max_{unit}" in args:
                followed = length_of(answer, unit) <= int(args[f"max_{unit}"])
    elif kind == "format":
        followed = format_followed(args, answer)
    return None if followed else "revision_ignored"


def _json(text: str):
    """The JSON value of an answer, in a code fence or not; None when it is no JSON."""
    try:
        return json.loads(_CODE_FENCE.sub("", text.strip()))
    except ValueError:
        return None


def _strings(value) -> list[str]:
    """The string values of a JSON value, its keys left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict | list):
        return [s for v in (value.values() if isinstance(value, dict) else value) for s in _strings(v)]
    return []


def _quoted_pair(text: str) -> tuple[str, str] | None:
    return next(((a, b) for a, b in _QUOTES if text.startswith(a) and text.endswith(b) and len(text) > 2), None)


def format_followed(args: dict, answer: str) -> bool:
    fmt, text = args.get("format"), answer.strip()
    if fmt == "numbered_list":
        return len(_NUMBERED_ITEM.findall(text)) >= int(args.get("count", 2))
    if fmt == "json":
        value = _json(text)
        return isinstance(value, dict) and bool(value)
    if fmt == "quoted":
        return _quoted_pair(text) is not None
    return True


def format_content(fmt: str | None, answer: str) -> str:
    """What a format answer says, less the format (what its language is judged on): a JSON answer's string values,
    not its keys ({"translation": ...} is English whatever the translation is in), a quoted answer inside its
    quotation marks, a list's items without their numbers. An answer that does not follow its format, as it is."""
    text = answer.strip()
    if fmt == "json":
        value = _json(text)
        return answer if value is None else "\n".join(_strings(value))
    if fmt == "quoted":
        pair = _quoted_pair(text)
        return answer if pair is None else text[len(pair[0]):-len(pair[1])]
    if fmt == "numbered_list":
        return _ITEM_MARKS.sub("", answer)
    return answer

