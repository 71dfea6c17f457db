"""The end of benchmarks/gpu_check.sh: which checks passed, the MFU figures, and one JSON line (also gpu_check.json).

    python benchmarks/gpu_check_report.py OUTDIR --mode gpu --wall-s 431 --tests-rc 0 --mfu-rc 0
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

RUNS = ("no_activation_checkpointing", "activation_checkpointing")
FIGURES = ("tokens_per_s", "tflops_per_gpu", "mfu", "peak_memory_gib", "step_time_s", "wall_s")


def test_results(report: Path, log: Path) -> dict:
    """pytest's JUnit XML as lists of test names (skips with their reason); without it, the verbose lines of the log."""
    out = {"passed": [], "failed": [], "skipped": []}
    if not report.is_file():
        for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
            if line.startswith("tests/test_gpu.py::") and (words := line.split()) and len(words) > 1:
                kind = {"PASSED": "passed", "FAILED": "failed", "ERROR": "failed", "SKIPPED": "skipped"}.get(words[1])
                if kind:
                    out[kind].append(words[0].split("::")[-1])
        out["failed"].append("pytest wrote no report: it did not finish")
        return out
    for case in ET.parse(report).iter("testcase"):
        name = case.get("name")
        if case.find("failure") is not None or case.find("error") is not None:
            out["failed"].append(name)
        elif (skip := case.find("skipped")) is not None:
            out["skipped"].append(f"{name}: {skip.get('message')}")
        else:
            out["passed"].append(name)
    return out


def throughput(outdir: Path) -> dict:
    """train_throughput.py's JSON line; when it did not finish, the runs it logged as it went."""
    try:
        return json.loads((outdir / "throughput.json").read_text())
    except (OSError, ValueError):
        pass
    runs = {}
    log = outdir / "gpu_check.log"
    for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
        if line.startswith("[train_throughput] ") and ": {" in line:
            name, _, figures = line.removeprefix("[train_throughput] ").partition(": ")
            runs[name] = json.loads(figures)
    return {**runs, "unfinished": True}


def describe(figures: dict) -> str:
    mfu = f"MFU {figures['mfu']:.1%}" if figures.get("mfu") is not None else "MFU n/a (no known peak)"
    peak = f", peak memory {figures['peak_memory_gib']:.1f} GiB" if figures.get("peak_memory_gib") else ""
    return (f"{figures['tokens_per_s']:,.0f} tokens/s, {figures['tflops_per_gpu']:.4g} TFLOP/s per GPU, {mfu}{peak}, "
            f"{figures['step_time_s']:.3f} s/step")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir", type=Path)
    p.add_argument("--mode", required=True)
    p.add_argument("--wall-s", type=int, required=True)
    p.add_argument("--tests-rc", type=int, required=True)
    p.add_argument("--mfu-rc", type=int, required=True)
    a = p.parse_args()
    import torch

    tests = test_results(a.outdir / "pytest.xml", a.outdir / "gpu_check.log")
    if a.tests_rc in (124, 137):  # timeout's codes
        tests["failed"].append("pytest stopped at its time limit: the tests after the last one listed did not run")
    bench = throughput(a.outdir)
    mfu = {name: {k: bench[name].get(k) for k in FIGURES} for name in RUNS if name in bench}
    ok = a.tests_rc == 0 and a.mfu_rc == 0 and not tests["failed"] and len(mfu) == len(RUNS)
    say = lambda text: print(f"[gpu_check] {text}")  # noqa: E731
    say(f"==== summary: {a.mode} mode, {a.wall_s} s, {'ALL PASSED' if ok else 'NOT ALL PASSED'} ====")
    for name in tests["passed"]:
        say(f"PASS {name}")
    for name in tests["failed"]:
        say(f"FAIL {name}")
    for name in tests["skipped"]:
        say(f"SKIP {name}")
    for name in RUNS:
        say(f"{name}: {describe(mfu[name]) if name in mfu else 'no figures (the run failed or ran out of time)'}")
    if bench.get("profile"):
        say(f"profile (MFU below {bench.get('mfu_goal', 0.45):.0%} or unknown): {json.dumps(bench['profile'])}")
    result = {"check": "gpu_check", "mode": a.mode, "ok": ok, "wall_s": a.wall_s, "torch": torch.__version__,
              "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "tests": {"passed": len(tests["passed"]), "failed": tests["failed"], "skipped": tests["skipped"]},
              "model": {k: bench.get(k) for k in ("model", "params", "seq_len", "micro_batch_size", "compile",
                                                  "steps_timed")},
              **mfu, "profile": bench.get("profile"), "tests_rc": a.tests_rc, "mfu_rc": a.mfu_rc}
    line = json.dumps(result)
    (a.outdir / "gpu_check.json").write_text(line + "\n")
    print(line, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
