"""Training throughput of `redraft train` against TRL's SFTTrainer on the same model, data and settings.

CPU (default): SmolLM2-135M-Instruct, fp32, translation dialogues of 1-3 turns built from WMT22 zh-en/de-en (or
invented ones when ../shared/data is absent). Runs, --repeats times, interleaved (benchmarks/measure.py):
  ours (no packing, dynamic padding), TRL SFTTrainer (no packing), ours (best-fit packing)
and prints one JSON line: real (non-padding) tokens/s of each (median, min, max, every value), the ratios of the
medians against TRL and the load average around every run. The first step of every run is its warm-up, left out
of every figure alike. Each run is a fresh process in the same environment: ours through `redraft train`, TRL in a
process started with the environment `redraft train` gives its own (trainer/launch.py: threads, and glibc keeping
freed memory in the heap on a CPU), so the ratio compares the trainers, not the process they run in.
(TRL, the peer: `pip install trl`, or `pip install -e .[bench]`)

GPU (--gpu): a ~1B Llama-architecture model (Llama-3.2-1B shape, 49k vocabulary), random init, and a tokenizer
built in code (tests/random_models.py: nothing is fetched), seq 2048, bf16, packing, torch.compile, with and without
activation checkpointing: tokens/s, TFLOP/s per GPU, MFU and peak memory from metrics.jsonl; below 45% MFU (and
with --profile-out), a torch.profiler summary of two steps. `--gpu --cpu` runs the same code on the CPU with a
tiny model (what benchmarks/gpu_check.sh --cpu does).

    python benchmarks/train_throughput.py [--steps 5] [--micro-batch-size 4] [--seq-len 512] [--repeats 3]
    python benchmarks/train_throughput.py --gpu [--nproc 1] [--steps 20] [--warmup 3] [--profile-out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from measure import load_1m, machine, ratio, repeat

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "wmt22"
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


def write_config(model: Path, data: Path, work: Path, name: str, **fields) -> Path:
    cfg = {"model": str(model), "data": [str(data)], "output_dir": str(work / name), "lr": 1e-5,
           "optimizer": "adamw", "seed": 0, "progress": False, "grad_clip": 1.0, "lr_schedule": "constant",
           **fields}
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def ours(model: Path, data: Path, work: Path, name: str, nproc: int = 1, warmup: int = 1, **fields) -> dict:
    from redraft.trainer import train

    path = write_config(model, data, work, name, **fields)
    t0 = time.perf_counter()
    rc = train(str(path), [], nproc)
    wall = time.perf_counter() - t0
    if rc:
        raise SystemExit(f"redraft train failed ({rc}) for {name}")
    steps = timed_steps(work / name, warmup)
    out = {"tokens_per_s": sum(s["tokens"] for s in steps) / sum(s["step_time_s"] for s in steps),
           "step_time_s": statistics.median(s["step_time_s"] for s in steps),
           "tokens_per_step": statistics.mean(s["tokens"] for s in steps),
           "examples_per_step": statistics.mean(s["examples"] for s in steps), "wall_s": round(wall, 1)}
    if "mfu" in steps[0]:
        out["mfu"] = statistics.median(s["mfu"] for s in steps)
    return out


def trl_process(model: Path, data: Path, work: Path, steps: int, micro_batch_size: int, seq_len: int) -> dict:
    """`trl` in a fresh process, with the environment `redraft train` gives its processes."""
    from redraft.trainer.launch import process_env

    cmd = [sys.executable, __file__, "--trl-run", str(model), str(data), str(work), str(steps), str(micro_batch_size),
           str(seq_len)]
    done = subprocess.run(cmd, env=process_env(1), stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"the TRL run failed ({done.returncode}; its output is above)")
    shutil.rmtree(work / "trl", ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    start = machine()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_dialogues(work / "dialogues", args.examples)
        common = dict(seq_len=args.seq_len, micro_batch_size=args.micro_batch_size, grad_accum=1,
                      max_steps=args.steps + 1)
        run_ids = itertools.count()

        def ours_run(**fields) -> dict:
            name = f"ours-{next(run_ids)}"
            result = ours(model, data, work, name, **common, **fields)
            shutil.rmtree(work / name)  # the exported model: ~0.5 GB a run
            return result

        runs = repeat({"ours_unpacked": lambda: ours_run(packing=False),
                       "trl_unpacked": lambda: trl_process(model, data, work, args.steps + 1, args.micro_batch_size,
                                                           args.seq_len),
                       "ours_packed": lambda: ours_run(packing=True)}, args.repeats)
    figures = dict(tokens_per_s=1, step_time_s=3, tokens_per_step=1, examples_per_step=2, wall_s=1)
    return {
        "benchmark": "train_throughput", "device": "cpu", **start, "repeats": args.repeats, "model": model.name,
        "seq_len": args.seq_len, "micro_batch_size": args.micro_batch_size, "steps_timed": args.steps,
        "trl_version": runs["trl_unpacked"].figures[0]["trl_version"],
        **{name: r.report(**figures) for name, r in runs.items()},
        "speedup_unpacked_vs_trl": ratio(runs["ours_unpacked"], runs["trl_unpacked"], "tokens_per_s", digits=3),
        "speedup_packed_effective_vs_trl": ratio(runs["ours_packed"], runs["trl_unpacked"], "tokens_per_s",
                                                 digits=3),
        "load_1m_at_end": load_1m(),
    }


# Llama-3.2-1B's shape with SmolLM2's 49k vocabulary: ~1.0B parameters
LLAMA_1B = dict(vocab_size=49152, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                num_attention_heads=32, num_key_value_heads=8, rope_theta=500000.0)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
MFU_GOAL = 0.45  # below it, a profile of the steps says where the time goes


def gpu_benchmark(args) -> dict:
    """MFU of `redraft train` on a random-weight model built in code (nothing fetched): with and without activation
    checkpointing, then, when MFU is short of the goal (or unknown: the CPU), a torch.profiler summary of two steps.
    MFU counts the work the trainer does: 6 FLOPs per parameter per real token plus attention (trainer/metrics.py's
    step_flops, the head on trained tokens only), over the bf16 dense peak of the device (989 TFLOP/s on an H200)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from redraft.trainer.metrics import PEAK_BF16_FLOPS, step_flops

    sys.path.insert(0, str(ROOT / "tests"))
    from random_models import build_tokenizer, random_llama

    if not args.cpu and not torch.cuda.is_available():
        raise SystemExit("--gpu needs CUDA; --gpu --cpu runs the same code on the CPU with a tiny model")
    device = "cpu" if args.cpu else torch.cuda.get_device_name(0)
    peak = next((v for k, v in PEAK_BF16_FLOPS.items() if k in device), None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokenizer = build_tokenizer([t for _, s, r in parallel_pairs(2000) for t in (s, r)])
        model = random_llama(work / "model", tokenizer, device="cpu" if args.cpu else "cuda",
                             save_dtype=torch.bfloat16, max_position_embeddings=args.seq_len,
                             **(TINY if args.cpu else LLAMA_1B))
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the model was built on the GPU; the trainer processes need the memory
        config = AutoConfig.from_pretrained(model)
        with torch.device("meta"):
            n_params = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
        # long dialogues fill the rows, as torchtitan's documents do, so the 12*L*H*T attention term of the MFU
        # estimate is not inflated by packing many short documents
        data = write_dialogues(work / "dialogues", args.examples, sentences_per_dialogue=4 if args.cpu else 24)
        fields = dict(nproc=args.nproc, warmup=args.warmup, seq_len=args.seq_len,
                      micro_batch_size=args.micro_batch_size, grad_accum=1, max_steps=args.steps + args.warmup,
                      packing=True, dtype="bfloat16", compile=args.compile)
        runs = {}
        for checkpointing in (False, True):
            name = "activation_checkpointing" if checkpointing else "no_activation_checkpointing"
            result = ours(model, data, work, name, activation_checkpointing=checkpointing, **fields)
            steps = timed_steps(work / name, args.warmup)
            flops = sum(step_flops(config, n_params, args.seq_len, s["tokens"], s["trained_tokens"]) for s in steps)
            result["tflops_per_gpu"] = flops / sum(s["step_time_s"] for s in steps) / args.nproc / 1e12
            result["mfu"] = result["tflops_per_gpu"] * 1e12 / peak if peak else None
            result["peak_memory_gib"] = max((s.get("peak_memory_gib", 0) for s in steps), default=0) or None
            runs[name] = result
            print(f"[train_throughput] {name}: {json.dumps(result)}", file=sys.stderr, flush=True)
        mfu = runs["no_activation_checkpointing"]["mfu"]
        profile = None
        if args.profile_out and (mfu is None or mfu < MFU_GOAL):
            profile = profile_steps(model, data, work, Path(args.profile_out), args.warmup, seq_len=args.seq_len,
                                    micro_batch_size=args.micro_batch_size, grad_accum=1, packing=True,
                                    dtype="bfloat16", compile=args.compile)
    return {"benchmark": "train_throughput", "device": device, "torch": torch.__version__, "nproc": args.nproc,
            "model": "llama-1B-shape random init" if not args.cpu else "tiny llama random init", "params": n_params,
            "seq_len": args.seq_len, "micro_batch_size": args.micro_batch_size, "compile": args.compile,
            "steps_timed": args.steps, "peak_tflops": peak / 1e12 if peak else None, "mfu_goal": MFU_GOAL, **runs,
            "profile": profile}


def timed_steps(run: Path, warmup: int) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][warmup:]


def profile_steps(model: Path, data: Path, work: Path, out: Path, warmup: int, **fields) -> dict:
    """The trainer in this process under torch.profiler for two steps after `warmup` + 1; writes the top kernels
    (the top operators on the CPU) by time to `out` and returns the device time by kind of kernel."""
    import torch
    import torch.distributed as dist
    from torch.optim.optimizer import register_optimizer_step_post_hook
    from torch.profiler import ProfilerActivity, profile, schedule

    from redraft.trainer.config import load_config
    from redraft.trainer.main import run

    cuda = torch.cuda.is_available()
    path = write_config(model, data, work, "profile", max_steps=warmup + 3, **fields)
    step_ends = []
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities, schedule=schedule(wait=warmup, warmup=1, active=2)) as prof:
        def step_done(*_):
            step_ends.append(time.perf_counter())
            prof.step()

        hook = register_optimizer_step_post_hook(step_done)
        try:
            run(load_config(path))
        finally:
            hook.remove()
            if dist.is_initialized():
                dist.destroy_process_group()
    averages = prof.key_averages()
    wall_us = (step_ends[-1] - step_ends[-3]) * 1e6  # the two profiled steps
    if cuda:
        kernels = [e for e in averages if e.device_type == torch.autograd.DeviceType.CUDA]
        kinds = {}
        for e in kernels:
            kind = kernel_kind(e.key)
            kinds[kind] = kinds.get(kind, 0) + e.self_device_time_total
        busy = sum(kinds.values())
        summary = {"gpu_busy_share": round(busy / wall_us, 3),
                   "device_time_share": {k: round(v / busy, 3) for k, v in sorted(kinds.items(), key=lambda x: -x[1])}}
        table = averages.table(sort_by="self_device_time_total", row_limit=30)
    else:
        summary = {}
        table = averages.table(sort_by="self_cpu_time_total", row_limit=30)
    out.write_text(f"torch.profiler: 2 training steps after {warmup + 1}, {wall_us / 2e3:.1f} ms per step\n"
                   f"{json.dumps(summary, indent=1)}\n{table}\n")
    print(out.read_text(), file=sys.stderr, flush=True)
    return {"file": out.name, "step_ms": round(wall_us / 2e3, 1), **summary}


def kernel_kind(name: str) -> str:
    name = name.lower()
    for kind, marks in (("matmul", ("gemm", "cutlass", "nvjet", "xmma", "cublas", "wgmma")),
                        ("flex_attention", ("flex", "triton_tem")), ("nccl", ("nccl",)),
                        ("inductor_fused", ("triton_",)), ("copy_memset", ("memcpy", "memset", "copy")),
                        ("elementwise_reduce", ("elementwise", "reduce", "vectorized"))):
        if any(m in name for m in marks):
            return kind
    return "other"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true")
    p.add_argument("--model", help="HF folder (CPU mode); default SmolLM2-135M-Instruct")
    p.add_argument("--steps", type=int, default=None, help="timed steps (one more is run as warm-up)")
    p.add_argument("--micro-batch-size", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--examples", type=int, default=3000)
    p.add_argument("--nproc", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="CPU: interleaved repeats; figures are their medians")
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--cpu", action="store_true", help="with --gpu: the same runs on the CPU with a tiny model, 2 "
                                                      "timed steps (checks the code, measures nothing)")
    p.add_argument("--warmup", type=int, help="--gpu: steps run before the timed ones, compilation (default 3)")
    p.add_argument("--profile-out", help="--gpu: when MFU is below the goal, write a torch.profiler summary here")
    p.add_argument("--trl-run", nargs=6, help=argparse.SUPPRESS)  # one TRL run, in the process trl_process starts
    args = p.parse_args()
    if args.trl_run:
        model, data, work, steps, micro_batch_size, seq_len = args.trl_run
        print(json.dumps(trl(Path(model), Path(data), Path(work), int(steps), int(micro_batch_size), int(seq_len))))
        return
    if args.gpu:
        args.steps, args.micro_batch_size = args.steps or (2 if args.cpu else 20), args.micro_batch_size or 4
        args.seq_len = args.seq_len or (256 if args.cpu else 2048)
        args.warmup = args.warmup if args.warmup is not None else 1 if args.cpu else 3
        result = gpu_benchmark(args)
    else:
        args.steps, args.micro_batch_size = args.steps or 5, args.micro_batch_size or 4
        args.seq_len = args.seq_len or 512
        result = cpu_benchmark(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
