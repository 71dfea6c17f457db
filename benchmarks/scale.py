"""The same curation (default pair filters with language ID, then exact and near dedupe) on every executor, and the
memory of its biggest task as the task count grows. Prints one JSON line.

Input: --pairs de-en pairs, each two WMT22 de-en sentences joined (seeded choice, so about 1 in 4 recurs: real
duplicates for the dedupe stages), written once to a TSV. Each run is `curate(...)` in a fresh process (imports,
`ray.init` and job submission included), timed from start to exit:
  local_1     1 task, in the driver process
  local_2     2 tasks, 2 workers
  ray_2       2 tasks, 2 workers, on the Ray cluster at RAY_ADDRESS or the local head (`ray start --head`)
  slurm_2     2 tasks, 2 workers (an array of 2, 2 at once), on the Slurm cluster of this machine
The clusters run on this machine's 2 cores, so the point is their overhead: `ray_over_local_2` and
`slurm_over_local_2`. Memory: the run is repeated with --rss-tasks 1 and 8 (2 workers), and a thread samples the RSS
of every process of the run (the driver and the task processes it forks) every 0.1 s; `biggest_task_rss_mb` is the
largest task process (the driver itself with 1 task). `--repeats` runs every mode that many times, interleaved
(benchmarks/measure.py): figures are medians with min, max, every value and the 1-minute load average before and
after each run; the machine must be otherwise idle.
  python benchmarks/scale.py --pairs 1000000 --repeats 3
  (.ci/clusters.sh start first for ray_2 and slurm_2; a mode whose cluster is missing is reported as such)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from measure import load_1m, machine, ratio, repeat

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
MODES = {"local_1": ("local", 1, 1), "local_2": ("local", 2, 2), "ray_2": ("ray", 2, 2), "slurm_2": ("slurm", 2, 2)}


def write_pairs(path: Path, n: int) -> None:
    src = (DATA / "deen.src").read_text(encoding="utf-8").splitlines()
    ref = (DATA / "deen.ref").read_text(encoding="utf-8").splitlines()
    src += (DATA / "ende.ref").read_text(encoding="utf-8").splitlines()
    ref += (DATA / "ende.src").read_text(encoding="utf-8").splitlines()
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            i, j = rng.randrange(len(src)), rng.randrange(len(src))
            f.write(f"{src[i]} {src[j]}\t{ref[i]} {ref[j]}\n".replace("\r", ""))


def worker(input_path: str, out: str, kind: str, tasks: int, workers: int) -> None:
    """One run, in this process: what `redraft filter` + `redraft dedupe --near` would do, as one curation."""
    from redraft.filters.config import DedupeConfig
    from redraft.recipes.runner import curate
    from redraft.recipes.schema import ExecutorConfig

    executor = ExecutorConfig(kind=kind, tasks=tasks, workers=workers)
    curate(input_path, out, filters="default", dedupe=DedupeConfig(exact=True, near=True), langs="de-en",
           fresh=True, executor=executor)
    print(json.dumps(json.loads((Path(out) / "stats.json").read_text())))


class TreeRSS:
    """Peak RSS per process of a process tree, sampled."""

    def __init__(self, pid: int):
        import psutil

        self.root, self.peaks, self._stop = psutil.Process(pid), {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                try:
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), p.memory_info().rss)
                except psutil.Error:
                    pass
            self._stop.wait(0.1)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def run_mode(input_path: Path, work: Path, kind: str, tasks: int, workers: int) -> dict:
    out = work / f"out-{kind}-{tasks}"
    env = {**os.environ, "REDRAFT_PROGRESS": "0"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", str(input_path), str(out), kind, str(tasks),
                             str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    tree = TreeRSS(proc.pid)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    peaks = tree.stop()
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode:
        return {"error": (stderr.strip().splitlines() or ["?"])[-1][:300]}
    task_peaks = [v for pid, v in peaks.items() if pid != proc.pid] if workers > 1 else [peaks.get(proc.pid, 0)]
    return {"seconds": seconds, "stats": json.loads(stdout.splitlines()[-1]),
            "driver_rss_mb": peaks.get(proc.pid, 0) / 2**20,
            "biggest_task_rss_mb": max(task_peaks, default=0) / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--rss-tasks", default="1,8", help="task counts for the memory runs (2 workers); '' skips them")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        input_path, out, kind, tasks, workers = a.worker
        worker(input_path, out, kind, int(tasks), int(workers))
        return
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: this benchmark reads WMT22 de-en from ../shared/data")
    result: dict = {"bench": "scale", **machine(), "pairs": a.pairs, "repeats": a.repeats}
    work = Path(tempfile.mkdtemp(prefix="redraft-scale-"))
    try:
        input_path = work / "pairs.tsv"
        write_pairs(input_path, a.pairs)
        runs = repeat({mode: lambda mode=mode: run_mode(input_path, work, *MODES[mode]) for mode in a.modes.split(",")},
                      a.repeats)
        stats = None
        for mode, r in list(runs.items()):
            if errors := [f["error"] for f in r.figures if "error" in f]:
                result[f"{mode}_error"] = errors[-1]
                del runs[mode]
                continue
            result[f"{mode}_s"] = r.report(seconds=1)
            for f in r.figures:
                if stats is not None and f["stats"] != stats:
                    result[f"{mode}_stats_differ"] = f["stats"]
                stats = stats or f["stats"]
        for cluster in ("ray_2", "slurm_2"):
            if cluster in runs and "local_2" in runs:
                result[f"{cluster.split('_')[0]}_over_local_2"] = ratio(runs[cluster], runs["local_2"], "seconds")
        result["stats"] = stats
        tasks = [int(t) for t in filter(None, a.rss_tasks.split(","))]
        rss = repeat({t: lambda t=t: run_mode(input_path, work, "local", t, 2 if t > 1 else 1) for t in tasks},
                     a.repeats)
        for t, r in rss.items():
            if not any("error" in f for f in r.figures):
                result[f"tasks_{t}_rss_mb"] = r.report(biggest_task_rss_mb=0, driver_rss_mb=0)
        result["load_1m_at_end"] = load_1m()
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
