"""The training config: every field of SPEC's `redraft train CONFIG`, read with `--set` overrides through
redraft/config_file.py. A bad value raises `ConfigError` naming the field and the file line or the override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from redraft.config_file import ConfigSource
from redraft.errors import ConfigError, UsageError
from redraft.hub import is_hub_id
from redraft.output import check_not_publishing, check_output_dir, check_owned
from redraft.storage import check_reachable, is_url, location


class DataSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str  # a redraft output folder (a local path or a URL: s3://...), or a Hugging Face Hub dataset id
    weight: float = Field(1.0, gt=0)  # sampling multiplier on top of the source's size: 2.0 = seen twice as often
    split: str = "train"
    name: str | None = None  # label in metrics; defaults to the folder name / hub id


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    data: list[DataSource] = Field(min_length=1)
    output_dir: str
    seq_len: int = Field(2048, gt=8)
    micro_batch_size: int = Field(1, gt=0)
    grad_accum: int = Field(1, gt=0)
    # Optional, world-size independent: when set, grad_accum = global_batch_size / (micro_batch_size * world_size).
    global_batch_size: int | None = Field(None, gt=0)
    lr: float = Field(2e-5, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    lr_schedule: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_steps: int = Field(0, ge=0)
    max_steps: int = Field(gt=0)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = Field(1.0, ge=0)  # 0 disables clipping
    seed: int = 0
    save_every: int = Field(0, ge=0)  # 0: no intermediate checkpoints
    keep_checkpoints: int = Field(2, gt=0)
    packing: bool = True
    activation_checkpointing: bool = False
    compile: bool = False
    dtype: Literal["auto", "bfloat16", "float32"] = "auto"  # auto: bf16 params on GPU, fp32 on CPU
    attn_implementation: str | None = None  # None: flex_attention with packing on GPU, sdpa otherwise
    system_prompt: str | None = None  # prepended to dialogues that have no system turn
    log_every: int = Field(1, gt=0)
    tensorboard: bool = False
    progress: bool = True

    @field_validator("data", mode="before")
    @classmethod
    def _sources_from_strings(cls, v):
        return data_sources(v)

    @model_validator(mode="after")
    def _global_batch(self):
        if self.global_batch_size is not None and self.global_batch_size % self.micro_batch_size:
            raise ValueError("global_batch_size must be a multiple of micro_batch_size")
        return self

    def resolve_grad_accum(self, world_size: int) -> int:
        if self.global_batch_size is None:
            return self.grad_accum
        per_step = self.micro_batch_size * world_size
        if self.global_batch_size % per_step:
            raise ConfigError(f"config field `global_batch_size`: {self.global_batch_size} is not a multiple of "
                              f"micro_batch_size * world_size = {per_step}")
        return self.global_batch_size // per_step


def data_sources(v):
    """`data: dir`, `data: [dir, {path: other, weight: 2}]`: a string stands for `{path: STRING}`."""
    if isinstance(v, (str, dict)):
        v = [v]
    return [{"path": s} if isinstance(s, str) else s for s in v] if isinstance(v, list) else v


def check_paths(cfg: TrainConfig, origin=lambda field: "") -> None:
    """Before any process starts: `model` is a model folder or a Hub id (owner/name), each data `path` an existing
    folder (not one a publish is under way in; a URL's bucket answering) or a Hub dataset id, a Hub id the Hub says
    does not exist is an error too; `output_dir` is empty or redraft's (redraft/output.py), its bucket answering
    for a URL. `origin(field)` prefixes the message (the config file line)."""
    fields = [("model", cfg.model, "model")] + [(f"data.{i}.path", s.path, "dataset") for i, s in enumerate(cfg.data)]
    for field, value, kind in fields:
        if kind == "dataset" and is_url(value):
            _check_url(origin(field) + f"config field `{field}`: ", value)
        path, problem = location(value), None
        if path.exists():
            if kind == "model" and not (path / "config.json").is_file():
                problem = f"{value} is a folder without config.json, not a model"
            elif kind == "dataset":
                problem = _usage_problem(check_not_publishing, path)
        elif not is_hub_id(value, bare_name=True):
            problem = f"{value} is neither an existing folder nor a Hub id (owner/name)"
        elif "/" in value and _hub_says_missing(value, kind):
            problem = f"the Hub has no {kind} {value}"
        if problem:
            raise ConfigError(f"{origin(field)}config field `{field}`: {problem}")
    # output_dir: empty or redraft's (an earlier trainer's without .redraft/: mask_audit.json is its first file)
    out = location(cfg.output_dir)
    if is_url(out):
        _check_url(origin("output_dir") + "config field `output_dir`: ", cfg.output_dir)
        if cfg.tensorboard:
            raise ConfigError(f"{origin('tensorboard')}config field `tensorboard`: TensorBoard writes a local folder; "
                              "set it false with an output_dir URL (metrics.jsonl holds every scalar)")
    if not (out / "mask_audit.json").is_file():
        if is_url(out):
            problem = _usage_problem(check_owned, out) if out.is_dir() else None
        else:
            problem = _usage_problem(check_output_dir, out)
        if problem:
            raise ConfigError(f"{origin('output_dir')}config field `output_dir`: {problem}")


def _check_url(prefix: str, url: str) -> None:
    try:
        check_reachable(url)
    except UsageError as e:
        raise ConfigError(f"{prefix}{e}") from None


def _usage_problem(check, *args) -> str | None:
    try:
        check(*args)
    except UsageError as e:
        return str(e)
    return None


def _hub_says_missing(repo_id: str, kind: str) -> bool:
    """True only when the Hub answers that the repo does not exist; offline or unsure, the trainer finds out."""
    import os

    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", ""):
        return False
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import RepositoryNotFoundError

        HfApi().repo_info(repo_id, repo_type=kind, timeout=10)
    except RepositoryNotFoundError:
        return True
    except Exception:  # noqa: BLE001 - no network, gated repo...: not our call to make here
        return False
    return False


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """Read, override and validate a training config, then check its model and data paths."""
    source = ConfigSource.read(path, "a training config is a YAML mapping of fields")
    if "data" in source.data:  # the shorthand as mappings first, so that `--set data.0.weight=2` finds one
        source.data["data"] = data_sources(source.data["data"])
    cfg = source.set(overrides).validate(TrainConfig, "training config", lambda field: f"config field `{field}`")
    check_paths(cfg, lambda field: source.origin(field) + ": ")
    return cfg
