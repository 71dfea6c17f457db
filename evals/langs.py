"""Language pairs as the evaluation takes them (`zh-en`): two codes the language identifier knows."""

from __future__ import annotations

import re
from functools import cache

from redraft.errors import UsageError
from redraft.synth.languages import language_name

_PAIR = re.compile(r"^([a-z]{2,3})-([a-z]{2,3})$")


@cache
def known_languages() -> frozenset[str]:
    """The languages fasttext's lid.176 identifies: the ones whose every answer can be language-checked."""
    from redraft.filters.langid import LanguageIdentifier

    return frozenset(label.removeprefix("__label__") for label in LanguageIdentifier().model.get_labels())


def parse_langs(value: str, where: str = "--langs") -> tuple[str, str]:
    m = _PAIR.match(value or "")
    if not m:
        raise UsageError(f"{where}: {value!r} is not a language pair like zh-en")
    for code in m.groups():
        if code not in known_languages():
            raise UsageError(f"{where}: unknown language {code!r} in {value!r}")
    return m.group(1), m.group(2)


# WMT languages synth has no name for
MORE_NAMES = {"cs": "Czech", "uk": "Ukrainian", "pl": "Polish", "tr": "Turkish", "hr": "Croatian", "is": "Icelandic",
              "liv": "Livonian", "sah": "Yakut", "he": "Hebrew", "et": "Estonian", "fi": "Finnish", "lt": "Lithuanian"}


def english_name(code: str) -> str:
    """The language's English name, as BayLing's prompts use it ("Chinese", "German")."""
    return MORE_NAMES.get(code) or language_name(code, "en")
