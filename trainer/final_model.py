"""The final model: `output_dir/final/` with safetensors weights, config, generation config, the tokenizer with its
chat template, and `training_manifest.json` (data folders, content hashes, recipe names, mask audit, config).

It is written in `output_dir/.redraft/` first and published as a whole (redraft/output.py): a kill leaves the
earlier `final/` or the new one, never one that loads half. At a URL it is written in a local temporary folder, then
uploaded under `output_dir/.redraft/` and published from there by copies, under the same journal."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

from redraft.output import STATE_DIR, publish
from redraft.storage import is_url


def write_final_model(model, tokenizer, model_path: str, out: Path, manifest: dict, rank: int,
                 save_dtype: torch.dtype = torch.float32) -> None:
    # collective: every rank must call it; only rank 0 receives the full tensors
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank != 0:
        return
    from transformers import AutoModelForCausalLM, GenerationConfig

    config = model.config
    with torch.device("meta"):
        clean = AutoModelForCausalLM.from_config(config, dtype=save_dtype)
    clean.load_state_dict({k: v.to(save_dtype) for k, v in full.items()}, strict=False, assign=True)
    clean.tie_weights()
    missing = [n for n, p in clean.named_parameters() if p.is_meta]
    if missing:
        raise RuntimeError(f"final model: parameters missing from the trained state: {missing[:5]}")
    try:
        clean.generation_config = GenerationConfig.from_pretrained(model_path)
    except OSError:
        pass
    clean.config.use_cache = True
    remote = is_url(out)  # object storage: staged on the local disk, then uploaded
    staging = Path(tempfile.mkdtemp(prefix="redraft-final-")) if remote else out.parent / STATE_DIR / "final-staging"
    shutil.rmtree(staging, ignore_errors=True)
    clean.save_pretrained(staging / out.name)
    tokenizer.save_pretrained(staging / out.name)
    (staging / out.name / "training_manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    publish(staging, out.parent, (out.name,))  # at a URL: uploaded, then published by copies under the journal
