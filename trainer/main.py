"""Per-rank training loop: `python -m redraft.trainer.main CONFIG [--set k=v ...]` (started by torchrun)."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from redraft.output import STATE_DIR, claim_output_dir
from redraft.storage import is_url, location

from .attention import NAME as DOCUMENT_ATTENTION
from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from .config import ConfigError, TrainConfig, load_config
from .data import IGNORE, prepare_tokenizer, tokenize_sources
from .final_model import write_final_model
from .metrics import MetricsLog, peak_flops, step_flops
from .packing import collate
from .parallel import compute_dtype, init_distributed, shard_model
from .sampler import GlobalBatchPlanner, rank_microbatches

# test hook: every rank kills itself (SIGKILL) after this optimizer step
CRASH_AFTER_STEP_ENV = "REDRAFT_TRAIN_CRASH_AFTER_STEP"


def lr_lambda(cfg: TrainConfig):
    def factor(step: int) -> float:  # step = optimizer steps taken so far
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        if cfg.lr_schedule == "constant":
            return 1.0
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if cfg.lr_schedule == "cosine" else 1 - progress
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * shape
    return factor


def build_optimizer(cfg: TrainConfig, model) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                             foreach=True)


class TrainedPositionsHead:
    """Computes the output head only where a token is trained: a pre-hook on the head keeps the hidden states at
    `keep` (a [batch, seq] bool mask). Prompts and padding are most tokens of a translation dialogue, and the head
    is a large share of a small model's compute (SmolLM2-135M: ~20%), so this skips work without changing the loss."""

    def __init__(self, model):
        self.keep: torch.Tensor | None = None
        model.get_output_embeddings().register_forward_pre_hook(self._select)

    def _select(self, module, args):
        if self.keep is None:
            return None
        return (args[0][self.keep].unsqueeze(0), *args[1:])


def train_step(model, head, microbatches, data, cfg, pad_id, device, world_size, n_trained_global,
               n_sources):
    """Forward/backward over this rank's micro-batches; returns (loss sum, per-source loss sums, per-source token
    counts, tokens seen) for this rank. Gradients equal d(global mean loss)/dθ once FSDP has reduced them."""
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    source_loss = torch.zeros(n_sources, device=device, dtype=torch.float64)
    source_count = torch.zeros(n_sources, device=device, dtype=torch.float64)
    tokens = 0
    for m, rows in enumerate(microbatches):
        batch = collate(rows, data.input_ids, data.targets, data.source, pad_id, cfg.packing, cfg.seq_len)
        tokens += batch.pop("n_tokens")
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        targets, source = batch.pop("targets"), batch.pop("source")
        model.set_requires_gradient_sync(m == len(microbatches) - 1)
        head.keep = targets != IGNORE
        logits = model(**batch, use_cache=False).logits[0]  # [trained tokens, vocab]
        token_loss = F.cross_entropy(logits.float(), targets[head.keep], reduction="none")
        # FSDP averages gradients over ranks; scale by world size so the result is the global token mean
        (token_loss.sum() * (world_size / n_trained_global)).backward()
        with torch.no_grad():
            loss_sum += token_loss.sum().double()
            src = source[head.keep]
            source_loss.index_add_(0, src, token_loss.double())
            source_count.index_add_(0, src, torch.ones_like(src, dtype=torch.float64))
    return loss_sum, source_loss, source_count, tokens


def run(cfg: TrainConfig) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    env = init_distributed()
    out = location(cfg.output_dir)  # a local folder or a URL (s3://...)
    if env.is_main and not is_url(out):
        claim_output_dir(out)  # redraft's from now on; completes a final/ export a kill interrupted
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if env.is_main else (lambda *a: None)
    grad_accum = cfg.resolve_grad_accum(env.world_size)
    rows_per_step = cfg.micro_batch_size * grad_accum * env.world_size
    torch.manual_seed(cfg.seed)

    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(cfg.model))
    # ranks wait for each other's share of the encoding: hours on a large source, past NCCL's timeout
    encoding_group = dist.new_group(backend="gloo", timeout=timedelta(days=1))
    # every rank reads every rank's share with pread: at a URL the encoding stays on a local (or shared) disk
    tokenized = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "redraft" / "tokenized" \
        if is_url(out) else out / STATE_DIR / "tokenized"
    data = tokenize_sources(cfg.data, tokenizer, cfg.seq_len, cfg.system_prompt, log=log,
                            cache_dir=tokenized, rank=env.rank, world_size=env.world_size,
                            barrier=lambda: dist.barrier(group=encoding_group))
    planner = GlobalBatchPlanner(data.lengths, data.source, [s.weight for s in cfg.data], cfg.seed, rows_per_step,
                                 cfg.seq_len, cfg.packing)

    ckpt = latest_checkpoint(out / "checkpoints")
    if ckpt is not None:
        saved_rows = json.loads((ckpt / "trainer_state.json").read_text()).get("rows_per_step", rows_per_step)
        if saved_rows != rows_per_step:
            # the data plan is a function of the rows per step: any other value trains on other examples
            raise ConfigError(f"config field `grad_accum`: {ckpt} was trained with {saved_rows} rows per step, this "
                              f"run has {rows_per_step} (micro_batch_size x grad_accum x world size); set "
                              f"global_batch_size: {saved_rows} to resume at any world size")

    dtype = compute_dtype(cfg.dtype, env.device)
    if cfg.attn_implementation == "flex_attention" and env.device.type == "cpu":
        raise ConfigError("config field `attn_implementation`: flex_attention has no backward on the CPU; use sdpa")
    # packed rows: a BlockMask skips other documents' blocks on the GPU; one sdpa call per document on the CPU
    attn = cfg.attn_implementation or ("sdpa" if not cfg.packing else
                                       "flex_attention" if env.device.type == "cuda" else DOCUMENT_ATTENTION)
    model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=torch.float32, attn_implementation=attn)
    model.config.use_cache = False
    if cfg.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    n_params = sum(p.numel() for p in model.parameters())
    head = TrainedPositionsHead(model)
    model = shard_model(model, env.mesh, dtype, compile=cfg.compile)
    model.train()
    optimizer = build_optimizer(cfg, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))

    start_step, totals = 0, {"tokens": 0, "trained_tokens": 0}
    if ckpt is not None:
        state = load_checkpoint(ckpt, model, optimizer, env.rank)
        scheduler.load_state_dict(state["scheduler"])
        start_step, totals = state["step"], state["totals"]
        planner.skip(start_step)
        if planner.state() != state["data"]:
            raise RuntimeError(f"{ckpt}: the data position does not replay (data or batch settings changed?)")
        log(f"[train] resumed from {ckpt} at step {start_step}")
    metrics = MetricsLog(out, start_step, env.is_main, cfg.tensorboard, cfg.progress, cfg.max_steps)
    if env.is_main:
        (out / "mask_audit.json").write_text(json.dumps(data.audit(), indent=1))

    peak = peak_flops(env.device)
    source_names = [s.name for s in data.sources]
    crash_after = int(os.environ.get(CRASH_AFTER_STEP_ENV, "0"))
    log(f"[train] {env.world_size} process(es) on {env.device.type}, {n_params / 1e6:.1f}M parameters, "
        f"{rows_per_step} rows per step (micro_batch_size {cfg.micro_batch_size} x grad_accum {grad_accum} x "
        f"world {env.world_size}), packing={cfg.packing}, attention={attn}, compute dtype={dtype}")

    for step in range(start_step + 1, cfg.max_steps + 1):
        t0 = time.perf_counter()
        rows = planner.next_rows()
        n_trained_global = int(sum(data.n_trained[i] for row in rows for i in row))
        micro = rank_microbatches(rows, env.rank, env.world_size, grad_accum, cfg.micro_batch_size)
        loss_sum, source_loss, source_count, tokens = train_step(
            model, head, micro, data, cfg, tokenizer.pad_token_id, env.device, env.world_size, max(n_trained_global, 1),
            len(source_names))
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or float("inf"))
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

        stats = torch.cat([loss_sum.view(1), source_loss, source_count,
                           torch.tensor([tokens], device=env.device, dtype=torch.float64)])
        dist.all_reduce(stats)
        if env.device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        n = len(source_names)
        step_tokens = int(stats[-1].item())
        totals["tokens"] += step_tokens
        totals["trained_tokens"] += n_trained_global
        record = {
            "step": step, "loss": stats[0].item() / max(n_trained_global, 1), "lr": lr,
            "tokens": step_tokens, "trained_tokens": n_trained_global,
            "total_tokens": totals["tokens"], "total_trained_tokens": totals["trained_tokens"],
            "grad_norm": float(grad_norm), "tokens_per_s": step_tokens / dt, "step_time_s": dt,
            "examples": sum(len(r) for r in rows), "examples_drawn": planner.stream.consumed,
            "source_loss": {name: stats[1 + i].item() / stats[1 + n + i].item()
                            for i, name in enumerate(source_names) if stats[1 + n + i] > 0},
        }
        if peak:
            flops = step_flops(model.config, n_params, cfg.seq_len, step_tokens, n_trained_global)
            record["mfu"] = flops / dt / (peak * env.world_size)
        if env.device.type == "cuda":
            record["peak_memory_gib"] = torch.cuda.max_memory_allocated(env.device) / 2**30
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            metrics.log(record)
        # the last step is saved too, so re-running a finished command only re-exports
        if cfg.save_every and (step % cfg.save_every == 0 or step == cfg.max_steps):
            trainer_state = {"step": step, "scheduler": scheduler.state_dict(), "data": planner.state(),
                             "totals": totals, "world_size": env.world_size, "rows_per_step": rows_per_step}
            metrics.flush()  # on object storage, the lines up to the checkpoint are there before it is
            save_checkpoint(out / "checkpoints", step, model, optimizer, trainer_state, env.rank,
                            cfg.keep_checkpoints)
        if crash_after and step == crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    manifest = {"config": cfg.model_dump(), "base_model": cfg.model, "steps": cfg.max_steps,
                "world_size": env.world_size, "totals": totals,
                "data": [{"name": s.name, "path": s.path, "kind": s.kind, "weight": s.weight,
                          "recipe_name": s.recipe_name, "content_hash": s.content_hash, "rows": s.rows,
                          "mask_audit": s.audit} for s in data.sources]}
    metrics.close()
    write_final_model(model, tokenizer, cfg.model, out / "final", manifest, env.rank,
                      torch.bfloat16 if cfg.dtype == "bfloat16" else torch.float32)
    dist.barrier()
    log(f"[train] done: {out / 'final'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redraft.trainer.main")
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        run(cfg)
    except ConfigError as e:
        print(f"redraft train: {e}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
