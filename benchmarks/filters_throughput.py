"""Throughput of the default pair filters (language ID included) against OpusFilter with the equivalent filters.

Both run on the same real WMT22 pairs (repeated to --pairs), split over --procs processes (the same filter step in
each, as datatrove's local executor would run --procs tasks), polars limited to one thread per process so that
--procs processes use --procs cores. Each worker first imports, builds its filters and loads its language-ID model
(`startup_s`, the slowest worker's wall seconds), then the clock runs over the filtering alone. Both run --repeats
times, interleaved, in fresh worker processes each time (benchmarks/measure.py). Prints one JSON line, each figure
the median with min, max and every value: wall-clock pairs/s; pairs per CPU-second of one process (`pairs_per_cpu_s`,
which other load on a shared machine disturbs less: on an idle machine pairs/s is about procs times it); the
speedup over OpusFilter (ratio of the median pairs/s); and the load average (1 min) around every run, since the
figures are only comparable on an otherwise idle machine.
  python benchmarks/filters_throughput.py --pairs 200000 --procs 2 [--repeats 3]
(OpusFilter, the peer: `pip install opusfilter`, or `pip install -e .[bench]`)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import time
from pathlib import Path

from measure import load_1m, machine, ratio, repeat

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
DIRECTIONS = ["deen", "ende", "csen", "encs", "ruen", "enru", "defr", "frde"]  # OpusFilter's equivalents need spaces

_steps: dict = {}  # per worker: what the warm-up built


def load(n: int) -> list[tuple[str, str, str, str]]:
    pairs = []
    for d in DIRECTIONS:
        src = (DATA / f"{d}.src").read_text(encoding="utf-8").splitlines()
        ref = (DATA / f"{d}.ref").read_text(encoding="utf-8").splitlines()
        pairs += [(d[:2], d[2:], s, r) for s, r in zip(src, ref)]
    return (pairs * (n // len(pairs) + 1))[:n]


def redraft_startup() -> float:
    t = time.perf_counter()
    from redraft.filters.registry import build_filters

    step = build_filters("default", "de", "en", "pair")[0]
    next(c for c in step.checks if c.name == "language").identifier.model  # load fasttext now
    _steps["redraft"] = step
    return time.perf_counter() - t


def run_redraft(shard) -> int:
    from datatrove.data import Document

    docs = [Document(text=s, id=str(i), metadata={"src_lang": a, "tgt_lang": b, "reference_text": r})
            for i, (a, b, s, r) in enumerate(shard)]
    return sum(1 for _ in _steps["redraft"].run(iter(docs)))


def opusfilter_startup() -> float:
    t = time.perf_counter()
    from opusfilter import filters as of

    for d in DIRECTIONS:
        _steps[d[:2], d[2:]] = [
            of.LengthFilter(min_length=1, max_length=250), of.LengthRatioFilter(threshold=2.5),
            of.AlphabetRatioFilter(threshold=0.3), of.NonZeroNumeralsFilter(threshold=0.5),
            of.RepetitionFilter(threshold=2),
            # fasttext 0.9.3's single-text predict breaks under numpy 2, so OpusFilter's fasttext method cannot run
            # here; its py3langid method fails on py3langid 0.4: lingua (low accuracy mode) stands in
            of.LanguageIDFilter(languages=[d[:2], d[2:]], id_method="lingua", lingua_mode="low",
                                thresholds=[0.0, 0.0])]
    return time.perf_counter() - t


def run_opusfilter(shard) -> int:
    by_dir: dict[tuple[str, str], list] = {}
    for a, b, s, r in shard:
        by_dir.setdefault((a, b), []).append((s, r))
    kept = 0
    for direction, pairs in by_dir.items():
        for f in _steps[direction]:
            pairs = list(f.filter(pairs))
        kept += len(pairs)
    return kept


def worker(startup, run, shard, barrier, results) -> None:
    startup_s = startup()
    barrier.wait()  # every worker has started up: the clock starts
    t, cpu = time.perf_counter(), time.process_time()
    kept = run(shard)
    results.put((startup_s, kept, time.process_time() - cpu, t, time.perf_counter()))


def timed(startup, run, pairs, procs: int) -> tuple[float, float, int, float]:
    """Startup wall seconds (slowest worker), filtering wall seconds (first start to last finish), pairs kept, and
    the CPU seconds of the busiest process."""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=worker, args=(startup, run, pairs[i::procs], barrier, results), daemon=True)
               for i in range(procs)]
    for w in workers:
        w.start()
    done = []
    while len(done) < procs:
        try:
            done.append(results.get(timeout=1))
        except queue.Empty:
            if any(w.exitcode for w in workers):
                raise RuntimeError("a benchmark worker failed (its traceback is above)") from None
    for w in workers:
        w.join()
    return (max(d[0] for d in done), max(d[4] for d in done) - min(d[3] for d in done), sum(d[1] for d in done),
            max(d[2] for d in done))


def figures(startup, run, pairs, procs: int) -> dict:
    startup_s, secs, kept, cpu = timed(startup, run, pairs, procs)
    return {"pairs_per_s": len(pairs) / secs, "pairs_per_cpu_s": len(pairs) / procs / cpu, "startup_s": startup_s,
            "kept_share": kept / len(pairs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--peer-pairs", type=int, default=40_000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "1")  # read when a worker first imports polars
    out = {"bench": "filters_throughput", **machine(), "repeats": a.repeats, "pairs": a.pairs, "procs": a.procs}
    pairs = load(a.pairs)
    contenders = {"redraft": lambda: figures(redraft_startup, run_redraft, pairs, a.procs)}
    try:
        import opusfilter  # noqa: F401  (fail here, not in the workers)

        peer = load(a.peer_pairs)
        contenders["opusfilter"] = lambda: figures(opusfilter_startup, run_opusfilter, peer, a.procs)
    except ImportError as e:
        out["opusfilter"] = f"not installed ({e}): pip install opusfilter"
    runs = repeat(contenders, a.repeats)
    report = dict(pairs_per_s=0, pairs_per_cpu_s=0, startup_s=2, kept_share=3)
    out["redraft"] = runs["redraft"].report(**report)
    if "opusfilter" in runs:
        out["opusfilter"] = {"pairs": a.peer_pairs, "lid": "lingua low (fasttext and py3langid methods fail here)",
                             **runs["opusfilter"].report(**report)}
        out["speedup"] = ratio(runs["redraft"], runs["opusfilter"], "pairs_per_s", digits=1)
    out["load_1m_at_end"] = load_1m()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
