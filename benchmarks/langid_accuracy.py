"""Language-ID accuracy on every WMT22 side in ../shared/data/wmt22: each text declared in its own language (should
be accepted) and in the other side's language (should be rejected). The figures behind `UNSURE` and the langdetect
settings in filters/langid.py. Chinese and Japanese, which share Han and which WMT22 never pairs, are also declared
in each other (`zh_as_ja_accepted`, `ja_as_zh_accepted`: wrong). Prints one JSON line.
  python benchmarks/langid_accuracy.py [--head-chars 48]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--head-chars", type=int, default=48, help="the prefix fasttext reads first")
    a = ap.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    import polars as pl

    from redraft.filters import langid

    texts, own, other = [], [], []
    for src_file in sorted(DATA.glob("*.src")):
        a_lang, b_lang = src_file.stem[:2], src_file.stem[2:]
        src = src_file.read_text(encoding="utf-8").splitlines()
        ref = src_file.with_suffix(".ref").read_text(encoding="utf-8").splitlines()
        texts += src + ref
        own += [a_lang] * len(src) + [b_lang] * len(ref)
        other += [b_lang] * len(src) + [a_lang] * len(ref)
    identifier = langid.LanguageIdentifier(head_chars=a.head_chars)
    identifier.model  # loaded before the clock starts
    calls = 0
    second_opinion = langid.langdetect_agrees

    def counted(text, expected):
        nonlocal calls
        calls += 1
        return second_opinion(text, expected)

    langid.langdetect_agrees = counted
    start = time.perf_counter()
    accepted_own = identifier.agreement(pl.Series(texts), pl.Series(own))
    accepted_other = identifier.agreement(pl.Series(texts), pl.Series(other))
    seconds, langdetect_calls = time.perf_counter() - start, calls
    cjk_accepted = {}
    for lang, declared in (("zh", "ja"), ("ja", "zh")):
        sides = [t for t, o in zip(texts, own) if o == lang]
        cjk_accepted[f"{lang}_as_{declared}_accepted"] = sum(identifier.agrees(sides, [declared] * len(sides)))
    print(json.dumps({"benchmark": "langid_accuracy", "head_chars": a.head_chars, "texts_each_way": len(texts),
                      "clean_rejected": int((~accepted_own).sum()), "wrong_accepted": int(accepted_other.sum()),
                      **cjk_accepted, "langdetect_calls": langdetect_calls, "seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
