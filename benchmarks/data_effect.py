"""Does the data make a better translator? The whole loop, measured: synthesise a redraft dataset, train on it with
`redraft train`, and evaluate the base and the trained model with `redraft eval` on the same held-apart segments.

WMT22 zh-en and de-en (../shared/data/wmt22) are split once, by a seeded shuffle: `--eval-n` pairs per direction are
held apart for evaluation, and the dataset is synthesised (`redraft run`, the default dialogue filters plus
`decontaminate` against the held-apart sources and references) from `--train-n` other pairs per direction.
`--filters decontaminate` keeps every dialogue that does not overlap the eval set (no quality filters): with the
embedded teacher the default filters keep few. The teacher is the embedded SmolLM2-135M-Instruct unless
`--teacher-url/--teacher-model` name a better one, or `--dataset DIR` gives an existing redraft dataset (decontaminate
it yourself against the held-apart files in WORK/eval/). The model trained is SmolLM2-135M-Instruct. Suites:
translation zh-en and de-en (BayLing's prompt), and interactive zh-en (`--interactive-n` sessions of two turns).
Prints one JSON line with both models' scores. Re-running with the same --work reuses the teacher's answers and the
base model's evaluation.

    python benchmarks/data_effect.py [--eval-n 100] [--train-n 150] [--steps 60] [--filters default] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
DIRECTIONS = (("zh", "en"), ("de", "en"))


def redraft(*args: str, log: Path) -> None:
    cmd = [str(Path(sys.executable).with_name("redraft")), *args]
    env = {**os.environ, "REDRAFT_PROGRESS": "0", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    started = time.monotonic()
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
        f.write(f"# exit {code} after {time.monotonic() - started:.0f} s\n")
    if code:
        sys.exit(f"{' '.join(args[:2])} failed (exit {code}); see {log}")


def split(work: Path, eval_n: int, train_n: int, seed: int) -> tuple[dict, Path]:
    """Held-apart eval files per direction, and a JSONL of training pairs from the other lines."""
    evals, train = {}, []
    for src_lang, tgt_lang in DIRECTIONS:
        name = f"{src_lang}{tgt_lang}"
        src = (SHARED / f"{name}.src").read_text(encoding="utf-8").splitlines()
        ref = (SHARED / f"{name}.ref").read_text(encoding="utf-8").splitlines()
        order = list(range(len(src)))
        random.Random(f"{seed}:{name}").shuffle(order)
        held, rest = sorted(order[:eval_n]), order[eval_n:eval_n + train_n]
        for side, lines in (("src", src), ("ref", ref)):
            path = work / "eval" / f"{name}.{side}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(lines[i] + "\n" for i in held), encoding="utf-8")
        evals[f"{src_lang}-{tgt_lang}"] = (work / "eval" / f"{name}.src", work / "eval" / f"{name}.ref")
        train += [{"source": src[i], "target": ref[i], "src_lang": src_lang, "tgt_lang": tgt_lang} for i in rest]
    path = work / "train-pairs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train), encoding="utf-8")
    return evals, path


def recipe(work: Path, pairs: Path, evals: dict, a) -> Path:
    teacher = ({"provider": "openai", "base_url": a.teacher_url, "model": a.teacher_model, "temperature": 0.7,
                "max_tokens": 256} if a.teacher_url else
               {"provider": "embedded", "model": "SmolLM2-135M-Instruct", "temperature": 0.0, "max_tokens": 64,
                "batch_size": 32, "max_concurrency": 32})
    eval_files = [str(p) for pair in evals.values() for p in pair]
    filters = [] if a.filters == "decontaminate" else [
        {"name": n} for n in ("structure", "refusal", "compliance", "faithfulness", "turn_language")]
    filters.append({"name": "decontaminate", "params": {"paths": eval_files}})
    r = {"name": "data-effect", "seed": a.seed,
         "source": {"path": str(pairs), "format": "jsonl", "src_lang": "zh", "tgt_lang": "en"},
         "teacher": teacher, "synth": {"turns": 2}, "filters": filters, "dedupe": "default",
         "output": {"path": str(work / "dataset")}}
    path = work / "recipe.yaml"
    path.write_text(yaml.safe_dump(r, allow_unicode=True, sort_keys=False))
    return path


def eval_config(work: Path, evals: dict, a) -> Path:
    suites = [{"suite": "translation", "source": str(s), "reference": str(r), "langs": langs}
              for langs, (s, r) in evals.items()]
    s, r = evals["zh-en"]
    suites.append({"suite": "interactive", "source": str(s), "reference": str(r), "langs": "zh-en",
                   "limit": a.interactive_n, "turns": 2})
    path = work / "eval.yaml"
    path.write_text(yaml.safe_dump({"suites": suites}))
    return path


def headline(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    keep = ("bleu", "chrf", "compliance", "language_ok", "first_turn_bleu", "first_turn_chrf", "failed")
    return {name: {k: round(v, 4) if isinstance(v, float) else v for k, v in rec["metrics"].items() if k in keep}
            for name, rec in results["suites"].items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--eval-n", type=int, default=100, help="held-apart pairs per direction")
    p.add_argument("--train-n", type=int, default=150, help="training pairs per direction (dataset input)")
    p.add_argument("--interactive-n", type=int, default=30, help="interactive sessions (zh-en, two turns)")
    p.add_argument("--steps", type=int, default=60, help="optimizer steps of `redraft train`")
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--max-tokens", type=int, default=64, help="per answer, in evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", help="an existing redraft dataset folder instead of synthesising one")
    p.add_argument("--filters", choices=("default", "decontaminate"), default="default",
                   help="default: the dialogue filters and decontamination; decontaminate: decontamination only")
    p.add_argument("--teacher-url", help="synthesise with a model on this OpenAI-compatible server")
    p.add_argument("--teacher-model")
    p.add_argument("--work", default="out/data_effect", help="work folder (re-running reuses what is done)")
    a = p.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is missing: this benchmark needs the WMT22 test sets")
    from redraft.synth.embedded_model import embedded_model_dir

    work = Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    started = time.monotonic()
    evals, pairs = split(work, a.eval_n, a.train_n, a.seed)
    timings = {}

    t = time.monotonic()
    dataset = Path(a.dataset) if a.dataset else work / "dataset"
    if not a.dataset:
        redraft("run", str(recipe(work, pairs, evals, a)), log=log)
    stats = json.loads((dataset / "stats.json").read_text()) if (dataset / "stats.json").is_file() else None
    timings["dataset_s"] = round(time.monotonic() - t)

    t = time.monotonic()
    base_model = embedded_model_dir()
    train_dir = work / f"train-{a.filters}"
    train_cfg = {"model": str(base_model), "data": [str(dataset)], "output_dir": str(train_dir), "seq_len": 512,
                 "micro_batch_size": 4, "grad_accum": 2, "lr": a.lr, "warmup_steps": 5, "max_steps": a.steps,
                 "optimizer": "adamw", "seed": a.seed, "save_every": 0, "packing": True, "dtype": "float32",
                 "progress": False}
    (work / f"train-{a.filters}.yaml").write_text(yaml.safe_dump(train_cfg))
    redraft("train", str(work / f"train-{a.filters}.yaml"), log=log)
    metrics = [json.loads(line) for line in (train_dir / "metrics.jsonl").read_text().splitlines() if line]
    timings["train_s"] = round(time.monotonic() - t)

    config = eval_config(work, evals, a)
    scores = {}
    runs = (("base", "embedded", "eval-base"),
            ("trained", str(train_dir / "final"), f"eval-trained-{a.filters}"))
    for name, model, folder in runs:
        t = time.monotonic()
        redraft("eval", str(config), "--model", model, "--max-tokens", str(a.max_tokens), "--batch-size", "32",
                "-o", str(work / folder), log=log)
        scores[name] = headline(work / folder)
        timings[f"eval_{name}_s"] = round(time.monotonic() - t)
    redraft("eval", "compare", *(str(work / folder) for _, _, folder in runs), "-o",
            str(work / f"compare-{a.filters}"), log=log)

    delta = {suite: {k: round(scores["trained"][suite][k] - v, 4) for k, v in m.items()
                     if isinstance(v, float) and isinstance(scores["trained"][suite].get(k), float)}
             for suite, m in scores["base"].items()}
    print(json.dumps({
        "eval_pairs_per_direction": a.eval_n, "interactive_sessions": a.interactive_n,
        "dataset": {"path": str(dataset), "input": stats and stats["input"], "kept": stats and stats["kept"],
                    "dropped": stats and stats["dropped"], "teacher": a.teacher_model or "SmolLM2-135M-Instruct",
                    "filters": a.filters},
        "train": {"steps": len(metrics), "first_loss": metrics[0]["loss"] if metrics else None,
                  "last_loss": metrics[-1]["loss"] if metrics else None,
                  "trained_tokens": metrics[-1].get("trained_tokens") if metrics else None},
        "base": scores["base"], "trained": scores["trained"], "delta": delta, **timings,
        "seconds": round(time.monotonic() - started), "loadavg": Path("/proc/loadavg").read_text().split()[:3]}))


if __name__ == "__main__":
    main()
