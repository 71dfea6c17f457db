"""What a run checks before any work (and any teacher call), whoever starts it: the CLI or a Python call.

`check_curation` takes the arguments of `curate` (the input exists, the language pair is two real codes, the output
folder is writable and apart from the input); a recipe's own fields are checked when it loads (recipes/schema.py).
`checked_sample` then reads the first rows: there must be some, and parallel pairs must be in their declared
languages, not the other way round or some third language.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from redraft.errors import InputError, UsageError
from redraft.filters.language_codes import language_id_is_off, language_pair
from redraft.hub import is_hub_id
from redraft.output import check_output_dir


def check_curation(input_path: str, out: str | Path, langs: str | None) -> tuple[str | None, str | None]:
    """`curate`'s arguments, checked in the order a user fixes them; returns the language pair (None, None when
    not given)."""
    if not Path(input_path).exists() and not is_hub_id(str(input_path)):
        raise UsageError(f"{input_path}: no such file or folder")
    pair = language_pair(langs) if langs else (None, None)
    check_output_dir(out, [input_path])
    return pair


def no_rows(path: str) -> InputError:
    """The error for an input that holds no rows at all (empty, or only blank lines)."""
    return InputError(str(path), None, "no rows: the input is empty (blank lines do not count); nothing was written")


def checked_sample(reader, where: str, n: int = 200) -> list:
    """The first `n` rows of `reader` (an ItemReader), once they pass two checks: there are rows at all (InputError
    "no rows"), and parallel pairs are in their declared languages (UsageError naming the fix)."""
    rows = list(islice(reader.read(), n))
    if not rows:
        raise no_rows(where)
    pairs = [d for d in rows if "messages" not in d.metadata]
    if len(pairs) >= 5:
        _check_languages(pairs, where)
    return rows


def _check_languages(pairs: list, where: str) -> None:
    import polars as pl

    from redraft.filters.langid import LanguageIdentifier

    src_lang, tgt_lang = pairs[0].metadata["src_lang"], pairs[0].metadata["tgt_lang"]
    pairs = [d for d in pairs if (d.metadata["src_lang"], d.metadata["tgt_lang"]) == (src_lang, tgt_lang)]
    if src_lang == tgt_lang or language_id_is_off(src_lang) or language_id_is_off(tgt_lang) or len(pairs) < 5:
        return
    n, sources, targets = len(pairs), [d.text for d in pairs], [d.metadata["reference_text"] for d in pairs]
    # each side in its declared language, then each in the other side's
    agrees = LanguageIdentifier().agreement(
        pl.Series(sources + targets + sources + targets, dtype=pl.String),
        pl.Series([src_lang] * n + [tgt_lang] * n + [tgt_lang] * n + [src_lang] * n, dtype=pl.String))
    src_ok, tgt_ok, src_crossed, tgt_crossed = (agrees.slice(i * n, n) for i in range(4))
    swapped = int((src_crossed & tgt_crossed & ~(src_ok & tgt_ok)).sum())
    if swapped > n / 2:
        raise UsageError(f"{where}: the pairs read as {tgt_lang}-{src_lang}, not {src_lang}-{tgt_lang} ({swapped} of "
                         f"the first {n}); swap the languages (--langs {tgt_lang}-{src_lang}, or source.src_lang "
                         "and source.tgt_lang)")
    for side, lang, ok in (("source", src_lang, src_ok), ("target", tgt_lang, tgt_ok)):
        if int((~ok).sum()) > 0.8 * n:
            raise UsageError(f"{where}: {int((~ok).sum())} of the first {n} {side} texts are not in {lang!r}; check "
                             "the language codes (--langs, or source.src_lang and source.tgt_lang)")
