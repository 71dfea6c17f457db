"""The response cache per task, against the cache's size (issue L item 2). Prints one JSON line.

Builds a synthetic cache of --entries answers (text of 200-400 bytes, three turns per item, positions the byte
offsets of a ~150-byte-a-line input) as a previous run of --built-by tasks wrote it, then runs --tasks tasks over
contiguous shares of the items: each opens the cache and asks for every answer of its share (all hits), as a re-run
with another task count does. Per task: bytes read (the process's `rchar` from /proc/self/io), answers loaded,
memory the cache allocated (tracemalloc peak) and, as an indication only, start-up time (open + first answer) and
total time. The same tasks against main's cache (`--main`, imported by path; it loads every answer whatever the
task, so --main-tasks of them are measured):
  python benchmarks/cache_scale.py --entries 1000000 --tasks 64 --main /work/main/synth/cache.py
Bytes, answers and memory do not depend on the machine's load; times do.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from redraft.synth import cache as this_cache
from redraft.synth.teacher import Completion

TURNS = 3
PARAMS = {"temperature": 0.7, "max_tokens": 512}


def key(item: int, turn: int) -> str:
    return this_cache.cache_key("bench-model", [{"role": "user", "content": f"item {item} turn {turn}"}], PARAMS,
                                item * TURNS + turn)


def item_positions(items: int, seed: int = 0) -> list[int]:
    rng, out, at = random.Random(seed), [], 0
    for _ in range(items):
        out.append(at)
        at += rng.randint(80, 220)
    return out


def share(n: int, rank: int, tasks: int) -> range:
    return range(rank * n // tasks, (rank + 1) * n // tasks)


def build(folder: Path, positions: list[int], writers: int, window: int = 64) -> None:
    """As `writers` tasks write it: each its contiguous share, answers completing out of order within a window."""
    rng = random.Random(1)
    words = "the of and to in is was he for it with as his on be at by had are but from or have an they".split()
    for rank in range(writers):
        cache = this_cache.ResponseCache(folder, f"responses-{rank:05d}")
        mine = share(len(positions), rank, writers)
        for start in range(mine.start, mine.stop, window):
            block = [(i, t) for i in range(start, min(start + window, mine.stop)) for t in range(TURNS)]
            rng.shuffle(block)
            for i, t in block:
                text = " ".join(rng.choices(words, k=rng.randint(60, 110)))[:rng.randint(200, 400)]
                cache.put(key(i, t), Completion(text, rng.randint(50, 400), len(text) // 4), positions[i])
        cache.close()


def rchar() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def run_task(module, folder: Path, positions: list[int], rank: int, tasks: int, positioned: bool) -> dict:
    gc.collect()
    items = share(len(positions), rank, tasks)
    read_before, started = rchar(), time.perf_counter()
    tracemalloc.start()
    cache = module.ResponseCache(folder, f"responses-{rank:05d}")
    startup = None
    for i in items:
        for t in range(TURNS):
            got = cache.get(key(i, t), positions[i]) if positioned else cache.get(key(i, t))
            assert got is not None, (rank, i, t)
            if startup is None:
                startup = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    loaded = len(cache)
    cache.close()
    return {"rank": rank, "bytes_read": rchar() - read_before, "answers_loaded": loaded, "memory_mb": peak / 2**20,
            "startup_s": startup, "task_s": time.perf_counter() - started}


def summary(runs: list[dict]) -> dict:
    out = {"tasks_measured": len(runs)}
    for field in ("bytes_read", "answers_loaded", "memory_mb", "startup_s", "task_s"):
        values = [r[field] for r in runs]
        out[field] = {"median": statistics.median(values), "max": max(values), "min": min(values)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--tasks", type=int, default=64)
    p.add_argument("--built-by", type=int, default=8, help="tasks of the run that wrote the cache")
    p.add_argument("--main", type=Path, help="main's synth/cache.py, to measure against")
    p.add_argument("--main-tasks", type=int, default=4, help="how many tasks to measure main's cache on")
    p.add_argument("--folder", type=Path, help="keep the cache here (default: a temporary folder)")
    a = p.parse_args()
    items = a.entries // TURNS
    positions = item_positions(items)
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.folder or Path(tmp) / "synth-cache"
        started = time.perf_counter()
        if not any(folder.glob("seg-*.jsonl")):
            build(folder, positions, a.built_by)
        built_s = time.perf_counter() - started
        files = list(folder.glob("*.jsonl"))
        cache_bytes = sum(f.stat().st_size for f in files)
        out = {"benchmark": "cache_scale", "entries": items * TURNS, "cache_mb": cache_bytes / 2**20,
               "segments": len(files), "segment_answers": this_cache.SEGMENT_ANSWERS, "built_by": a.built_by,
               "build_s": built_s, "tasks": a.tasks, "share_mb": cache_bytes / a.tasks / 2**20}
        out["this"] = summary([run_task(this_cache, folder, positions, r, a.tasks, True) for r in range(a.tasks)])
        if a.main:
            spec = importlib.util.spec_from_file_location("main_cache", a.main)
            main_cache = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(main_cache)
            ranks = sorted({round(k * (a.tasks - 1) / max(1, a.main_tasks - 1)) for k in range(a.main_tasks)})
            out["main"] = summary([run_task(main_cache, folder, positions, r, a.tasks, False) for r in ranks])
        out["load_avg_1m"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
