"""The languages users write their requests in, as data: one module per language (`en.py`, `ja.py`, ...) holds
everything redraft writes in it. A module defines

- `NAMES`: language code -> that language's name as this language writes it: a string, or a dict of the forms its
  grammar needs, keyed as the module's docstring says ("на {tgt[acc]}", "do {tgt[gen]}"), "name" being the plain one;
- `REQUESTS`: first-request templates ({src}, {tgt}: names; {text}: the source sentence);
- `REVISIONS`: revision kind -> templates, or variant -> templates for `grammar` and `format` (see synth/revisions.py
  for each kind's slots);
- `VALUES`: the words the templates slot in: register, audience, and the `shorten` units (a dict of CLDR plural
  categories where a number governs the noun's form: "до 21 слова", "до 5 слов");
- optionally `SPACED = False` (lengths count characters, not words), `LACKS` (grammar variants it has no form for as a
  target language, and why: the draw skips them) and `WORDS` (how to find content words in it, see `Words`).

tests/data/request_templates.md lists every template with an English gloss. Requests for a language without a module
are written in English, with one warning per language.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from functools import cache

from datatrove.utils.logging import logger

CODES = ("en", "zh", "de", "fr", "es", "it", "pt", "ru", "uk", "cs", "ja", "ko", "ar")
THIRD_LANGUAGES = ("fr", "es", "de", "en", "ja", "it")

Name = str | dict[str, str]


@dataclass(frozen=True)
class Words:
    """How content words (lexical constraints) are found in a spaced language: words of `min_letters`+ letters,
    less a trailing particle (Korean writes 도서관에서 for "at the library"; the word to ask for is 도서관), and
    holding no run of `foreign` letters (a Chinese run in an English answer is no English word)."""
    min_letters: int = 4
    particles: tuple[str, ...] = ()
    foreign: re.Pattern = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]{2,}")


@dataclass(frozen=True)
class Language:
    code: str
    names: dict[str, Name]
    requests: list[str]
    revisions: dict[str, list[str] | dict[str, list[str]]]
    values: dict[str, dict[str, Name]]
    spaced: bool = True
    lacks: dict[str, str] = field(default_factory=dict)
    words: Words = Words()


def _load(code: str) -> Language:
    m = importlib.import_module(f"{__name__}.{code}")
    return Language(code, m.NAMES, m.REQUESTS, m.REVISIONS, m.VALUES, getattr(m, "SPACED", True),
                    getattr(m, "LACKS", {}), getattr(m, "WORDS", Words()))


LANGUAGES: dict[str, Language] = {code: _load(code) for code in CODES}
TEMPLATE_LANGUAGES = CODES
# languages written without spaces between words: lengths count characters
UNSPACED = frozenset(code for code, lang in LANGUAGES.items() if not lang.spaced)


def _base(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()


def language(code: str) -> Language | None:
    """The module for `code` ("pt-BR" reads as "pt"), or None."""
    return LANGUAGES.get(code) or LANGUAGES.get(_base(code))


@cache
def _warn_fallback(code: str) -> None:
    name = language_name(code, "en")
    logger.warning(f"synth: no request templates for {name + f' ({code})' if name != code else code}: requests "
                   f"that would be written in it are written in English")


def writing_language(lang: str) -> str:
    """The language requests are written in: `lang` if there are templates for it, else English (warned once)."""
    found = language(lang)
    if found is None:
        _warn_fallback(lang)
        return "en"
    return found.code


class Forms(dict):
    """A name or value with its grammatical forms: formats as its plain form ("{tgt}"), and a form it lacks
    ("{tgt[acc]}" of a name borrowed from English) reads as the plain form too."""

    def __missing__(self, key):
        return self["name"]

    def __format__(self, spec):
        return format(self["name"], spec)


def forms(value: Name) -> Forms:
    return Forms(name=value) if isinstance(value, str) else Forms(value)


def name_forms(code: str, in_lang: str) -> Forms:
    """The name of language `code` as written in `in_lang`, with its grammatical forms; English's name where the
    writing language lacks one, the code where English does too."""
    names = LANGUAGES[writing_language(in_lang)].names
    return forms(names.get(code) or names.get(_base(code)) or LANGUAGES["en"].names.get(_base(code), code))


def language_name(code: str, in_lang: str) -> str:
    return name_forms(code, in_lang)["name"]
