"""HTTP requests of a batch run against a direct run of the same recipe: N dialogues of T turns (10,000 x 3 by
default), through tests/batch_server.py on loopback, which counts every request it gets.

The server's batches take --batch-seconds to run and the batch run polls every --poll seconds, the ratio of a
5-minute batch polled every 30 s (the default `batch_poll_seconds`); real batches take longer, and polls back off
while nothing changes, so real runs poll less often than this. Both runs must give the same rows. Prints one JSON
line. Run: python benchmarks/batch_requests.py [--dialogues 10000] [--turns 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "batch_server.py"


def run(pairs: Path, out: Path, turns: int, extra: list[str], server_args: list[str]) -> dict:
    from redraft.recipes.runner import run_recipe

    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", *server_args], stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        start = time.monotonic()
        run_recipe("bayling-zh-en", [f"source.path={pairs}", f"teacher.base_url=http://127.0.0.1:{port}/v1",
                                     "teacher.model=bench", "teacher.api_key_env=null", "teacher.timeout=60",
                                     "teacher.max_concurrency=64", f"synth.turns={turns}", "filters=[]",
                                     "dedupe=false", *extra], output=str(out))
        seconds = time.monotonic() - start
        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30).read())
    finally:
        proc.kill()
        proc.wait()
    kinds = {k: v for k, v in stats["counts"].items() if k.startswith(("files.", "batches."))}
    return {"http_requests": stats["http_requests"], "answered": stats["counts"].get("200", 0) +
            stats["counts"].get("line_200", 0), "seconds": round(seconds, 1), **({"by_kind": kinds} if kinds else {})}


def rows(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dialogues", type=int, default=10_000)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--poll", type=float, default=0.5, help="batch_poll_seconds of the batch run")
    p.add_argument("--batch-seconds", type=float, default=5.0, help="how long each batch runs on the server")
    a = p.parse_args()
    os.environ.setdefault("REDRAFT_PROGRESS", "0")
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "pairs.tsv"
        pairs.write_text("".join(f"我们第{i}次一起去北京旅游。\tThis is our trip number {i} to Beijing.\n"
                                 for i in range(a.dialogues)), encoding="utf-8")
        direct = run(pairs, Path(tmp) / "direct", a.turns, [], [])
        batch = run(pairs, Path(tmp) / "batch", a.turns,
                    ["teacher.batch=true", f"teacher.batch_poll_seconds={a.poll}",
                     f"synth.max_in_flight={a.dialogues}"],
                    ["--validating", "0.2", "--in-progress", str(a.batch_seconds), "--finalizing", "0.2"])
        same = rows(Path(tmp) / "direct") == rows(Path(tmp) / "batch")
    print(json.dumps({"dialogues": a.dialogues, "turns": a.turns, "direct": direct, "batch": batch,
                      "requests_ratio": round(direct["http_requests"] / batch["http_requests"], 1),
                      "rows_equal": same, "poll_seconds": a.poll, "batch_seconds": a.batch_seconds}))


if __name__ == "__main__":
    main()
