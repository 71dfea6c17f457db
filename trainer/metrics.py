"""metrics.jsonl (one line per optimizer step), the progress line, optional TensorBoard, and MFU.

In a local folder each line is appended as it is logged. Object stores cannot append, so at a URL the file is
rewritten whole: at most every `REWRITE_EVERY_S` seconds, before each checkpoint and at the end."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from redraft.storage import is_url

REWRITE_EVERY_S = 30

# dense bf16 peak FLOP/s by device name fragment
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "GH200": 989e12, "B200": 2250e12, "A100": 312e12,
                   "L40S": 362e12, "A10G": 125e12, "L4": 121e12, "4090": 165e12}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), None)


def step_flops(model_config, n_params: int, seq_len: int, tokens: int, trained_tokens: int) -> float:
    """Training FLOPs of a step: 6 per parameter per token for the dense matmuls, plus 12*L*H*T per token for
    attention scores and values (the PaLM / torchtitan estimate, T = seq_len). The output head runs only on trained
    tokens here (TrainedPositionsHead), so it is counted for those alone."""
    head = model_config.vocab_size * model_config.hidden_size
    # the input embedding is a lookup, not a matmul; with tied weights its matrix is the head, counted below
    body = n_params - head * (1 if getattr(model_config, "tie_word_embeddings", False) else 2)
    layers = model_config.num_hidden_layers
    head_dim = getattr(model_config, "head_dim", None) or model_config.hidden_size // model_config.num_attention_heads
    attention = 12 * layers * model_config.num_attention_heads * head_dim * seq_len
    return (6 * body + attention) * tokens + 6 * head * trained_tokens


class MetricsLog:
    def __init__(self, output_dir: Path, resume_step: int, enabled: bool, tensorboard: bool, progress: bool,
                 max_steps: int):
        self.enabled, self.progress, self.max_steps = enabled, progress, max_steps
        self.path = output_dir / "metrics.jsonl"
        self.tb = None
        self.lines: list[str] | None = [] if is_url(output_dir) else None  # at a URL: the whole file, rewritten
        self.written = time.monotonic()
        if not enabled:
            return
        if not is_url(output_dir):
            output_dir.mkdir(parents=True, exist_ok=True)
        # a resumed run rewrites the steps after its checkpoint, so the file reads as one uninterrupted run
        kept = []
        if self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= resume_step:
                        kept.append(line)
                except (ValueError, KeyError):
                    pass
        self.path.write_text("".join(line + "\n" for line in kept))
        if self.lines is not None:
            self.lines = kept
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # needs the `tensorboard` package

            self.tb = SummaryWriter(str(output_dir / "tensorboard"))

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        if self.lines is None:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        else:
            self.lines.append(json.dumps(record))
            if time.monotonic() - self.written > REWRITE_EVERY_S:
                self.flush()
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k != "step":
                    self.tb.add_scalar(k, v, record["step"])
            for k, v in record.get("source_loss", {}).items():
                self.tb.add_scalar(f"source_loss/{k}", v, record["step"])
        if self.progress:
            mfu = f" mfu {record['mfu']:.1%}" if "mfu" in record else ""
            print(f"step {record['step']}/{self.max_steps} loss {record['loss']:.4f} lr {record['lr']:.2e} "
                  f"grad_norm {record['grad_norm']:.3f} {record['tokens_per_s']:.0f} tok/s{mfu}",
                  file=sys.stderr, flush=True)

    def flush(self) -> None:
        if self.enabled and self.lines is not None:
            self.path.write_text("".join(line + "\n" for line in self.lines))
            self.written = time.monotonic()

    def close(self) -> None:
        self.flush()
        if self.tb is not None:
            self.tb.close()
