"""Peak memory per rank of the trainer's data part on a large dialogue dataset. Prints one JSON line.

The dataset: --rows dialogues in the redraft output layout (data/*.parquet of 100k rows, row groups of 500 as the
datatrove writer makes them, recipe.yaml), written once under --dir. Each dialogue is a WMT22 de-en translation
request and three assistant turns (the translation, then two revisions) of about 30-60 tokens each, joined from
real sentences.

Each run starts --ranks processes (a gloo group, as torchrun would) that each do what a trainer rank does with
data: load SmolLM2's tokenizer, `tokenize_sources` (encoding, or reusing the encoding of an earlier run in the same
output folder), then --steps packed steps of planning and collating its micro-batches (no model: its memory is not
data). A rank reports its peak RSS (VmHWM: anonymous memory and mapped file pages) and its RSS before the data
part (the imports and the tokenizer). `encode` runs in a fresh output folder, `reuse` runs again in it
(--encode-once: only the first rank count encodes, the others reuse its encoding).

  python benchmarks/trainer_data.py --rows 200000 --ranks 1 2
  python benchmarks/trainer_data.py --rows 1000000 --ranks 2 1 --encode-once
Code from another checkout (before/after comparisons): put a `redraft` package tree first on PYTHONPATH, with a
sitecustomize.py there that removes this checkout's editable-install finder from `sys.meta_path` (it is consulted
before PYTHONPATH); a `tokenize_sources` without `cache_dir` is called the old way (every rank tokenises every row,
nothing to reuse). Each run names the `code` it ran.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

WMT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
FILE_ROWS, GROUP_ROWS = 100_000, 500


def proc_status_mb(*keys: str) -> dict:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in keys}


def joined(rng: random.Random, sentences: list[str], indices: list[int], words: int) -> tuple[str, list[int]]:
    """Sentences from `indices` on, then random ones, until the text has `words` words."""
    picked = list(indices)
    while sum(len(sentences[i].split()) for i in picked) < words:
        picked.append(rng.randrange(len(sentences)))
    return " ".join(sentences[i] for i in picked), picked


def write_dataset(folder: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from redraft.types import DIALOGUE_SCHEMA

    de = (WMT / "deen.src").read_text(encoding="utf-8").splitlines()
    en = (WMT / "deen.ref").read_text(encoding="utf-8").splitlines()
    rng = random.Random(0)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    for f, first in enumerate(range(0, n, FILE_ROWS)):
        rows = []
        for k in range(first, min(n, first + FILE_ROWS)):
            source, picked = joined(rng, de, [rng.randrange(len(de))], rng.randint(14, 30))
            translation = " ".join(en[i] for i in picked)
            formal, _ = joined(rng, en, [], rng.randint(18, 34))
            short, _ = joined(rng, en, [], rng.randint(16, 28))
            messages = [{"role": "user", "content": f"Translate into English: {source}"},
                        {"role": "assistant", "content": translation},
                        {"role": "user", "content": "Make it more formal."},
                        {"role": "assistant", "content": formal},
                        {"role": "user", "content": "Now make it a little shorter."},
                        {"role": "assistant", "content": short}]
            rows.append({"id": f"bench-{k}", "messages": messages, "src_lang": "de", "tgt_lang": "en",
                         "source_text": source, "reference_text": translation, "revisions": ["formal", "shorten"],
                         "revision_args": ["{}", "{}"], "teacher": "bench", "usage": None, "judge": None})
        pq.write_table(pa.Table.from_pylist(rows, schema=DIALOGUE_SCHEMA), tmp / "data" / f"{f:05d}.parquet",
                       row_group_size=GROUP_ROWS)
    (tmp / "recipe.yaml").write_text("name: trainer-data-bench\n")
    tmp.rename(folder)


def worker(args) -> None:
    """One rank: the data part of `trainer/main.py`'s `run`."""
    import torch.distributed as dist
    from transformers import AutoTokenizer

    from redraft.trainer import data as data_module
    from redraft.trainer.config import DataSource
    from redraft.trainer.packing import collate
    from redraft.trainer.sampler import GlobalBatchPlanner, rank_microbatches

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    tokenizer = data_module.prepare_tokenizer(AutoTokenizer.from_pretrained(args.tokenizer))
    before = proc_status_mb("VmRSS")["VmRSS"]
    sharded = "cache_dir" in inspect.signature(data_module.tokenize_sources).parameters
    kwargs = dict(cache_dir=Path(args.out) / "tokenized", rank=rank, world_size=world,
                  barrier=dist.barrier) if sharded else {}
    t0 = time.perf_counter()
    data = data_module.tokenize_sources([DataSource(path=args.data)], tokenizer, args.seq_len, log=lambda *a: None,
                                        **kwargs)
    tokenize_s = time.perf_counter() - t0
    planner = GlobalBatchPlanner(data.lengths, data.source, [1.0], 0, args.micro_batch_size * world, args.seq_len,
                                 True)
    tokens = 0
    for _ in range(args.steps):
        rows = planner.next_rows()
        for micro in rank_microbatches(rows, rank, world, 1, args.micro_batch_size):
            batch = collate(micro, data.input_ids, data.targets, data.source, tokenizer.pad_token_id, True,
                            args.seq_len)
            tokens += batch["n_tokens"]
    status = proc_status_mb("VmHWM", "RssAnon", "RssFile")
    print(json.dumps({"rank": rank, "peak_rss_mb": round(status["VmHWM"]), "rss_before_data_mb": round(before),
                      "end_anon_mb": round(status["RssAnon"]), "end_file_mb": round(status["RssFile"]),
                      "examples": len(data.n_trained), "tokens": sum(a["tokens"] for a in data.audit().values()),
                      "tokenize_s": round(tokenize_s, 1), "collated_tokens": tokens,
                      "sharded": sharded, "code": data_module.__file__}), flush=True)
    dist.barrier()
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, ranks: int, out: Path) -> dict:
    procs, port = [], free_port()
    for r in range(ranks):
        env = {**os.environ, "RANK": str(r), "WORLD_SIZE": str(ranks), "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, __file__, "--worker", "--data", str(args.data), "--out", str(out),
               "--tokenizer", str(args.tokenizer), "--seq-len", str(args.seq_len), "--steps", str(args.steps),
               "--micro-batch-size", str(args.micro_batch_size)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    reports = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a rank failed ({p.returncode})")
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    return {"peak_rss_mb_per_rank": [r["peak_rss_mb"] for r in reports],
            "rss_before_data_mb_per_rank": [r["rss_before_data_mb"] for r in reports],
            "end_anon_file_mb_per_rank": [[r["end_anon_mb"], r["end_file_mb"]] for r in reports],
            "tokenize_s": max(r["tokenize_s"] for r in reports), "examples": reports[0]["examples"],
            "tokens": reports[0]["tokens"],
            "encoded_mb": round(sum(f.stat().st_size for f in out.rglob("*.arrow")) / 2**20),
            "sharded": reports[0]["sharded"], "code": reports[0]["code"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/redraft-trainer-data"))
    parser.add_argument("--tokenizer", help="a tokenizer folder (default: the embedded SmolLM2's)")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--no-reuse", action="store_true", help="skip the second run on the encoded folder")
    parser.add_argument("--encode-once", action="store_true",
                        help="encode with the first --ranks only; the others reuse its encoding (large --rows)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.tokenizer is None:
        from redraft.synth.embedded_model import embedded_model_dir

        args.tokenizer = embedded_model_dir()
    args.data = args.dir / f"dialogues-{args.rows}"
    if not args.data.is_dir():
        write_dataset(args.data, args.rows)
    result = {"rows": args.rows, "seq_len": args.seq_len, "steps": args.steps, "runs": {}}
    out = args.dir / f"run-{args.rows}"
    for i, ranks in enumerate(args.ranks):
        if i == 0 or not args.encode_once:
            shutil.rmtree(out, ignore_errors=True)
        phases = ["reuse"] if i and args.encode_once else ["encode"] if args.no_reuse else ["encode", "reuse"]
        for phase in phases:
            result["runs"][f"{ranks}_ranks_{phase}"] = run(args, ranks, out)
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
