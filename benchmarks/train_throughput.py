"""Training throughput of `redraft train` against TRL's SFTTrainer on the same model, data and settings.

CPU (default): SmolLM2-135M-Instruct, fp32, translation dialogues of 1-3 turns built from WMT22 zh-en/de-en (or
invented ones when ../shared/data is absent). Runs, one after another in this invocation:
  ours (no packing, dynamic padding), TRL SFTTrainer (no packing), ours (best-fit packing)
and prints one JSON line: real (non-padding) tokens/s of each, the ratios against TRL and the load average.
TRL runs inside this process with glibc's malloc defaults; ours goes through `redraft train`, whose launcher keeps
freed memory in the heap on CPU machines (trainer/launch.py).

GPU (--gpu): a ~1B Llama-architecture model (Llama-3.2-1B shape, SmolLM2 tokenizer), random init, seq 2048, bf16,
packing, torch.compile; prints tokens/s and MFU from metrics.jsonl.

    python benchmarks/train_throughput.py [--steps 5] [--micro-batch-size 4] [--seq-len 512] [--repeats 2]
    python benchmarks/train_throughput.py --gpu [--nproc 1] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wmt22"
REVISIONS = ["Make it more formal.", "Make it shorter.", "Use simpler words.", "Keep the word order closer."]


def parallel_pairs(n: int) -> list[tuple[str, str, str]]:
    pairs = []
    for direction, lang in (("zhen", "zh"), ("deen", "de")):
        src, ref = SHARED / f"{direction}.src", SHARED / f"{direction}.ref"
        if src.is_file():
            pairs += [(lang, s, r) for s, r in zip(src.read_text().splitlines(), ref.read_text().splitlines())]
    if not pairs:
        pairs = [("de", f"Satz Nummer {i} ist hier.", f"Sentence number {i} is here.") for i in range(max(n, 500))]
    random.Random(0).shuffle(pairs)
    return pairs[:n]


def write_dialogues(out: Path, n: int, sentences_per_dialogue: int = 1) -> Path:
    """A redraft output folder: 1-3 turn translation dialogues (realistically uneven lengths); with
    `sentences_per_dialogue` > 1, long dialogues that translate that many sentences in turn (GPU: full rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from redraft.types import DIALOGUE_SCHEMA

    rng = random.Random(1)
    rows = []
    pairs = parallel_pairs(n * sentences_per_dialogue)
    for k in range(len(pairs) // sentences_per_dialogue):
        group = pairs[k * sentences_per_dialogue:(k + 1) * sentences_per_dialogue]
        lang, src, ref = group[0]
        messages = []
        for _, s, r in group:
            messages += [{"role": "user", "content": f"Translate into English: {s}"},
                         {"role": "assistant", "content": r}]
        revisions = rng.sample(REVISIONS, rng.choice([0, 0, 1, 2]))
        for rev in revisions:
            messages += [{"role": "user", "content": rev}, {"role": "assistant", "content": ref}]
        rows.append({"id": str(k), "messages": messages, "src_lang": lang, "tgt_lang": "en", "source_text": src,
                     "reference_text": ref, "revisions": revisions, "revision_args": ["{}"] * len(revisions),
                     "teacher": "reference", "usage": {"prompt_tokens": 0, "completion_tokens": 0}})
    (out / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=DIALOGUE_SCHEMA), out / "data" / "part-00000.parquet")
    (out / "recipe.yaml").write_text("name: throughput-bench\n")
    return out


def ours(model: Path, data: Path, work: Path, name: str, nproc: int = 1, warmup: int = 1, **fields) -> dict:
    from redraft.trainer import train

    cfg = {"model": str(model), "data": [str(data)], "output_dir": str(work / name), "lr": 1e-5,
           "optimizer": "adamw", "seed": 0, "progress": False, "grad_clip": 1.0, "lr_schedule": "constant",
           **fields}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    rc = train(str(path), [], nproc)
    wall = time.perf_counter() - t0
    if rc:
        raise SystemExit(f"redraft train failed ({rc}) for {name}")
    steps = [json.loads(line) for line in (work / name / "metrics.jsonl").read_text().splitlines()][warmup:]
    out = {"tokens_per_s": sum(s["tokens"] for s in steps) / sum(s["step_time_s"] for s in steps),
           "step_time_s": statistics.median(s["step_time_s"] for s in steps),
           "tokens_per_step": statistics.mean(s["tokens"] for s in steps),
           "examples_per_step": statistics.mean(s["examples"] for s in steps), "wall_s": round(wall, 1)}
    if "mfu" in steps[0]:
        out["mfu"] = statistics.median(s["mfu"] for s in steps)
    return out


def trl(model: Path, data: Path, work: Path, steps: int, micro_batch_size: int, seq_len: int) -> dict:
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    step_times = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            step_times.append(time.perf_counter() - self.t0)

    rows = datasets.load_dataset("parquet", data_files=str(data / "data" / "*.parquet"), split="train")
    rows = rows.select_columns(["messages"])
    args = SFTConfig(output_dir=str(work / "trl"), per_device_train_batch_size=micro_batch_size,
                     gradient_accumulation_steps=1, max_steps=steps, learning_rate=1e-5, lr_scheduler_type="constant",
                     max_length=seq_len, packing=False, gradient_checkpointing=False, activation_checkpointing=False,
                     logging_steps=1,
                     save_strategy="no", report_to=[], use_cpu=not torch.cuda.is_available(), bf16=False,
                     seed=0, dataloader_num_workers=0, max_grad_norm=1.0, optim="adamw_torch", disable_tqdm=True)
    model_obj = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, attn_implementation="sdpa")
    trainer = SFTTrainer(model=model_obj, args=args, train_dataset=rows,
                         processing_class=AutoTokenizer.from_pretrained(model), callbacks=[StepTimer()])
    t0 = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - t0
    totals = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    per_step = [b - a for a, b in zip([0] + totals[:-1], totals)][1:]
    times = step_times[1:]
    return {"tokens_per_s": sum(per_step) / sum(times), "step_time_s": statistics.median(times),
            "tokens_per_step": statistics.mean(per_step), "examples_per_step": micro_batch_size,
            "wall_s": round(wall, 1), "activation_checkpointing": bool(trainer.args.activation_checkpointing),
            "trl_version": __import__("trl").__version__}


def cpu_benchmark(args) -> dict:
    from redraft.synth.embedded_model import embedded_model_dir

    model = Path(args.model) if args.model else embedded_model_dir()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_dialogues(work / "dialogues", args.examples)
        common = dict(seq_len=args.seq_len, micro_batch_size=args.micro_batch_size, grad_accum=1,
                      max_steps=args.steps + 1)
        runs = {"ours_unpacked": [], "trl_unpacked": [], "ours_packed": []}
        # interleaved repeats, best of each: other load on a shared machine only ever slows a run down
        for r in range(args.repeats):
            runs["ours_unpacked"].append(ours(model, data, work, f"ours-unpacked-{r}", packing=False, **common))
            runs["trl_unpacked"].append(trl(model, data, work, args.steps + 1, args.micro_batch_size, args.seq_len))
            runs["ours_packed"].append(ours(model, data, work, f"ours-packed-{r}", packing=True, **common))
        best = {k: max(v, key=lambda x: x["tokens_per_s"]) for k, v in runs.items()}
        for k, v in runs.items():
            best[k]["all_tokens_per_s"] = [round(x["tokens_per_s"], 1) for x in v]
        unpacked, baseline, packed = best["ours_unpacked"], best["trl_unpacked"], best["ours_packed"]
    return {
        "benchmark": "train_throughput", "device": "cpu", "threads": os.cpu_count(), "model": model.name,
        "seq_len": args.seq_len, "micro_batch_size": args.micro_batch_size, "steps_timed": args.steps,
        # 1-minute load averages at the start and the end: other work on the cores slows every run down
        "load_average": [round(load_start[0], 2), round(os.getloadavg()[0], 2)],
        "ours_unpacked": unpacked, "trl_unpacked": baseline, "ours_packed": packed,
        "speedup_unpacked_vs_trl": round(unpacked["tokens_per_s"] / baseline["tokens_per_s"], 3),
        "speedup_packed_effective_vs_trl": round(packed["tokens_per_s"] / baseline["tokens_per_s"], 3),
    }


def gpu_benchmark(args) -> dict:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from redraft.synth.embedded_model import embedded_model_dir

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
        # Llama-3.2-1B's shape with SmolLM2's 49k vocabulary: ~1.0B parameters
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=2048, intermediate_size=8192,
                             num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                             max_position_embeddings=args.seq_len, tie_word_embeddings=True, rope_theta=500000.0,
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        n_params = sum(p.numel() for p in model.parameters())
        model.save_pretrained(work / "model")
        del model
        tokenizer.save_pretrained(work / "model")
        # long dialogues fill the 2048-token rows, as torchtitan's documents do, so the 12*L*H*T attention term
        # of the MFU estimate is not inflated by packing many short documents
        data = write_dialogues(work / "dialogues", args.examples, sentences_per_dialogue=24)
        result = ours(work / "model", data, work, "gpu", nproc=args.nproc, seq_len=args.seq_len,
                      micro_batch_size=args.micro_batch_size, grad_accum=1, max_steps=args.steps + 3, warmup=3,
                      packing=True, dtype="bfloat16", compile=args.compile, activation_checkpointing=False)
    return {"benchmark": "train_throughput", "device": torch.cuda.get_device_name(0), "nproc": args.nproc,
            "model": "llama-1B-shape random init", "params": n_params, "seq_len": args.seq_len,
            "micro_batch_size": args.micro_batch_size, "compile": args.compile, "ours_packed_bf16": result}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--model", help="HF folder (CPU mode); default SmolLM2-135M-Instruct")
    p.add_argument("--steps", type=int, default=None, help="timed steps (one more is run as warm-up)")
    p.add_argument("--micro-batch-size", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--examples", type=int, default=3000)
    p.add_argument("--nproc", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2, help="CPU: interleaved repeats, the best of each is reported")
    p.add_argument("--no-compile", dest="compile", action="store_false")
    args = p.parse_args()
    if args.gpu:
        args.steps, args.micro_batch_size = args.steps or 20, args.micro_batch_size or 4
        args.seq_len = args.seq_len or 2048
        result = gpu_benchmark(args)
    else:
        args.steps, args.micro_batch_size = args.steps or 5, args.micro_batch_size or 4
        args.seq_len = args.seq_len or 512
        result = cpu_benchmark(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
