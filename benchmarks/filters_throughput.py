"""Throughput of the default pair filters (language ID included) against OpusFilter with the equivalent filters.

Both run on the same real WMT22 pairs (repeated to --pairs), split over --procs processes (the same filter step in
each, as datatrove's local executor would run --procs tasks), polars limited to one thread per process so that
--procs processes use --procs cores. Prints one JSON line: wall-clock pairs/s, and pairs per CPU-second per process
(`*_pairs_per_cpu_s`), which other load on a shared machine disturbs less.
  /work/venv/bin/python benchmarks/filters_throughput.py --pairs 200000 --procs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
DIRECTIONS = ["deen", "ende", "csen", "encs", "ruen", "enru", "defr", "frde"]  # OpusFilter's equivalents need spaces


def load(n: int) -> list[tuple[str, str, str, str]]:
    pairs = []
    for d in DIRECTIONS:
        src = (DATA / f"{d}.src").read_text(encoding="utf-8").splitlines()
        ref = (DATA / f"{d}.ref").read_text(encoding="utf-8").splitlines()
        pairs += [(d[:2], d[2:], s, r) for s, r in zip(src, ref)]
    return (pairs * (n // len(pairs) + 1))[:n]


def cpu_timed(fn):
    def run(shard) -> tuple[int, float]:
        start = time.process_time()
        kept = fn(shard)
        return kept, time.process_time() - start
    return run


def run_redraft(shard) -> int:
    from datatrove.data import Document

    from redraft.filters.registry import build_filters

    step = build_filters("default", "de", "en", "pair")[0]
    docs = [Document(text=s, id=str(i), metadata={"src_lang": a, "tgt_lang": b, "reference_text": r})
            for i, (a, b, s, r) in enumerate(shard)]
    return sum(1 for _ in step.run(iter(docs)))


def run_opusfilter(shard) -> int:
    from opusfilter import filters as of

    kept = 0
    by_dir: dict[tuple[str, str], list] = {}
    for a, b, s, r in shard:
        by_dir.setdefault((a, b), []).append((s, r))
    for (a, b), pairs in by_dir.items():
        steps = [of.LengthFilter(min_length=1, max_length=250), of.LengthRatioFilter(threshold=2.5),
                 of.AlphabetRatioFilter(threshold=0.3), of.NonZeroNumeralsFilter(threshold=0.5),
                 of.RepetitionFilter(threshold=2),
                 # fasttext 0.9.3's single-text predict breaks under numpy 2, so OpusFilter's fasttext method
                 # cannot run here: its py3langid method fails on py3langid 0.4: lingua (low accuracy mode) stands in
                 of.LanguageIDFilter(languages=[a, b], id_method="lingua", lingua_mode="low", thresholds=[0.0, 0.0])]
        for f in steps:
            pairs = list(f.filter(pairs))
        kept += len(pairs)
    return kept


def redraft_worker(shard) -> tuple[int, float]:
    return cpu_timed(run_redraft)(shard)


def opusfilter_worker(shard) -> tuple[int, float]:
    return cpu_timed(run_opusfilter)(shard)


def timed(fn, pairs, procs: int) -> tuple[float, int, float]:
    """Wall seconds, pairs kept, and CPU seconds summed over the processes."""
    shards = [pairs[i::procs] for i in range(procs)]
    ctx = mp.get_context("fork")
    with ctx.Pool(procs) as pool:
        pool.map(len, shards)  # start the workers before the clock
        t = time.perf_counter()
        done = pool.map(fn, shards)
        return time.perf_counter() - t, sum(k for k, _ in done), sum(c for _, c in done)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--peer-pairs", type=int, default=40_000)
    ap.add_argument("--procs", type=int, default=2)
    a = ap.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "1")  # read when a worker first imports polars
    pairs = load(a.pairs)
    secs, kept, cpu = timed(redraft_worker, pairs, a.procs)
    out = {"bench": "filters_throughput", "pairs": a.pairs, "procs": a.procs, "redraft_pairs_per_s": round(a.pairs / secs),
           "redraft_pairs_per_cpu_s": round(a.pairs / cpu), "redraft_kept": kept}
    try:
        peer = load(a.peer_pairs)
        psecs, pkept, pcpu = timed(opusfilter_worker, peer, a.procs)
        out.update(opusfilter_lid="lingua low (fasttext and langid methods fail here)", opusfilter_pairs_per_s=round(a.peer_pairs / psecs),
                   opusfilter_pairs_per_cpu_s=round(a.peer_pairs / pcpu), opusfilter_kept_share=round(pkept / a.peer_pairs, 3),
                   speedup=round((a.pairs / secs) / (a.peer_pairs / psecs), 1))
    except ImportError as e:
        out["opusfilter"] = f"not installed: {e}"
    out["redraft_kept_share"] = round(kept / a.pairs, 3)
    print(json.dumps(out), file=sys.stdout)


if __name__ == "__main__":
    main()
