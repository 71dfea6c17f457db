"""Are the user's requests written in the language the recipe asks for? `redraft run` (the Python API the CLI calls)
on WMT22 pairs of each direction with a loopback teacher (tests/synth_fault_server.py, no faults; filters and dedupe
off, so every dialogue is written), `synth.turns` 4 with every revision kind, then language ID (filters/langid.py) on
every request of every dialogue, less the source sentence and anything quoted. Prints one JSON line: per direction,
the share of dialogues whose every request is in the source language (`source`, to compare with
`synth.request_in_source_language`), in the target language (`target`), and neither (`mixed`: a request in a third
language or in English where the pair has templates), and the requests language ID rejects.

    python benchmarks/request_languages.py [--pairs jaen,ruen,csen,uken,frde,enja] [-n 300] [--share 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WMT = ROOT / ".." / "shared" / "data" / "wmt22"
SERVER = ROOT / "tests" / "synth_fault_server.py"
DIRECTIONS = ("jaen", "ruen", "csen", "uken", "frde", "enja")


def wmt_pairs(direction: str, n: int) -> list[tuple[str, str]]:
    src = (WMT / f"{direction}.src").read_text(encoding="utf-8").split("\n")
    ref = (WMT / f"{direction}.ref").read_text(encoding="utf-8").split("\n")
    pairs = {(s.strip(), r.strip()): None for s, r in zip(src, ref)
             if s.strip() and r.strip() and "\t" not in s + r and len(s.split()) + len(s) // 8 >= 4}
    return list(pairs)[:n]


def request_languages(rows: list[dict], identifier) -> dict:
    """Per dialogue: are all its requests (less the source sentence and quoted material) in the source language, all
    in the target language, or neither?"""
    from redraft.filters.text import unquoted

    texts, langs, owner = [], [], []
    for i, row in enumerate(rows):
        for message in row["messages"]:
            if message["role"] == "user":
                own = unquoted(message["content"], row["source_text"])
                texts += [own, own]
                langs += [row["src_lang"], row["tgt_lang"]]
                owner.append(i)
    verdicts = identifier.agrees(texts, langs)
    in_src, in_tgt = [True] * len(rows), [True] * len(rows)
    for k, i in enumerate(owner):
        in_src[i] &= verdicts[2 * k]
        in_tgt[i] &= verdicts[2 * k + 1]
    n = len(rows) or 1
    source = sum(s and not t for s, t in zip(in_src, in_tgt))
    target = sum(t and not s for s, t in zip(in_src, in_tgt))
    both = sum(s and t for s, t in zip(in_src, in_tgt))  # every request too short to judge
    return {"n": len(rows), "source": round(source / n, 3), "target": round(target / n, 3),
            "undecided": round(both / n, 3), "mixed": round((len(rows) - source - target - both) / n, 3),
            "requests": len(owner),
            "requests_in_neither": sum(not verdicts[2 * k] and not verdicts[2 * k + 1] for k in range(len(owner)))}


def run_direction(src_lang: str, tgt_lang: str, pairs: list[tuple[str, str]], share: float, port: int, out: Path,
                  key_var: str) -> list[dict]:
    import pyarrow.parquet as pq

    from redraft.recipes.runner import run_recipe

    tsv = out.with_suffix(".tsv")
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    run_recipe("bayling-zh-en", [
        f"source.path={tsv}", "source.format=tsv", f"source.src_lang={src_lang}", f"source.tgt_lang={tgt_lang}",
        f"teacher.base_url=http://127.0.0.1:{port}/v1", "teacher.model=loopback", f"teacher.api_key_env={key_var}",
        "teacher.max_concurrency=16", "synth.turns=4", "synth.revisions=default",
        f"synth.request_in_source_language={share}", "filters=[]", "dedupe=false"], output=str(out))
    return [row for f in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


class LoopbackTeacher:
    """tests/synth_fault_server.py on a free port, without faults, for as long as the block runs."""

    key_var = "REDRAFT_LOOPBACK_KEY"

    def __enter__(self) -> int:
        os.environ[self.key_var] = "loopback"
        self.proc = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--faults", "0"],
                                     stdout=subprocess.PIPE, text=True)
        return int(self.proc.stdout.readline())

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=",".join(DIRECTIONS))
    ap.add_argument("-n", type=int, default=300, help="pairs per direction")
    ap.add_argument("--share", type=float, default=0.5, help="synth.request_in_source_language")
    a = ap.parse_args()
    os.environ.setdefault("REDRAFT_PROGRESS", "0")
    from redraft.filters.langid import LanguageIdentifier

    identifier, out = LanguageIdentifier(), {}
    with tempfile.TemporaryDirectory() as tmp, LoopbackTeacher() as port:
        for d in a.pairs.split(","):
            rows = run_direction(d[:2], d[2:], wmt_pairs(d, a.n), a.share, port, Path(tmp) / d,
                                 LoopbackTeacher.key_var)
            out[f"{d[:2]}-{d[2:]}"] = request_languages(rows, identifier)
    print(json.dumps({"benchmark": "request_languages", "request_in_source_language": a.share, "turns": 4,
                      "directions": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
