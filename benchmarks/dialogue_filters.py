"""Precision of the default dialogue filters on hand-labelled dialogues (tests/data/dialogue_labels.jsonl: a real
small teacher's dialogues and dialogues built from real translations, each read and labelled good / flawed / junk;
rules in tests/data/dialogue_labels.md). Prints one JSON line:
  precision   share of the kept dialogues labelled good (flawed and junk count against it)
  not_junk    share of the kept dialogues not labelled junk
  good_kept   share of the good dialogues kept
  junk_recall share of the junk dialogues dropped
for the whole set, for its two halves (`tune`: the half the thresholds were tuned on, `holdout`: the other, split by
a hash of the id) and per revision kind (dialogues holding a request of that kind), plus the drop reasons.
  python benchmarks/dialogue_filters.py [--labels FILE] [--split tune|holdout|all] [--show dropped-good|kept-bad]

--wmt: what the filters drop from unlabelled dialogues made of real translations (../shared/data), whose requests
are redraft's own templates in the source or the target language. Most of these are good, so each reason's count
bounds what that check costs on good data (a share of them are real errors of the systems). Variants:
  polish  zh-en, de-en, en-zh, en-de: GPT-4's WMT22 translation, then the reference as the polished turn, then the
          source as the back-translation;
  revise  the same four: BayLing-13B's translation, then GPT-4's as the polished turn;
  ref     every WMT22 direction (cs-en, de-en, de-fr, en-cs, en-de, en-ja, en-ru, en-uk, en-zh, fr-de, ja-en, ru-en,
          uk-en, zh-en): the reference, then the reference in the language's quotation marks or as JSON (format),
          then the source as the back-translation;
  third   the directions whose source sentences WMT22 also translates into another language (en-*, de-*): the
          reference, then that other translation as the third-language turn.
`rates` gives each check's share (%) of the dialogues it drops, per direction, over the `ref` and `third` variants,
which every direction has. `--pairs csen,jaen` and `--limit N` (lines per direction) for a quick run; `--show dropped`
prints the dropped dialogues.
  python benchmarks/dialogue_filters.py --wmt [--pairs P,Q] [--limit N] [--show dropped]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dialogue_labels.jsonl"


def split_of(row_id: str) -> str:
    return "tune" if hashlib.blake2b(row_id.encode(), digest_size=1).digest()[0] % 2 == 0 else "holdout"


def verdicts(rows: list[dict]) -> list[str | None]:
    """The default dialogue filters in their pipeline order, each on what the previous ones kept: the reason each
    row was dropped for, None when kept."""
    from redraft.filters.registry import build_filters
    from redraft.types import row_to_document

    docs = [row_to_document({k: v for k, v in r.items() if k not in ("label", "note", "origin")}) for r in rows]
    reasons: list[str | None] = [None] * len(docs)
    for step in build_filters("default", "und", "und", "dialogue"):
        alive = [i for i, r in enumerate(reasons) if r is None]
        for i, verdict in zip(alive, step.filter_batch([docs[i] for i in alive])):
            if verdict is not True:
                reasons[i] = verdict[1]
    return reasons


# the quotation marks a `quoted` answer uses, per language
QUOTES = {"zh": "“”", "ja": "「」", "de": "„“", "cs": "„“", "fr": "«»", "ru": "«»", "uk": "«»"}
SYSTEM_PAIRS = ("zhen", "deen", "enzh", "ende")


def wmt_rows(pairs: list[str] | None = None, limit: int | None = None) -> list[dict]:
    """The --wmt dialogues (see the module docstring), with the request templates redraft's synthesis uses."""
    sys.path.insert(0, str(Path(__file__).parent))
    from dialogue_eval_set import DATA, WMT, Builder, lines

    directions = sorted(p.stem for p in WMT.glob("*.src"))
    texts = {d: (lines(WMT / f"{d}.src"), lines(WMT / f"{d}.ref")) for d in directions}
    # the same source sentence translated into other languages: {(source language, source): {language: text}}
    others: dict[tuple[str, str], dict[str, str]] = {}
    for d, (src, ref) in texts.items():
        for x, y in zip(src, ref):
            if x.strip() and y.strip():
                others.setdefault((d[:2], x), {})[d[2:]] = y
    b = Builder()
    for pair in [d for d in directions if pairs is None or d in pairs]:
        s, t = pair[:2], pair[2:]
        src, ref = texts[pair]
        n = min(len(src), limit or len(src))
        if pair in SYSTEM_PAIRS:
            gpt4 = lines(DATA / "bayling_outputs" / "gpt-4" / f"{s}-{t}.hypo")
            bayling = lines(DATA / "bayling_outputs" / "bayling-13b" / f"{s}-{t}.hypo")
            for i in range(min(n, len(gpt4), len(bayling))):
                if not (src[i].strip() and ref[i].strip() and gpt4[i].strip() and bayling[i].strip()):
                    continue
                b.dialogue(f"polish-{pair}", s, t, src[i], ref[i], gpt4[i],
                           [("polish", {}, ref[i]), ("back_translation", {"lang": s}, src[i])], origin="wmt")
                b.dialogue(f"revise-{pair}", s, t, src[i], ref[i], bayling[i], [("polish", {}, gpt4[i])],
                           origin="wmt")
        for i in range(n):
            if not (src[i].strip() and ref[i].strip()):
                continue
            if i % 2:
                a, z = QUOTES.get(t, '""')
                fmt = ({"format": "quoted"}, f"{a}{ref[i]}{z}")
            else:
                fmt = ({"format": "json"}, json.dumps({"translation": ref[i]}, ensure_ascii=False))
            b.dialogue(f"ref-{pair}", s, t, src[i], ref[i], ref[i],
                       [("format", *fmt), ("back_translation", {"lang": s}, src[i])], origin="wmt")
            third = sorted(set(others.get((s, src[i]), {})) - {t})
            if third:
                lang = third[i % len(third)]
                b.dialogue(f"third-{pair}", s, t, src[i], ref[i], ref[i],
                           [("third_language", {"lang": lang}, others[(s, src[i])][lang])], origin="wmt")
    return b.rows


def wmt_report(show: bool, pairs: list[str] | None = None, limit: int | None = None) -> None:
    rows = wmt_rows(pairs, limit)
    start = time.perf_counter()
    reasons = verdicts(rows)
    seconds = time.perf_counter() - start
    out, checks = {}, {}
    for r, reason in zip(rows, reasons):
        name = r["origin"].split(":")[1]
        variant, pair = name.split("-")
        out.setdefault(variant, {}).setdefault(pair, Counter())["n"] += 1
        if variant in ("ref", "third"):
            checks.setdefault(pair, Counter())["n"] += 1
        if reason:
            out[variant][pair][reason] += 1
            if variant in ("ref", "third"):
                checks[pair][reason.split("_", 1)[1]] += 1
            if show:
                print(json.dumps({"id": r["id"], "reason": reason, "source": r["source_text"],
                                  "reference": r["reference_text"],
                                  "requests": [m["content"] for m in r["messages"] if m["role"] == "user"][1:],
                                  "answers": [m["content"] for m in r["messages"] if m["role"] == "assistant"]},
                                 ensure_ascii=False), file=sys.stderr)
    rates = {check: {pair: round(100 * c[check] / c["n"], 2) for pair, c in sorted(checks.items())}
             for check in sorted({k for c in checks.values() for k in c if k != "n"})}
    print(json.dumps({"benchmark": "dialogue_filters", "mode": "wmt",
                      **{v: {p: dict(c.most_common()) for p, c in pairs.items()} for v, pairs in out.items()},
                      "rates": rates, "seconds": round(seconds, 2), "loadavg": os.getloadavg()[0]},
                     ensure_ascii=False))


def scores(labels: list[str], kept: list[bool]) -> dict:
    n_kept = sum(kept)
    count = Counter(labels)
    good_kept = sum(k and l == "good" for l, k in zip(labels, kept))
    junk_dropped = sum(not k and l == "junk" for l, k in zip(labels, kept))
    junk_kept = sum(k and l == "junk" for l, k in zip(labels, kept))
    return {"n": len(labels), "good": count["good"], "flawed": count["flawed"], "junk": count["junk"],
            "kept": n_kept,
            "precision": round(good_kept / n_kept, 4) if n_kept else None,
            "not_junk": round(1 - junk_kept / n_kept, 4) if n_kept else None,
            "good_kept": round(good_kept / count["good"], 4) if count["good"] else None,
            "junk_recall": round(junk_dropped / count["junk"], 4) if count["junk"] else None,
            "flawed_kept": sum(k and l == "flawed" for l, k in zip(labels, kept)),
            "junk_kept": junk_kept}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(LABELS))
    ap.add_argument("--split", choices=["tune", "holdout", "all"], default="all")
    ap.add_argument("--show", choices=["dropped-good", "kept-bad", "dropped"], help="print these rows (to stderr)")
    ap.add_argument("--wmt", action="store_true", help="unlabelled dialogues of real translations (see above)")
    ap.add_argument("--pairs", help="--wmt: these WMT22 directions only, comma-separated (csen,jaen)")
    ap.add_argument("--limit", type=int, help="--wmt: the first N lines of each direction")
    a = ap.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    if a.wmt:
        return wmt_report(a.show == "dropped", a.pairs.split(",") if a.pairs else None, a.limit)

    rows = [json.loads(line) for line in Path(a.labels).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("label") and (a.split == "all" or split_of(r["id"]) == a.split)]
    start = time.perf_counter()
    reasons = verdicts(rows)
    seconds = time.perf_counter() - start
    labels, kept = [r["label"] for r in rows], [r is None for r in reasons]
    if a.show:
        for r, reason in zip(rows, reasons):
            if (a.show == "dropped-good" and reason and r["label"] == "good") or (
                    a.show == "kept-bad" and reason is None and r["label"] != "good"):
                print(json.dumps({"id": r["id"], "label": r["label"], "reason": reason, "note": r.get("note"),
                                  "revisions": r["revisions"],
                                  "answers": [m["content"] for m in r["messages"] if m["role"] == "assistant"]},
                                 ensure_ascii=False), file=sys.stderr)

    def subset(pick) -> dict:
        idx = [i for i, r in enumerate(rows) if pick(r)]
        return scores([labels[i] for i in idx], [kept[i] for i in idx])

    kinds = sorted({k for r in rows for k in r["revisions"]})
    print(json.dumps({
        "benchmark": "dialogue_filters", "labels": Path(a.labels).name, "split": a.split,
        **scores(labels, kept),
        "halves": {h: subset(lambda r, h=h: split_of(r["id"]) == h) for h in ("tune", "holdout")},
        "by_origin": {o: subset(lambda r, o=o: r["origin"].split(":")[0] == o)
                      for o in sorted({r["origin"].split(":")[0] for r in rows})},
        "by_kind": {k: subset(lambda r, k=k: k in r["revisions"]) for k in kinds},
        "reasons": dict(Counter(r for r in reasons if r).most_common()),
        "seconds": round(seconds, 2), "loadavg": os.getloadavg()[0],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
