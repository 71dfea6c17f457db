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
  python benchmarks/scale.py --pairs 1000000 --repeats 3 --tasks '' --no-checks-share
  (.ci/clusters.sh start first for ray_2 and slurm_2; a mode whose cluster is missing is reported as such)

What more tasks cost (issue L), each run the two commands a user types, `redraft filter INPUT` then `redraft dedupe
FILTERED --near`, each in a fresh process (`chain`):
  tasks_T       T tasks, 1 worker, for each T in --tasks (1, 8, 64): CPU seconds of both commands (the process and
                everything it waited for, from getrusage), wall seconds, the files both left, and what each task's
                reader read (`input_bytes` from its input files, `rchar` from /proc/self/io, recorded by the reader
                in the task's datatrove stats) against the input's size / T; `cpu_64_over_1` is the ratio of medians
  workers_2     2 tasks, 2 workers: `wall_2_workers_over_1` is its wall time over tasks_1's (wall time only: the
                CPU of datatrove's pool processes does not all reach getrusage)
  checks_share  both commands with 1 task, each check's own work timed (`CHECKS`: CPU time of the process while in
                it): the share of all CPU time spent elsewhere (reading, writing, counting, imports, plots), and
                the same with the check steps' work around the checks counted as theirs (`CHECK_STEPS`)
`pairs_per_cpu_s` is pairs over tasks_1's CPU seconds; `projection` fits CPU = a * pairs + b * tasks and files =
c + d * tasks to the medians and projects 1B pairs on 32 nodes x 32 cores, its arithmetic beside it.
  python benchmarks/scale.py --pairs 1000000 --repeats 3 --modes '' --rss-tasks ''
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from measure import load_1m, machine, ratio, repeat

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
MODES = {"local_1": ("local", 1, 1), "local_2": ("local", 2, 2), "ray_2": ("ray", 2, 2), "slurm_2": ("slurm", 2, 2)}
# each check's own work, by command: what is not in these is the pipeline's overhead (module, owner, attribute)
CHECKS = {"filter": [("redraft.filters.pair_filters", "PairFilters", "reasons"),
                     # the language check's models: loaded once, by whichever asks first (the first rows' check)
                     ("redraft.filters.langid", None, "_fasttext_model"),
                     ("redraft.filters.langid", None, "_langdetect")],
          "dedupe": [("redraft.filters.minhash", "MinHasher", "signatures"),
                     ("redraft.filters.minhash", "MinHashLSH", "band_keys"),
                     ("redraft.filters.minhash", "MinHashLSH", "pack"),
                     ("redraft.filters.dedupe", None, "content_hashes"),
                     ("redraft.filters.dedupe", "DedupeBuckets", "run"),
                     ("redraft.filters.dedupe", "DedupeFilter", "batch_reasons")]}
# what the check steps do around those checks, counted with them in `*_outside_check_steps`: the pair check step
# turning a batch into its columns, the dedupe steps writing and reading their signature and mark files
CHECK_STEPS = {"filter": [("redraft.filters.pair_filters", "PairCheck", "batch_reasons")],
               "dedupe": [("redraft.filters.bucketed", "BucketedWriter", "add"),
                          ("redraft.filters.bucketed", "BucketedWriter", "close"),
                          ("redraft.filters.dedupe", None, "read_buckets")]}
PROJECT = {"pairs": 10**9, "nodes": 32, "cores_per_node": 32}


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


# ── what more tasks cost: `redraft filter` then `redraft dedupe --near` ───────────────────────────────────────

def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def command(args: list[str]) -> tuple[float, float]:
    """A redraft command in a fresh process: (wall seconds, CPU seconds of it and every process it waited for)."""
    cpu, start = children_cpu_s(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "redraft.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "REDRAFT_PROGRESS": "0"})
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"redraft {' '.join(args)}: {(proc.stderr.strip().splitlines() or ['?'])[-1][:300]}")
    return wall, children_cpu_s() - cpu


def reader_reads(out: Path) -> list[dict]:
    """Per task of each stage that reads the input: what its reader recorded in datatrove's stats (input_bytes,
    rchar). `redraft dedupe` reads it in two stages (signatures, then filter), each task its share each time."""
    reads = []
    for f in sorted(out.glob(".redraft/work-*/logs-*/stats/[0-9]*.json")):
        for step in json.loads(f.read_text()):
            if "redraft items" in step["name"]:
                reads.append({k: step["stats"].get(k, {}).get("total", 0) for k in ("input_bytes", "rchar")})
    return reads


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet")) if path.is_dir() else path.stat().st_size


def per_task(reads: list[dict], input_bytes: int, tasks: int) -> dict:
    share = input_bytes / tasks
    return {"input_mb": round(input_bytes / 2**20, 2), "share_mb": round(share / 2**20, 3),
            **{f"{k}_per_task_mb": {"median": round(statistics.median(r[k] for r in reads) / 2**20, 3),
                                    "max": round(max(r[k] for r in reads) / 2**20, 3)} for k in ("input_bytes", "rchar")},
            "max_input_bytes_over_share": round(max(r["input_bytes"] for r in reads) / share, 3)}


def chain(input_path: Path, work: Path, tasks: int, workers: int) -> dict:
    filtered, deduped = work / f"filter-{tasks}-{workers}", work / f"dedupe-{tasks}-{workers}"
    executor = ["--set", f"executor.tasks={tasks}", "--set", f"executor.workers={workers}"]
    try:
        f_wall, f_cpu = command(["filter", str(input_path), "-o", str(filtered), "--langs", "de-en", "--fresh",
                                 *executor])
        d_wall, d_cpu = command(["dedupe", str(filtered), "-o", str(deduped), "--near", "--fresh", *executor])
        files = sum(1 for out in (filtered, deduped) for f in out.rglob("*") if f.is_file())
        reads = {"filter": per_task(reader_reads(filtered), size_of(input_path), tasks),
                 "dedupe": per_task(reader_reads(deduped), size_of(filtered / "data"), tasks)}
        stats = json.loads((deduped / "stats.json").read_text())
        filter_stats = json.loads((filtered / "stats.json").read_text())
    except RuntimeError as e:
        return {"error": str(e)}
    finally:
        shutil.rmtree(filtered, ignore_errors=True)
        shutil.rmtree(deduped, ignore_errors=True)
    return {"cpu_s": f_cpu + d_cpu, "filter_cpu_s": f_cpu, "dedupe_cpu_s": d_cpu, "wall_s": f_wall + d_wall,
            "files": files, "reads": reads, "stats": {"filter": filter_stats, "dedupe": stats}}


def timed_checks(cmd: str) -> dict[str, float]:
    """Wrap the checks of `cmd` (CHECKS) and their steps' work around them (CHECK_STEPS) so that the process's CPU
    time inside them adds up in the returned dict: `checks` (CHECKS alone) and `check_steps` (both), nested calls
    counted once."""
    import importlib
    import inspect

    spent, depth = {"checks": 0.0, "check_steps": 0.0}, {"checks": 0, "check_steps": 0}

    def timed(fn, generator: bool, groups: tuple[str, ...]):
        def enter():
            for g in groups:
                depth[g] += 1
            return time.process_time()

        def leave(start):
            now = time.process_time()
            for g in groups:
                depth[g] -= 1
                if depth[g] == 0:
                    spent[g] += now - start

        if generator:
            def wrapper(*a, **k):
                start = enter()
                try:
                    items = list(fn(*a, **k))
                finally:
                    leave(start)
                yield from items
        else:
            def wrapper(*a, **k):
                start = enter()
                try:
                    return fn(*a, **k)
                finally:
                    leave(start)
        return wrapper

    for entries, groups in ((CHECKS[cmd], ("checks", "check_steps")), (CHECK_STEPS[cmd], ("check_steps",))):
        for module, owner, name in entries:
            target = importlib.import_module(module)
            target = getattr(target, owner) if owner else target
            fn = getattr(target, name)
            setattr(target, name, timed(fn, inspect.isgeneratorfunction(fn), groups))
    return spent


def checks_share_worker(cmd: str, args: list[str]) -> None:
    """In this process: `redraft CMD ARGS` with its checks timed; prints the CPU seconds, all and in checks."""
    spent = timed_checks(cmd)
    from redraft.cli import main

    code = main([cmd, *args])
    ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(r.ru_utime + r.ru_stime for r in ru)
    print(json.dumps({"rc": code, "cpu_s": cpu, "checks_s": spent["checks"], "check_steps_s": spent["check_steps"]}))


def checks_share(input_path: Path, work: Path) -> dict:
    filtered, deduped = work / "share-filter", work / "share-dedupe"
    figures = {}
    try:
        for cmd, args in (("filter", [str(input_path), "-o", str(filtered), "--langs", "de-en", "--fresh"]),
                          ("dedupe", [str(filtered), "-o", str(deduped), "--near", "--fresh"])):
            proc = subprocess.run([sys.executable, __file__, "--checks-share", cmd, *args], capture_output=True,
                                  text=True, env={**os.environ, "REDRAFT_PROGRESS": "0"})
            if proc.returncode:
                return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1][:300]}
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            figures[f"{cmd}_outside_checks"] = 1 - r["checks_s"] / r["cpu_s"]
            figures[f"{cmd}_outside_check_steps"] = 1 - r["check_steps_s"] / r["cpu_s"]
            figures[f"{cmd}_cpu_s"] = r["cpu_s"]
    finally:
        shutil.rmtree(filtered, ignore_errors=True)
        shutil.rmtree(deduped, ignore_errors=True)
    return figures


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares y = intercept + slope * x."""
    import numpy as np

    if len(set(xs)) < 2:
        return float(statistics.median(ys)), 0.0
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope)


def projection(pairs: int, runs: dict) -> dict:
    """1B pairs on 32 nodes x 32 cores, one task a core, from the medians of the task-count runs."""
    tasks = sorted(runs)
    per_pair_and_task = fit_line(tasks, [runs[t].median("cpu_s") / pairs for t in tasks])  # (a, b / pairs)
    a, b = per_pair_and_task[0], per_pair_and_task[1] * pairs  # CPU s a pair; CPU s each further task costs
    c, d = fit_line(tasks, [runs[t].median("files") for t in tasks])
    cores = PROJECT["nodes"] * PROJECT["cores_per_node"]
    big, t = PROJECT["pairs"], cores
    cpu = a * big + b * t
    return {**PROJECT, "tasks": t, "cpu_s_per_pair": a, "cpu_s_per_task": round(b, 3),
            "cpu_hours": round(cpu / 3600, 1), "wall_s": round(cpu / cores), "wall_h": round(cpu / cores / 3600, 2),
            "files_per_task": round(d, 2), "files_fixed": round(c, 1), "files": round(c + d * t),
            "arithmetic": f"CPU(T) = a*pairs + b*T fitted to tasks {tasks} at {pairs} pairs: a = {a:.3g} s/pair, "
                          f"b = {b:.3g} s/task (a holds the run's fixed cost, imports and plots, spread over the pairs: an "
                          f"overestimate, small at 1M pairs); 1e9 pairs, T = {t} tasks (one a core): CPU = a*1e9 + b*{t} = "
                          f"{cpu:.4g} s; wall = CPU / {cores} cores = {cpu / cores:.4g} s (tasks even, one core each, "
                          f"input and output storage keeping up); files(T) = {c:.3g} + {d:.3g}*T = {c + d * t:.0f}"}


def task_costs(a, input_path: Path, work: Path) -> dict:
    """The figures of issue L: the task-count runs, 2 workers, the checks' share and the projection."""
    tasks = [int(t) for t in filter(None, a.tasks.split(","))]
    contenders = {f"tasks_{t}": lambda t=t: chain(input_path, work, t, 1) for t in tasks}
    if 1 in tasks:
        contenders["workers_2"] = lambda: chain(input_path, work, 2, 2)
    if not a.no_checks_share:
        contenders["checks_share"] = lambda: checks_share(input_path, work)
    runs = repeat(contenders, a.repeats)
    result, stats = {}, None
    for name, r in list(runs.items()):
        if errors := [f["error"] for f in r.figures if "error" in f]:
            result[f"{name}_error"] = errors[-1]
            del runs[name]
            continue
        if name == "checks_share":
            result[name] = r.report(filter_outside_checks=3, dedupe_outside_checks=3, filter_outside_check_steps=3,
                                    dedupe_outside_check_steps=3, filter_cpu_s=1, dedupe_cpu_s=1)
            continue
        # 2 workers: wall time only (the CPU of datatrove's pool processes does not all reach getrusage)
        cpu = {} if name == "workers_2" else {"cpu_s": 1, "filter_cpu_s": 1, "dedupe_cpu_s": 1}
        result[name] = {**r.report(**cpu, wall_s=1, files=0), "reads": r.figures[-1]["reads"]}
        for f in r.figures:
            if stats is not None and f["stats"] != stats:
                result[f"{name}_stats_differ"] = f["stats"]
            stats = stats or f["stats"]
    if stats:
        result["chain_stats"] = stats
    counted = {t: runs[f"tasks_{t}"] for t in tasks if f"tasks_{t}" in runs}
    if 1 in counted:
        result["pairs_per_cpu_s"] = round(a.pairs / counted[1].median("cpu_s"))
        for t in counted:
            if t != 1:
                result[f"cpu_{t}_over_1"] = ratio(counted[t], counted[1], "cpu_s")
        if "workers_2" in runs:
            result["wall_2_workers_over_1"] = ratio(runs["workers_2"], counted[1], "wall_s")
    if counted:
        result["projection"] = projection(a.pairs, counted)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--rss-tasks", default="1,8", help="task counts for the memory runs (2 workers); '' skips them")
    ap.add_argument("--tasks", default="1,8,64", help="task counts of the filter + dedupe --near runs (1 worker); "
                                                      "'' skips them")
    ap.add_argument("--no-checks-share", action="store_true", help="skip the run that times the checks' own work")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--checks-share", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        input_path, out, kind, tasks, workers = a.worker
        worker(input_path, out, kind, int(tasks), int(workers))
        return
    if a.checks_share:
        checks_share_worker(a.checks_share[0], a.checks_share[1:])
        return
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing: this benchmark reads WMT22 de-en from ../shared/data")
    result: dict = {"bench": "scale", **machine(), "pairs": a.pairs, "repeats": a.repeats}
    work = Path(tempfile.mkdtemp(prefix="redraft-scale-"))
    try:
        input_path = work / "pairs.tsv"
        write_pairs(input_path, a.pairs)
        result |= task_costs(a, input_path, work)
        runs = repeat({mode: lambda mode=mode: run_mode(input_path, work, *MODES[mode])
                       for mode in filter(None, a.modes.split(","))}, a.repeats)
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
        if stats is not None:
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
