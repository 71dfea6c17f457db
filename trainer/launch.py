"""`redraft train`: validate the config, then start `python -m redraft.trainer.main` on every rank via torchrun."""

from __future__ import annotations

import os
import subprocess
import sys

from redraft.parent_death import command_dying_with_this_process

from .config import ConfigError, load_config

_RENDEZVOUS_FLAGS = ("--nnodes", "--node-rank", "--node_rank", "--master-addr", "--master_addr", "--master-port",
                     "--master_port", "--rdzv", "--standalone")


def torchrun_command(config_path: str, overrides: list[str], nproc: int, launcher_args: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", *launcher_args]
    if not any(a.startswith(_RENDEZVOUS_FLAGS) for a in launcher_args):
        cmd.append("--standalone")  # single node: torchrun picks a free port
    cmd += ["-m", "redraft.trainer.main", str(config_path)]
    for o in overrides:
        cmd += ["--set", o]
    return cmd


def train(config_path: str, overrides: list[str] = (), nproc: int = 1, launcher_args: list[str] = ()) -> int:
    """Run `redraft train`; returns the exit code (2 for a bad config, naming the field)."""
    try:
        cfg = load_config(config_path, list(overrides))
        if not any(a.startswith(("--nnodes", "--rdzv")) for a in launcher_args):
            cfg.resolve_grad_accum(nproc)  # single node: the world size is known now
    except ConfigError as e:
        print(f"redraft train: {e}", file=sys.stderr)
        return 2
    if nproc < 1:
        print("redraft train: --nproc must be at least 1", file=sys.stderr)
        return 2
    # torchrun gets SIGTERM when this process ends, however it ends, and then stops the ranks it started
    return subprocess.call(command_dying_with_this_process(
        torchrun_command(config_path, list(overrides), nproc, list(launcher_args))), env=process_env(nproc))


def process_env(nproc: int) -> dict:
    """The environment of the trainer's processes (benchmarks/train_throughput.py runs TRL under it too)."""
    env = dict(os.environ)
    # torchrun would set 1 thread per process; on a CPU share the cores between the local processes instead
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    import torch

    if not torch.cuda.is_available():
        keep_freed_memory(env)
    return env


def keep_freed_memory(env: dict) -> None:
    """glibc gives blocks above 32 MB (and a heap top above its trim threshold) back to the OS when freed, so on a
    CPU every step page-faults its activations and logits in again, zeroed by the kernel: ~5% of a SmolLM2 step.
    Keep freed memory in the heap instead (RSS stays at the peak). Not on GPU machines, where every rank first
    loads the whole model into host memory."""
    env.setdefault("MALLOC_MMAP_MAX_", "0")
    env.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 40))
