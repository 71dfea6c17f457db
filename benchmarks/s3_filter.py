"""`redraft filter` from and to a loopback S3 server against local disk: the same pairs (WMT22 de-en, repeated up to
`--pairs`), the default filters with language ID, input and output folder (work folder included) on s3:// or on the
local disk. The server is moto's (tests/s3_server.py), started here on 127.0.0.1: the figures are what redraft's
object-storage path costs (fsspec listings, ranged reads, whole-object writes, publishing by copies), not a network.
Prints one JSON line (benchmarks/measure.py: interleaved repeats, medians with min and max, load averages).

    python benchmarks/s3_filter.py --pairs 1000000 --tasks 2 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import load_1m, machine, ratio, repeat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def write_pairs(path: Path, n: int) -> None:
    data = ROOT.parent / "shared" / "data" / "wmt22"
    src = (data / "deen.src").read_text(encoding="utf-8").splitlines()
    ref = (data / "deen.ref").read_text(encoding="utf-8").splitlines()
    lines = [f"{s.strip()}\t{r.strip()}\n" for s, r in zip(src, ref)]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(lines[i % len(lines)])


def filter_once(src: str, out: str, tasks: int) -> dict:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "redraft.cli", "filter", src, "--langs", "de-en", "-o", out, "--fresh",
                    "--set", f"executor.tasks={tasks}", "--set", f"executor.workers={min(tasks, 2)}"],
                   capture_output=True, text=True, env={**os.environ, "REDRAFT_PROGRESS": "0"})
    if proc.returncode:
        raise RuntimeError(f"redraft filter {src} -> {out}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return {"seconds": time.monotonic() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import s3_server
    import s3fs

    figures = {"machine": machine(), "pairs": args.pairs, "tasks": args.tasks}
    server = s3_server.start()
    os.environ.update(server.env())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            pairs = Path(tmp) / "pairs.tsv"
            write_pairs(pairs, args.pairs)
            fs = s3fs.S3FileSystem(skip_instance_cache=True)
            fs.mkdir("bench")
            fs.put(str(pairs), "bench/in/pairs.tsv")
            contenders = {"local": lambda: filter_once(str(pairs), f"{tmp}/out", args.tasks),
                          "s3": lambda: filter_once("s3://bench/in/pairs.tsv", "s3://bench/out", args.tasks)}
            for run in contenders.values():  # warm-up, untimed
                run()
            runs = repeat(contenders, args.repeats)
            kept = {"local": json.loads((Path(tmp) / "out" / "stats.json").read_text())["kept"],
                    "s3": json.loads(fs.cat_file("bench/out/stats.json"))["kept"]}
            assert kept["local"] == kept["s3"], kept
            figures.update({name: r.spread("seconds") for name, r in runs.items()}, kept=kept["s3"],
                           s3_speed_vs_local=round(1 / ratio(runs["s3"], runs["local"], "seconds"), 2),
                           load_1m_at_end=load_1m())
    finally:
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
