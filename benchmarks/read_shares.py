"""What each task reads of the input, as the task count grows (issue L): a curation that only reads and writes
(`redraft dedupe` with dedupe off: reader, count, kept rows), run with each task count, and the bytes each task's reader
read from the input files (its `input_bytes` stat, counted on the file objects) and what the task process read
meanwhile (`rchar` from /proc/self/io), against input size / tasks. Prints one JSON line.

Input: a TSV of --pairs WMT22 de-en pairs repeated, each row made distinct with a counter, written once.
  python benchmarks/read_shares.py --pairs 1000000 --tasks 1 8 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"


def write_pairs(path: Path, n: int) -> None:
    src = (DATA / "deen.src").read_text(encoding="utf-8").splitlines()
    ref = (DATA / "deen.ref").read_text(encoding="utf-8").splitlines()
    pairs = [(s.replace("\t", " ").strip(), r.replace("\t", " ").strip()) for s, r in zip(src, ref)]
    with open(path, "w", encoding="utf-8") as f:
        for k in range(n):
            s, r = pairs[k % len(pairs)]
            f.write(f"{s} ({k})\t{r} ({k})\n")


def stat(step: dict, key: str) -> int:
    value = step["stats"].get(key, 0)
    return value["total"] if isinstance(value, dict) else value


def per_task(pairs: Path, out: Path, tasks: int) -> dict:
    from redraft.recipes.runner import curate
    from redraft.recipes.schema import ExecutorConfig

    curate(str(pairs), str(out), filters=[], dedupe=False, langs="de-en", fresh=True,
           executor=ExecutorConfig(tasks=tasks, workers=2))
    (work,) = (out / ".redraft").glob("work-*")
    read = []
    for f in sorted((work / "logs-read" / "stats").glob("*.json")):
        reader = json.loads(f.read_text())[0]
        read.append({"items": stat(reader, "documents"), "input_bytes": stat(reader, "input_bytes"),
                     "rchar": stat(reader, "rchar")})
    size = pairs.stat().st_size
    return {"tasks": tasks, "share_bytes": size // tasks,
            "input_bytes_max": max(r["input_bytes"] for r in read),
            "input_bytes_min": min(r["input_bytes"] for r in read),
            "input_bytes_sum": sum(r["input_bytes"] for r in read),
            "rchar_max": max(r["rchar"] for r in read),
            "max_over_share": round(max(r["input_bytes"] for r in read) / (size / tasks), 4),
            "items": sum(r["items"] for r in read)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--workdir", help="keep the input and outputs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.workdir or tmp)
        root.mkdir(parents=True, exist_ok=True)
        pairs = root / f"pairs-{args.pairs}.tsv"
        if not pairs.exists():
            write_pairs(pairs, args.pairs)
        runs = [per_task(pairs, root / f"out-{t}", t) for t in args.tasks]
        print(json.dumps({"input": pairs.name, "input_bytes": pairs.stat().st_size, "runs": runs}))
