"""Near-dedupe on synthetic texts with planted near duplicates (Jaccard ~0.9 by construction). Prints one JSON line.

--n texts held in Python lists, run through the three near-dedupe stages in this process as one task
(filters/dedupe.py `dedupe_documents`), against datasketch MinHashLSH on a --peer-n subset (recall counts only
planted items whose exact Jaccard is >= 0.8 when --n <= 200000):
  python benchmarks/dedupe.py --n 1000000 --peer-n 50000
Memory per task, and the stages on each executor, are measured by benchmarks/scale.py. The 1-minute load average
before and after is printed: timings are only comparable on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time



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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peer-n", type=int, default=50_000)
    a = ap.parse_args()
    load_before = os.getloadavg()[0]
    texts, origin = synth(a.n)
    t = time.perf_counter()
    dup_of = run_redraft(texts)
    secs = time.perf_counter() - t
    planted = [i for i, o in enumerate(origin) if o >= 0 and jaccard(texts[i], texts[origin[i]]) >= 0.8] \
        if a.n <= 200_000 else [i for i, o in enumerate(origin) if o >= 0]
    flagged = [i for i, j in enumerate(dup_of) if j]
    truth = {i for i, o in enumerate(origin) if o >= 0}
    recall = sum(dup_of[i] for i in planted) / max(1, len(planted))
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
