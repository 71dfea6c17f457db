"""Atomic distributed checkpoints with torch.distributed.checkpoint (DCP).

A checkpoint is written to `checkpoints/.step-N.tmp/`, then `complete.json` (every file's size) is written last and
the folder renamed to `checkpoints/step-N/`. Only folders whose `complete.json` matches the files on disk are
loaded, so an interrupted or truncated checkpoint is skipped in favour of the previous one.

Contents: the sharded model and optimizer (DCP), and `trainer_state.json` (step, scheduler, data position) plus one
`rng-rank{r}.pt` per rank.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

STEP_DIR = re.compile(r"^step-(\d+)$")


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def is_complete(folder: Path) -> bool:
    manifest = folder / "complete.json"
    if not manifest.is_file():
        return False
    try:
        sizes = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in sizes.items())


def latest_checkpoint(root: Path) -> Path | None:
    if not root.is_dir():
        return None
    steps = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir())
    for _, folder in reversed(steps):
        if is_complete(folder):
            return folder
    return None


def save_checkpoint(root: Path, step: int, model, optimizer, trainer_state: dict, rank: int, keep: int) -> Path:
    final = root / f"step-{step}"
    tmp = root / f".step-{step}.tmp"
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    model_sd, optim_sd = get_state_dict(model, optimizer)
    dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp))
    torch.save(_rng_state(), tmp / f"rng-rank{rank}.pt")
    dist.barrier()
    if rank == 0:
        (tmp / "trainer_state.json").write_text(json.dumps(trainer_state, indent=1))
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        (tmp / "complete.json").write_text(json.dumps({"step": step, "files": sizes}))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        done = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)))
        for _, old in done[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return final


def load_checkpoint(folder: Path, model, optimizer, rank: int) -> dict:
    """Restore model, optimizer and this rank's RNG in place; returns trainer_state.json."""
    model_sd, optim_sd = get_state_dict(model, optimizer)
    state = {"model": model_sd, "optim": optim_sd}
    dcp.load(state, checkpoint_id=str(folder))
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    rng = folder / f"rng-rank{rank}.pt"
    if rng.is_file():
        _set_rng_state(torch.load(rng, weights_only=False))
    return json.loads((folder / "trainer_state.json").read_text())
