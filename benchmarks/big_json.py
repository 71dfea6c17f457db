"""Peak memory on a big ShareGPT `.json` array (FastChat's layout): reading it through redraft's reader, and
`redraft export ... -o x.parquet`. Prints one JSON line.

The array is written a row at a time (--gb of it, zh-en translation dialogues, indented like FastChat's files), then
each --python interpreter reads it in a child process whose peak RSS is its own (`os.wait4`). Compare two checkouts
by passing each one's interpreter (the child runs from a neutral folder, so it imports the redraft that interpreter
has installed):
  python benchmarks/big_json.py --gb 2 --python .venv/bin/python /path/to/other/.venv/bin/python
Peak RSS does not depend on the machine's load; wall seconds do (CPU seconds less so): compare them on an idle machine.
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
import time
from pathlib import Path

READ = """
import sys
from redraft.readers import ItemReader
n = sum(1 for _ in ItemReader(sys.argv[1], src_lang="zh", tgt_lang="en").read())
print(n)
"""


def write_array(path: Path, size: int, seed: int = 0) -> int:
    """A JSON array of ShareGPT dialogues of about `size` bytes, written a row at a time. Returns its rows."""
    rng = random.Random(seed)
    han = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
    words = "the of and to in is was he for it with as his on be at by had are but from or have an they which one".split()
    rows = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        while f.tell() < size:
            zh = "".join(rng.choices(han, k=rng.randint(40, 400))) + "。"
            en = " ".join(rng.choices(words, k=rng.randint(10, 120))).capitalize() + "."
            turns = [{"from": "human", "value": f"Translate into English:\n{zh}"}, {"from": "gpt", "value": en}]
            if rng.random() < 0.5:
                turns += [{"from": "human", "value": "Make it more formal."}, {"from": "gpt", "value": en.upper()}]
            row = {"id": f"row-{rows}", "conversations": turns, "src_lang": "zh", "tgt_lang": "en"}
            f.write(("," if rows else "") + "\n" + json.dumps(row, ensure_ascii=False, indent=2))
            rows += 1
        f.write("\n]\n")
    return rows


def peak_run(cmd: list[str], cwd: Path) -> dict:
    """Run cmd; its exit code, seconds (wall and CPU), peak RSS (MB) and last line of output."""
    started = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "REDRAFT_PROGRESS": "0"})
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    lines = out.strip().splitlines()
    return {"rc": p.returncode, "s": round(time.monotonic() - started, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "last_line": lines[-1][-300:] if lines else ""}


def measure(python: str, path: Path, work: Path) -> dict:
    where = subprocess.run([python, "-c", "import redraft, os; print(os.path.dirname(redraft.__file__))"],
                           capture_output=True, text=True, cwd=work).stdout.strip()
    read = peak_run([python, "-c", READ, str(path)], work)
    out = work / "x.parquet"
    export = peak_run([python, "-m", "redraft.cli", "export", str(path), "--format", "sharegpt", "-o", str(out)], work)
    if out.exists():
        import pyarrow.parquet as pq

        export["rows_written"] = pq.ParquetFile(out).metadata.num_rows
        out.unlink()
    return {"python": python, "redraft": where, "read": read, "export": export}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=2.0, help="size of the array file in GB (1e9 bytes)")
    ap.add_argument("--python", nargs="+", default=[sys.executable], help="interpreters to measure, in turn")
    ap.add_argument("--dir", default=None, help="where to write the file (default: a temporary folder)")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="big-json-", dir=a.dir))
    try:
        path = work / "sharegpt.json"
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        rows = write_array(path, int(a.gb * 1e9))
        written_s = time.monotonic() - started
        runs = [measure(str(Path(py).absolute()), path, work) for py in a.python]
        print(json.dumps({"bytes": path.stat().st_size, "rows": rows, "write_s": round(written_s, 1), "runs": runs,
                          "load_1min": [load_before, os.getloadavg()[0]]}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
