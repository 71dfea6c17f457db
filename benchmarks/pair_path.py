"""How many of the project's files one parallel pair passes through, from `redraft run` to `redraft train`'s data.

Runs the built-in demo recipe (embedded teacher, default executor) on its first --limit pairs through the CLI entry
point, in this process, then reads the output the way `redraft train` does (trainer/config.py's `load_config`, then
trainer/data.py's `tokenize_sources` with the embedded model's tokenizer). A profile hook on every thread records
each project function that receives, returns or yields a carrier of a pair's source text: a datatrove Document, a
dataclass (ParallelPair), a dict (a row, a message) or a list/tuple of them; a bare string does not count. The pair
reported is the first input pair that reached the trainer; the figure is the number of project files (tests and
benchmarks excluded) in its path. Prints one JSON line with the files in the order the pair first reached them
(with --functions, also each file's functions that handled it: the walk docs/ARCHITECTURE.md describes).
  python benchmarks/pair_path.py [--limit 4] [--functions]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
SKIP = tuple(str(ROOT / d) + os.sep for d in ("tests", "benchmarks", ".venv"))


def carried(obj, texts: tuple[str, ...], depth: int = 0) -> set[str]:
    """The texts of `texts` that `obj` carries (inside a Document, dataclass, dict, list or tuple)."""
    from datatrove.data import Document

    if depth > 4:
        return set()
    if isinstance(obj, Document):
        return {t for t in texts if t in obj.text} | carried(obj.metadata, texts, depth + 1)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    found = set()
    if isinstance(obj, dict):
        for v in list(obj.values())[:64]:
            if isinstance(v, str):
                found |= {t for t in texts if t in v}
            elif isinstance(v, (dict, list, tuple)) or dataclasses.is_dataclass(v):
                found |= carried(v, texts, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj[:512]:
            if not isinstance(v, (str, bytes, int, float)):
                found |= carried(v, texts, depth + 1)
    return found


class PairTracer:
    """A profile function: for each source text, the project files (first-seen order) whose functions handle it."""

    def __init__(self, texts: list[str]):
        self.texts = tuple(texts)
        self.files: dict[str, dict[str, dict[str, None]]] = defaultdict(dict)  # text -> file -> functions
        self.lock = threading.Lock()

    def __call__(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        name = frame.f_code.co_filename
        if not name.startswith(str(ROOT)) or name.startswith(SKIP):
            return
        name = os.path.realpath(name)
        values = list(frame.f_locals.values())[:frame.f_code.co_argcount] if event == "call" else [arg]
        found = set()
        for v in values:
            found |= carried(v, self.texts)
        if found:
            rel = os.path.relpath(name, ROOT)
            function = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            with self.lock:
                for t in found:
                    self.files[t].setdefault(rel, {})[function] = None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--functions", action="store_true", help="also the functions of each file")
    a = parser.parse_args()
    os.environ.setdefault("REDRAFT_PROGRESS", "0")

    from redraft.cli import main as redraft

    demo = ROOT / "recipes" / "data" / "demo.jsonl"
    texts = [json.loads(line)["source"] for line in demo.read_text(encoding="utf-8").splitlines()[:a.limit]]
    tracer = PairTracer(texts)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        from redraft.synth.embedded_model import embedded_model_dir

        model = embedded_model_dir()
        config = Path(tmp) / "train.yaml"
        config.write_text(json.dumps({"model": str(model), "data": [str(out)], "output_dir": str(Path(tmp) / "t"),
                                      "max_steps": 1, "seq_len": 512}))
        threading.setprofile(tracer)
        sys.setprofile(tracer)
        try:
            code = redraft(["run", "demo", "-o", str(out), "--limit", str(a.limit), "--set", "synth.turns=2"])
            if code:
                raise SystemExit(f"redraft run exited {code}")
            from transformers import AutoTokenizer

            from redraft.trainer.config import load_config
            from redraft.trainer.data import prepare_tokenizer, tokenize_sources

            cfg = load_config(config)
            tokenize_sources(cfg.data, prepare_tokenizer(AutoTokenizer.from_pretrained(cfg.model)), cfg.seq_len,
                             log=lambda *_: None)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    trained = [t for t in texts if any(f.startswith("trainer/") for f in tracer.files[t])]
    if not trained:
        raise SystemExit("no pair reached the trainer")
    path = tracer.files[trained[0]]
    out = {"bench": "pair_path", "pair": trained[0], "files": len(path), "path": list(path),
           "pairs_traced": len(texts), "pairs_trained": len(trained)}
    if a.functions:
        out["functions"] = {f: list(functions) for f, functions in path.items()}
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
