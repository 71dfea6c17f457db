"""Language codes: which are real ISO 639 codes (the `langcodes` registry), the closest known ones to a typo, which
of them language ID can recognise (fasttext lid.176's labels), and the one check of a language pair (`zh-en`) that
every command and API takes."""

from __future__ import annotations

import difflib

from redraft.errors import UsageError

# codes that say "no particular language": accepted, and language ID is off for them
UNDETERMINED = frozenset({"und", "mul", "zxx", "mis"})


def identifiable_languages() -> frozenset[str]:
    """The base codes language ID knows (empty when its model is not installed)."""
    from redraft.filters.langid import identifiable_languages

    try:
        return identifiable_languages()
    except UsageError:
        return frozenset()


def is_language_code(code: str) -> bool:
    """A lowercase ISO 639 code in its standard form (de, not deu; he, not iw)."""
    import langcodes

    return (2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()
            and langcodes.tag_is_valid(code) and langcodes.standardize_tag(code) == code)


def closest_language_codes(code: str, n: int = 3) -> list[str]:
    """Codes the user may have meant: the standard form of a valid tag (ZH, zho, zh_CN -> zh), the language of a
    country code (cn -> zh, jp -> ja), then the codes language ID knows that are spelled most alike."""
    import langcodes
    from langcodes.data_dicts import LIKELY_SUBTAGS

    out = []
    tag = code.strip().replace("_", "-").lower()
    if langcodes.tag_is_valid(tag):
        out.append(langcodes.Language.get(langcodes.standardize_tag(tag)).language)
    if country := LIKELY_SUBTAGS.get(f"und-{code.upper()}"):
        out.append(country.split("-")[0])
    out += difflib.get_close_matches(code.lower(), sorted(identifiable_languages()), n=n, cutoff=0.4)
    return [c for c in dict.fromkeys(out) if c and c != code][:n]


def check_language_code(code: str) -> str:
    """`code` if it is a lowercase ISO 639 code, else ValueError naming the closest known codes."""
    if is_language_code(code):
        return code
    close = closest_language_codes(code)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ValueError(f"{code!r} is not a language code redraft knows (ISO 639, lowercase, shortest form: zh, en, fur){hint}")


def language_pair(value: str | None, where: str = "--langs") -> tuple[str, str]:
    """`zh-en` as ("zh", "en"), else UsageError naming `where` (the flag or field) and the fix."""
    codes = (value or "").split("-")
    if len(codes) != 2:
        raise UsageError(f"{where} {value}: expected two language codes like zh-en")
    for code in codes:
        try:
            check_language_code(code)
        except ValueError as e:
            raise UsageError(f"{where} {value}: {e}") from None
    return codes[0], codes[1]


def language_id_is_off(code: str) -> bool:
    """A real code that language ID cannot recognise (a low-resource language): its side goes unchecked."""
    known = identifiable_languages()
    return bool(known) and code not in UNDETERMINED and code.split("-")[0] not in known
