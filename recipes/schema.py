"""The recipe: its schema, and loading one (a built-in name or a file, with `--set` overrides) through
redraft/config_file.py, whose errors name the field and the file line or the override."""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from redraft.config_file import ConfigSource, parse_override
from redraft.errors import ConfigError, UsageError
from redraft.filters.language_codes import check_language_code, language_id_is_off
from redraft.output import check_output_dir
from redraft.filters.config import DedupeField, FiltersField, JudgeConfig
from redraft.synth.config import SynthConfig, TeacherConfig


class SourceConfig(BaseModel):
    """Where the parallel sentences come from (see redraft/readers.py for the formats)."""

    model_config = ConfigDict(extra="forbid")

    path: str  # a file, a folder of files, or a Hugging Face dataset id (format: hf)
    format: Literal["tsv", "jsonl", "json", "parquet", "text", "hf", "auto"] = "auto"
    src_lang: str  # ISO 639 codes (filters/language_codes.py)
    tgt_lang: str
    target_path: str | None = None  # format text: the target-side file, line-aligned with `path`
    source_column: str = "source"
    target_column: str = "target"
    split: str = "train"  # format hf
    limit: int | None = Field(None, ge=1)

    @field_validator("src_lang", "tgt_lang")
    @classmethod
    def _language_code(cls, code: str) -> str:
        return check_language_code(code)


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    license: str = "apache-2.0"  # dataset card
    shard_rows: int = Field(50_000, ge=1)
    # also write the kept rows as OUT/FORMAT/train.json for other trainers (redraft/export.py)
    formats: list[Literal["sharegpt", "alpaca", "messages"]] = []


class RayConfig(BaseModel):
    """`executor.kind: ray`: an existing Ray cluster (`ray start --head`), reached at `address`."""

    model_config = ConfigDict(extra="forbid")

    address: str = "auto"  # "auto" (RAY_ADDRESS or the local head), "host:port", or "local" for an in-process Ray
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2, gt=0)


# What goes into the sbatch script as a name or a value: Slurm's names, its time formats, and sbatch option values
# without what would end the `#SBATCH` line or reach the shell. Paths (venv_path, condaenv, the output folder) are
# quoted instead (recipes/executors.py).
_SLURM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+:@-]*")
_SLURM_TIME = re.compile(r"\d+(-\d+)?(:\d+){0,2}|UNLIMITED|INFINITE", re.IGNORECASE)
_SBATCH_OPTION = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_NOT_IN_SBATCH_VALUES = re.compile(r"[\x00-\x1f\x7f`$;<>\\'\"]")


class SlurmConfig(BaseModel):
    """`executor.kind: slurm`: every stage becomes a Slurm job array, each stage depending on the one before."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = None  # default: the cluster's default partition; `a,b` for either
    time: str = "04:00:00"  # per task, sbatch's --time format
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2, gt=0)
    qos: str | None = None
    venv_path: str | None = None  # the `activate` script of a virtualenv every node can read
    condaenv: str | None = None  # or a conda environment by name
    sbatch_args: dict[str, str | int | float | bool | None] = {}  # more `#SBATCH --key=value` lines (account, ...)
    job_name: str = "redraft"

    @model_validator(mode="after")
    def _one_environment(self):
        if self.venv_path and self.condaenv:
            raise ValueError("venv_path and condaenv: give one of them")
        return self

    @field_validator("job_name", "qos", "partition")
    @classmethod
    def _slurm_name(cls, name: str | None, info) -> str | None:
        names = name.split(",") if name is not None and info.field_name == "partition" else [name]
        if name is not None and not all(_SLURM_NAME.fullmatch(n) for n in names):
            raise ValueError(f"{name!r}: a Slurm name is letters, digits and _ . + : @ - (no spaces, quotes or "
                             "shell syntax)")
        return name

    @field_validator("time")
    @classmethod
    def _slurm_time(cls, time: str) -> str:
        if not _SLURM_TIME.fullmatch(time):
            raise ValueError(f"{time!r}: one of sbatch's --time formats (MINUTES, HH:MM:SS, D-HH:MM:SS, ...)")
        return time

    @field_validator("venv_path", "condaenv")
    @classmethod
    def _one_line(cls, path: str | None) -> str | None:
        if path is not None and re.search(r"[\x00-\x1f\x7f]", path):
            raise ValueError(f"{path!r}: a path on one line, without control characters")
        return path

    @field_validator("sbatch_args")
    @classmethod
    def _sbatch_lines(cls, args: dict) -> dict:
        for key, value in args.items():
            if not _SBATCH_OPTION.fullmatch(key):
                raise ValueError(f"{key!r}: an sbatch long option's name, like account or constraint")
            if isinstance(value, str) and (bad := _NOT_IN_SBATCH_VALUES.search(value)):
                raise ValueError(f"{key}: {value!r} holds {bad.group()!r}: sbatch values cannot hold newlines, "
                                 "quotes or shell syntax")
        return args


class ExecutorConfig(BaseModel):
    """How datatrove runs the stages: `tasks` shards of the input (every stage, dedupe included, runs as many tasks),
    `workers` of them at a time, on this machine (`local`), a Ray cluster or a Slurm cluster."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "ray", "slurm"] = "local"
    tasks: int = Field(1, ge=1)
    workers: int = Field(1, ge=1)
    ray: RayConfig = RayConfig()
    slurm: SlurmConfig = SlurmConfig()


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    seed: int = 0
    source: SourceConfig
    teacher: TeacherConfig
    user_teacher: TeacherConfig | None = None  # phrases follow-up requests when set (synth/)
    synth: SynthConfig = SynthConfig()
    filters: FiltersField = "default"
    dedupe: DedupeField = "default"
    judge: JudgeConfig | None = None  # an LLM judge scores the dialogues (filters/judge.py); none by default
    output: OutputConfig
    executor: ExecutorConfig = ExecutorConfig()

    @model_validator(mode="after")
    def _judge_teacher_exists(self):
        if self.judge is not None and self.judge.teacher == "user_teacher" and self.user_teacher is None:
            raise ValueError("judge.teacher: 'user_teacher' is not set in this recipe")
        return self


BUILTIN = resources.files("redraft.recipes")


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in BUILTIN.iterdir() if p.name.endswith(".yaml"))


def resolve_path(name_or_path: str) -> Path:
    """A recipe path, or the name of a built-in recipe (`demo`, `bayling-zh-en`)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if p.is_dir():
        yamls = sorted(f.name for f in p.glob("*.yaml"))
        raise UsageError(f"{name_or_path}: is a folder; give a recipe file" + (f" (here: {', '.join(yamls[:5])})"
                                                                               if yamls else ""))
    if "/" not in name_or_path and (BUILTIN / f"{name_or_path}.yaml").is_file():
        return Path(str(BUILTIN / f"{name_or_path}.yaml"))
    raise UsageError(f"no recipe file or built-in recipe named {name_or_path!r} (built-in: "
                     f"{', '.join(builtin_names())})")


def load_recipe(name_or_path: str, overrides: list[str] = ()) -> Recipe:
    """Read, override and validate a recipe; raise ConfigError naming the field path and the file line."""
    source = ConfigSource.read(resolve_path(name_or_path), "a recipe is a YAML mapping of fields").set(overrides)
    recipe = source.validate(Recipe, "recipe")
    try:
        check_output_dir(recipe.output.path, [recipe.source.path, recipe.source.target_path])
    except UsageError as e:
        raise ConfigError(f"invalid recipe\n  {source.origin('output.path')}: output.path: {e}") from None
    for side in ("src_lang", "tgt_lang"):
        code = getattr(recipe.source, side)
        if language_id_is_off(code):
            print(f"warning: {source.origin(f'source.{side}')}: source.{side}: language ID does not know {code!r}, "
                  "so it is off for that side", file=sys.stderr)
    return recipe


def executor_from_overrides(overrides: list[str]) -> ExecutorConfig:
    """`--set executor.KEY=VALUE` without a recipe (`redraft filter`, `redraft dedupe`)."""
    for item in overrides:
        keys, _ = parse_override(item)
        if keys[0] != "executor" or len(keys) < 2:
            raise ConfigError(f"--set {item}: without --recipe only executor.* can be set")
    return ConfigSource({}, "--set").set(overrides).validate(_ExecutorOnly, "executor").executor


class _ExecutorOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")

    executor: ExecutorConfig = ExecutorConfig()


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML, with no secret in it: keys come from `api_key_env`, and credentials in a
    `base_url` are redacted by its JSON form (synth/endpoint.py)."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
