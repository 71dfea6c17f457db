"""Embedded teacher throughput on a quiet and on a busy machine: generated tokens/s for several ways of spending the
cores, idle and with a background busy loop that keeps one core busy (started for each loaded measurement, and ended
with it even when the benchmark is killed).

A setting is PROCSxTHREADS: PROCS teacher processes (as datatrove workers run them) of THREADS torch threads each
(`auto`: the free cores, chosen before every batch), the demo's prompts split between them. `1x2` is the demo before
issue 12 (one process, `threads: 2`), `1x1` one process of one thread, `1xauto` the demo now. Each setting keeps its
processes and loaded model for the whole run; the settings and the two conditions are interleaved and repeated
(`--repeats`, benchmarks/measure.py), since other work on a shared machine moves the figures. Prints one JSON line:
per setting and condition the median with min, max and every value, and the load average before and after each
measurement; the loaded/idle ratio of the medians (the demo's time scales with it: generation is most of it).
With --demo, each measurement is the whole demo instead (`redraft run demo --fresh` with the setting as
`executor.tasks`/`executor.workers` and `teacher.threads`), timed in seconds: the issue's loaded/idle goal.
Run: python benchmarks/embedded_throughput.py [--settings 1x2,1xauto] [--repeats 3] [--prompts 48] [--max-tokens 48]
     python benchmarks/embedded_throughput.py --demo [--settings 1x2,1xauto] [--repeats 3] [--conditions idle,loaded]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from measure import load_1m, machine, ratio, repeat

DEMO = Path(__file__).resolve().parents[1] / "recipes" / "data" / "demo.jsonl"
# one busy core, which ends with the benchmark even when the benchmark is killed
BUSY = "import os\nparent = os.getppid()\nwhile os.getppid() == parent: pass"


def conversations(n: int) -> list[list[dict]]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[{"role": "user", "content": f"Translate into English: {rows[i % len(rows)]['source']}"}]
            for i in range(n)]


def worker(threads: int, max_tokens: int, batch_size: int, jobs, results) -> None:
    """One teacher process: load the model once, then generate whatever conversations it is sent."""
    from redraft.synth.embedded_teacher import EmbeddedTeacher

    teacher = EmbeddedTeacher(SimpleNamespace(max_tokens=max_tokens, batch_size=batch_size, threads=threads))
    teacher.generate(conversations(2))  # load and warm up
    loop = asyncio.new_event_loop()  # one loop for every job: the teacher's batcher lives in it
    results.put("ready")
    while (convs := jobs.get()) is not None:
        async def drive():
            return await asyncio.gather(*(teacher.complete(c, seed=i) for i, c in enumerate(convs)))

        start = time.perf_counter()
        done = loop.run_until_complete(drive())
        results.put((sum(c.completion_tokens for c in done), start, time.perf_counter()))


class Setting:
    def __init__(self, name: str, max_tokens: int, batch_size: int):
        self.name = name
        procs, threads = name.split("x")
        self.procs, self.threads = int(procs), threads if threads == "auto" else int(threads)
        ctx = mp.get_context("spawn")
        self.jobs = [ctx.Queue() for _ in range(self.procs)]
        self.results = ctx.Queue()
        self.workers = [ctx.Process(target=worker, args=(self.threads, max_tokens, batch_size, q, self.results),
                                    daemon=True) for q in self.jobs]
        for w in self.workers:
            w.start()
        for _ in self.workers:
            assert self.results.get(timeout=600) == "ready"

    def tokens_per_s(self, convs: list) -> float:
        """Generate `convs`, split over the processes; tokens over wall time from first start to last finish."""
        for i, q in enumerate(self.jobs):
            q.put(convs[i::self.procs])
        done = [self.results.get(timeout=3600) for _ in self.jobs]
        return sum(d[0] for d in done) / (max(d[2] for d in done) - min(d[1] for d in done))

    def close(self) -> None:
        for q in self.jobs:
            q.put(None)
        for w in self.workers:
            w.join(timeout=30)


class DemoSetting:
    """The whole demo, run fresh, with PROCSxTHREADS as its executor and teacher threads."""

    def __init__(self, name: str, out: Path, extra: list[str]):
        self.name, self.out, self.extra = name, out, extra
        self.procs, self.threads = name.split("x")
        self.thread_counts: list[str] = []

    def seconds(self) -> float:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "redraft.cli", "run", "demo", "-o", str(self.out / self.name),
                               "--fresh", "--set", f"executor.tasks={self.procs}", "--set",
                               f"executor.workers={self.procs}", "--set", f"teacher.threads={self.threads}",
                               *self.extra], check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        # the synth summary's "torch threads per batch 2: 3x": what `auto` chose
        self.thread_counts.extend(re.findall(r"torch threads per batch (.+)$", done.stderr + done.stdout, re.M))
        return seconds

    def close(self) -> None:
        pass


def measured(setting, condition: str, unit: str, measure):
    """One measurement of `setting`, with one core kept busy by a background loop when `condition` is loaded."""
    def run() -> dict:
        busy = subprocess.Popen([sys.executable, "-c", BUSY]) if condition == "loaded" else None
        try:
            return {unit: measure(setting)}
        finally:
            if busy:
                busy.kill()
                busy.wait()

    return run


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--settings", default="1x2,1xauto", help="comma-separated PROCSxTHREADS")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prompts", type=int, default=48, help="conversations per measurement (the demo has 48 pairs)")
    p.add_argument("--max-tokens", type=int, default=48)
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument("--demo", action="store_true", help="time the whole demo instead of the teacher alone")
    p.add_argument("--demo-limit", type=int, help="--demo: only the first N pairs")
    p.add_argument("--demo-turns", type=int, help="--demo: synth.turns")
    p.add_argument("--conditions", default="idle,loaded", help="idle, loaded or both (a ratio needs both)")
    a = p.parse_args()
    start = machine()
    convs = conversations(a.prompts)
    if a.demo:
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="redraft-demo-"))
        extra = ([f"--limit={a.demo_limit}"] if a.demo_limit else []) + (
            ["--set", f"synth.turns={a.demo_turns}"] if a.demo_turns else [])
        settings = [DemoSetting(name, scratch, extra) for name in a.settings.split(",")]
    else:
        settings = [Setting(name, a.max_tokens, a.batch_size) for name in a.settings.split(",")]
    unit = "demo_seconds" if a.demo else "tokens_per_s"
    measure = (lambda s: s.seconds()) if a.demo else (lambda s: s.tokens_per_s(convs))
    conditions = [c for c in ("idle", "loaded") if c in a.conditions.split(",")]
    try:  # settings and conditions interleaved: idle A, idle B, loaded A, loaded B, then the reverse, ...
        runs = repeat({(s.name, c): measured(s, c, unit, measure) for c in conditions for s in settings}, a.repeats)
    finally:
        for s in settings:
            s.close()
    out = {"benchmark": "embedded_throughput", **start, "repeats": a.repeats, unit: {}, "loaded_over_idle_time": {}}
    if not a.demo:
        out |= {"prompts": a.prompts, "max_tokens": a.max_tokens}
    for s in settings:
        out[unit][s.name] = {c: runs[s.name, c].spread(unit) | {"load_1m_before_after": runs[s.name, c].loads}
                             for c in conditions}
        if len(conditions) == 2:  # seconds grow, tokens/s shrink
            idle, loaded = runs[s.name, "idle"], runs[s.name, "loaded"]
            out["loaded_over_idle_time"][s.name] = ratio(loaded, idle, unit) if a.demo else ratio(idle, loaded, unit)
        if getattr(s, "thread_counts", None):
            out.setdefault("torch_threads_per_batch", {})[s.name] = s.thread_counts
    out["load_1m_at_end"] = load_1m()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
