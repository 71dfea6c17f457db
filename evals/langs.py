"""Language pairs as the evaluation takes them (`zh-en`): two ISO 639 codes (redraft/language_codes.py)."""

from __future__ import annotations

from redraft.errors import UsageError
from redraft.language_codes import check_language_code
from redraft.synth.languages import language_name


def parse_langs(value: str, where: str = "--langs") -> tuple[str, str]:
    codes = (value or "").split("-")
    if len(codes) != 2:
        raise UsageError(f"{where}: {value!r} is not a language pair like zh-en")
    for code in codes:
        try:
            check_language_code(code)
        except ValueError as e:
            raise UsageError(f"{where} {value}: {e}") from None
    return codes[0], codes[1]


# WMT languages synth has no name for
MORE_NAMES = {"cs": "Czech", "uk": "Ukrainian", "pl": "Polish", "tr": "Turkish", "hr": "Croatian", "is": "Icelandic",
              "liv": "Livonian", "sah": "Yakut", "he": "Hebrew", "et": "Estonian", "fi": "Finnish", "lt": "Lithuanian"}


def english_name(code: str) -> str:
    """The language's English name, as BayLing's prompts use it ("Chinese", "German")."""
    return MORE_NAMES.get(code) or language_name(code, "en")
