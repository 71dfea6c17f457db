"""Near-dedupe on synthetic texts with planted near duplicates (Jaccard ~0.9 by construction). Prints one JSON line.

Default mode: --n texts held in Python lists, timed through NearDuplicateIndex, against datasketch MinHashLSH on a
--peer-n subset (recall counts only planted items whose exact Jaccard is >= 0.8 when --n <= 200000):
  /work/venv/bin/python benchmarks/dedupe.py --n 1000000 --peer-n 50000
Memory mode: --rss-n pairs generated batch by batch (never all held) and streamed through the real dedupe steps,
exact then near (`redraft dedupe --near`), in a fresh subprocess that reports its peak RSS (ru_maxrss, MiB), its
RSS after the imports alone, the indexes' own MiB, seconds (dedupe, and generating the items apart), and recall and
precision against the planted duplicates (issue C asks for peak RSS <= 1.5 GB at 10M):
  /work/venv/bin/python benchmarks/dedupe.py --rss-n 10000000
Both modes add the 1-minute load average before and after: timings are only comparable on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time

import numpy as np
import polars as pl


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


def run_redraft(texts: list[str], batch: int = 8192) -> list[int]:
    from redraft.filters.minhash import NearDuplicateIndex

    index, dup_of = NearDuplicateIndex(), []
    for i in range(0, len(texts), batch):
        dup_of += index.check(texts[i:i + batch]).tolist()
    return dup_of


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


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: a reproducible random uint64 per index, so any item can be regenerated from its index alone."""
    with np.errstate(over="ignore"):
        x = (x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)) * np.uint64(1)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _planted(i: np.ndarray, dup_share: float = 0.1) -> np.ndarray:
    return (mix(i * np.uint64(4)) % np.uint64(1 << 20) < np.uint64(dup_share * (1 << 20))) & (i > 0)


def stream_batch(start: int, n: int) -> tuple[list[str], list[str], np.ndarray]:
    """Pairs start..start+n as (sources, references, planted): an original is 40 random words of 50,000 (20 each
    side); a planted near duplicate (one in ten) copies an earlier original with one word substituted (bigram
    Jaccard ~0.9)."""
    i = np.arange(start, start + n, dtype=np.uint64)
    planted = _planted(i)
    root, todo = i.copy(), planted.copy()
    while todo.any():  # follow planted items back to the original they copy
        root[todo] = mix(root[todo] * np.uint64(4) + np.uint64(1)) % root[todo]
        todo[todo] = _planted(root[todo])
    words = mix(root[:, None] * np.uint64(64) + np.arange(40, dtype=np.uint64)[None]) % np.uint64(50_000)
    rows = planted.nonzero()[0]
    cols = (mix(i[rows] * np.uint64(4) + np.uint64(2)) % np.uint64(40)).astype(np.int64)
    words[rows, cols] = mix(i[rows] * np.uint64(4) + np.uint64(3)) % np.uint64(50_000)
    texts = pl.select(pl.concat_str(pl.lit("w"), pl.Series(words.ravel()).cast(pl.String))
                      .reshape((n, 40)).arr.to_list()).to_series()
    return texts.list.head(20).list.join(" ").to_list(), texts.list.tail(20).list.join(" ").to_list(), planted


def rss_worker(n: int, batch: int = 8192) -> dict:
    from datatrove.data import Document

    from redraft.filters.config import DedupeConfig
    from redraft.filters.dedupe import build_dedupe

    steps = build_dedupe(DedupeConfig(exact=True, near=True), "pair")
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    planted_total, generating = 0, 0.0

    def items():
        nonlocal planted_total, generating
        for start in range(0, n, batch):
            t = time.perf_counter()
            src, ref, planted = stream_batch(start, min(batch, n - start))
            docs = [Document(text=s, id=str(start + j), metadata={"src_lang": "de", "tgt_lang": "en",
                                                                   "reference_text": r, "planted": bool(p)})
                    for j, (s, r, p) in enumerate(zip(src, ref, planted))]
            planted_total += int(planted.sum())
            generating += time.perf_counter() - t
            yield from docs

    t = time.perf_counter()
    kept = items()
    for step in steps:  # the steps' own batching, as in `redraft dedupe --near`
        kept = step.run(kept)
    n_kept = kept_planted = 0
    for doc in kept:
        n_kept += 1
        kept_planted += doc.metadata["planted"]
    secs = time.perf_counter() - t - generating
    flagged, hits = n - n_kept, planted_total - kept_planted
    return {"dedupe_seconds": round(secs, 1), "generate_seconds": round(generating, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rss_after_imports_mb": round(import_rss / 1024), "near_index_mb": round(steps[-1].index.nbytes / 2**20),
            "exact_index_mb": round(steps[0].seen.nbytes / 2**20),
            "recall": round(hits / max(1, planted_total), 4), "precision": round(hits / max(1, flagged), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peer-n", type=int, default=50_000)
    ap.add_argument("--rss-n", type=int, default=0, help="memory mode: stream this many pairs in a subprocess")
    ap.add_argument("--rss-worker", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rss_worker:
        print(json.dumps(rss_worker(a.rss_worker)))
        return
    load_before = os.getloadavg()[0]
    if a.rss_n:
        done = subprocess.run([sys.executable, __file__, "--rss-worker", str(a.rss_n)], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(done.stderr)
        print(json.dumps({"bench": "dedupe_rss", "pairs": a.rss_n, **json.loads(done.stdout.splitlines()[-1]),
                          "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)]}))
        return
    texts, origin = synth(a.n)
    t = time.perf_counter()
    dup_of = run_redraft(texts)
    secs = time.perf_counter() - t
    planted = [i for i, o in enumerate(origin) if o >= 0 and jaccard(texts[i], texts[origin[i]]) >= 0.8] \
        if a.n <= 200_000 else [i for i, o in enumerate(origin) if o >= 0]
    flagged = [i for i, j in enumerate(dup_of) if j >= 0]
    truth = {i for i, o in enumerate(origin) if o >= 0}
    recall = sum(dup_of[i] >= 0 for i in planted) / max(1, len(planted))
    precision = sum(i in truth for i in flagged) / max(1, len(flagged))
    out = {"bench": "dedupe", "items": a.n, "seconds": round(secs, 1), "items_per_s": round(a.n / secs),
           "recall": round(recall, 4), "precision": round(precision, 4),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    try:
        peer = texts[: a.peer_n]
        t = time.perf_counter()
        run_datasketch(peer)
        psecs = time.perf_counter() - t
        t = time.perf_counter()
        run_redraft(peer)
        rsecs = time.perf_counter() - t
        out.update(peer_items=a.peer_n, datasketch_items_per_s=round(a.peer_n / psecs),
                   redraft_items_per_s_same_subset=round(a.peer_n / rsecs), speedup=round(psecs / rsecs, 1))
    except ImportError as e:
        out["datasketch"] = f"not installed: {e}"
    out["loadavg_1m_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
