"""English language names as BayLing's prompts use them ("Chinese", "German"), for the languages of WMT and more."""

from __future__ import annotations

from redraft.synth.languages import language_name

# WMT languages synth has no name for
MORE_NAMES = {"cs": "Czech", "uk": "Ukrainian", "pl": "Polish", "tr": "Turkish", "hr": "Croatian", "is": "Icelandic",
              "liv": "Livonian", "sah": "Yakut", "he": "Hebrew", "et": "Estonian", "fi": "Finnish", "lt": "Lithuanian"}


def english_name(code: str) -> str:
    """The language's English name, as BayLing's prompts use it ("Chinese", "German")."""
    return MORE_NAMES.get(code) or language_name(code, "en")
