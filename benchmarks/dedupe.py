"""Near-dedupe on synthetic texts with planted near duplicates (Jaccard ~0.9 by construction). Prints one JSON line.

--n texts held in Python lists, run through the three near-dedupe stages in this process as one task
(filters/dedupe.py `dedupe_documents`), against datasketch MinHashLSH on a --peer-n subset, where ours runs too
(recall counts only planted items whose exact Jaccard is >= 0.8 when --n <= 200000). Both are warmed up (imports
included) on a small subset first; then the three runs (ours on --n, ours and datasketch on the subset) repeat
--repeats times, interleaved (benchmarks/measure.py): each figure is the median with min, max and every value, the
speedup the ratio of the medians on the subset, and the 1-minute load average around each run is printed, since
timings are only comparable on an otherwise idle machine. Every run must give the same verdict.
  python benchmarks/dedupe.py --n 1000000 --peer-n 50000 [--repeats 3]
(datasketch, the peer: `pip install datasketch`, or `pip install -e .[bench]`)
Memory per task, and the stages on each executor, are measured by benchmarks/scale.py.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time

from measure import load_1m, machine, ratio, repeat


def synth(n: int, dup_share: float = 0.1, seed: int = 0) -> tuple[list[str], list[int]]:
    """Texts and, per text, the index of the original it was planted from (-1 for originals)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(50_000)]
    texts, origin = [], []
    for i in range(n):
        if texts and rng.random() < dup_share:
            j = rng.randrange(len(texts))
            words = texts[j].split()
            k = rng.randrange(len(words))
            words[k] = rng.choice(vocab)  # one substituted word in 40: Jaccard of bigrams ~0.9
            texts.append(" ".join(words))
            origin.append(j if origin[j] < 0 else origin[j])
        else:
            texts.append(" ".join(rng.choices(vocab, k=40)))
            origin.append(-1)
    return texts, origin


def jaccard(a: str, b: str) -> float:
    from redraft.filters.minhash import shingle_hashes

    ha, _ = shingle_hashes([a])
    hb, _ = shingle_hashes([b])
    sa, sb = set(ha.tolist()), set(hb.tolist())
    return len(sa & sb) / len(sa | sb)


def run_redraft(texts: list[str], tasks: int = 1) -> list[int]:
    """1 where an item is dropped as a near duplicate: the three dedupe stages, in this process."""
    from datatrove.data import Document

    from redraft.filters.config import DedupeConfig
    from redraft.filters.dedupe import dedupe_documents

    docs = [Document(text=t, id=str(i), metadata={"src_lang": "de", "tgt_lang": "en", "reference_text": ""})
            for i, t in enumerate(texts)]
    verdict = dedupe_documents(docs, DedupeConfig(exact=False, near=True), tasks)
    return [0 if v is True else 1 for v in verdict]


def run_datasketch(texts: list[str]) -> list[bool]:
    from datasketch import MinHash, MinHashLSH

    lsh, dropped = MinHashLSH(threshold=0.8, num_perm=64), []
    for i, t in enumerate(texts):
        w = t.split()
        m = MinHash(num_perm=64)
        m.update_batch([f"{a} {b}".encode() for a, b in zip(w, w[1:])])
        hit = bool(lsh.query(m))
        dropped.append(hit)
        lsh.insert(str(i), m)
    return dropped


def timed(dedupe, texts: list[str], verdicts: list) -> dict:
    t = time.perf_counter()
    verdicts.append(dedupe(texts))
    secs = time.perf_counter() - t
    return {"seconds": secs, "items_per_s": len(texts) / secs}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peer-n", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    out = {"bench": "dedupe", **machine(), "repeats": a.repeats, "items": a.n}
    texts, origin = synth(a.n)
    peer = texts[: a.peer_n]
    verdicts = {"redraft": [], "redraft_subset": [], "datasketch_subset": []}
    run_redraft(texts[:1000])  # warm-up, untimed
    contenders = {"redraft": lambda: timed(run_redraft, texts, verdicts["redraft"]),
                  "redraft_subset": lambda: timed(run_redraft, peer, verdicts["redraft_subset"])}
    try:
        run_datasketch(texts[:1000])
        contenders["datasketch_subset"] = lambda: timed(run_datasketch, peer, verdicts["datasketch_subset"])
    except ImportError as e:
        out["datasketch"] = f"not installed ({e}): pip install datasketch"
    runs = repeat(contenders, a.repeats)
    for name, v in verdicts.items():
        assert all(x == v[0] for x in v), f"{name}: the runs did not give the same verdict"
    dup_of = verdicts["redraft"][0]
    planted = [i for i, o in enumerate(origin) if o >= 0 and jaccard(texts[i], texts[origin[i]]) >= 0.8] \
        if a.n <= 200_000 else [i for i, o in enumerate(origin) if o >= 0]
    flagged = [i for i, j in enumerate(dup_of) if j]
    truth = {i for i, o in enumerate(origin) if o >= 0}
    out["redraft"] = runs["redraft"].report(seconds=1, items_per_s=0)
    out["recall"] = round(sum(dup_of[i] for i in planted) / max(1, len(planted)), 4)
    out["precision"] = round(sum(i in truth for i in flagged) / max(1, len(flagged)), 4)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # this process, every run
    if "datasketch_subset" in runs:
        out["peer_items"] = a.peer_n
        out["redraft_subset"] = runs["redraft_subset"].report(seconds=2, items_per_s=0)
        out["datasketch_subset"] = runs["datasketch_subset"].report(seconds=2, items_per_s=0)
        out["speedup"] = ratio(runs["redraft_subset"], runs["datasketch_subset"], "items_per_s", digits=1)
    out["load_1m_at_end"] = load_1m()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
