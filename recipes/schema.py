"""The recipe: its schema, loading with line numbers, `--set` overrides, and the errors that name field and line."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from redraft.errors import UsageError
from redraft.filters.language_codes import check_language_code, language_id_is_off
from redraft.output import check_output_dir
from redraft.filters.config import DedupeField, FiltersField, JudgeConfig
from redraft.synth.config import SynthConfig, TeacherConfig


class SourceConfig(BaseModel):
    """Where the parallel sentences come from (see redraft/readers.py for the formats)."""

    model_config = ConfigDict(extra="forbid")

    path: str  # a file, a folder of files, or a Hugging Face dataset id (format: hf)
    format: Literal["tsv", "jsonl", "parquet", "text", "hf", "auto"] = "auto"
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


class SlurmConfig(BaseModel):
    """`executor.kind: slurm`: every stage becomes a Slurm job array, each stage depending on the one before."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = None  # default: the cluster's default partition
    time: str = "04:00:00"  # per task, sbatch's --time format
    cpus_per_task: int = Field(1, ge=1)
    mem_per_cpu_gb: float = Field(2, gt=0)
    qos: str | None = None
    venv_path: str | None = None  # the `activate` script of a virtualenv every node can read
    condaenv: str | None = None  # or a conda environment by name
    sbatch_args: dict[str, Any] = {}  # more `#SBATCH --key=value` lines (account, constraint, ...)
    job_name: str = "redraft"

    @model_validator(mode="after")
    def _one_environment(self):
        if self.venv_path and self.condaenv:
            raise ValueError("venv_path and condaenv: give one of them")
        return self


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


def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each field path (keys and list indices) to its 1-based line in the YAML text."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            _line_index(v, path + (k.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[path + (i,)] = v.start_mark.line + 1
            _line_index(v, path + (i,), out)
    return out


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b.c=value` with value read as YAML (`filters=[]`, `teacher.timeout=5`)."""
    if "=" not in item:
        raise UsageError(f"--set {item!r}: expected dotted.key=value")
    key, _, raw = item.partition("=")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as e:
        raise UsageError(f"--set {item!r}: the value is not valid YAML: {e}") from None
    return key.strip().split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    for item in overrides:
        keys, value = parse_override(item)
        node = data
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        node[keys[-1]] = value
    return data


def _origin(field: str, file: str, lines: dict[tuple, int], loc: tuple, overridden: dict[str, str]) -> str:
    """Where a field's value came from: `--set KEY=VALUE` (also when the override made the field's parent, as
    `--set nope.x=1` makes `nope`), or FILE:LINE."""
    for key, item in overridden.items():
        if field == key or field.startswith(key + ".") or key.startswith(field + "."):
            return f"--set {item}"
    where = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)
    return f"{file}:{where}" if where else file


def _format_errors(err: ValidationError, file: str, lines: dict[tuple, int], overridden: dict[str, str]) -> str:
    msgs = []
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if not (isinstance(x, str) and (x.startswith(("function-", "literal[")) or (
            x in ("list[FilterSpec]", "bool", "DedupeConfig", "TeacherConfig", "JudgeConfig")))))
        field = ".".join(str(x) for x in loc) or "(recipe)"
        msgs.append(f"{_origin(field, file, lines, loc, overridden)}: {field}: {e['msg']}")
    return "invalid recipe\n  " + "\n  ".join(dict.fromkeys(msgs))


def read_yaml_mapping(path: Path, what: str) -> tuple[dict, dict[tuple, int]]:
    """A YAML file's mapping and the line of each field path; UsageError naming the line when it is not valid YAML,
    or `what` when it is not a mapping."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: {what}")
    return data, _line_index(node) if node is not None else {}


def load_recipe(name_or_path: str, overrides: list[str] = ()) -> Recipe:
    """Read, override and validate a recipe; raise UsageError naming the field path and the file line."""
    path = resolve_path(name_or_path)
    data, lines = read_yaml_mapping(path, "a recipe is a YAML mapping of fields")
    data = apply_overrides(data, list(overrides))
    overridden = {".".join(parse_override(o)[0]): o for o in overrides}
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        raise UsageError(_format_errors(e, str(path), lines, overridden)) from None
    try:
        check_output_dir(recipe.output.path, [recipe.source.path, recipe.source.target_path])
    except UsageError as e:
        raise UsageError(f"invalid recipe\n  {_origin('output.path', str(path), lines, ('output', 'path'), overridden)}:"
                         f" output.path: {e}") from None
    for side in ("src_lang", "tgt_lang"):
        code = getattr(recipe.source, side)
        if language_id_is_off(code):
            origin = _origin(f"source.{side}", str(path), lines, ("source", side), overridden)
            print(f"warning: {origin}: source.{side}: language ID does not know {code!r}, so it is off for that "
                  "side", file=sys.stderr)
    return recipe


def executor_from_overrides(overrides: list[str]) -> ExecutorConfig:
    """`--set executor.KEY=VALUE` without a recipe (`redraft filter`, `redraft dedupe`)."""
    data: dict = {}
    for item in overrides:
        keys, _ = parse_override(item)
        if keys[0] != "executor" or len(keys) < 2:
            raise UsageError(f"--set {item}: without --recipe only executor.* can be set")
    apply_overrides(data, list(overrides))
    try:
        return _ExecutorOnly.model_validate(data).executor
    except ValidationError as e:
        overridden = {".".join(parse_override(o)[0]): o for o in overrides}
        raise UsageError(_format_errors(e, "--set", {}, overridden).replace("invalid recipe", "invalid executor")
                         ) from None


class _ExecutorOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")

    executor: ExecutorConfig = ExecutorConfig()


def dump_recipe(recipe: Recipe) -> str:
    """The fully resolved recipe as YAML. Secrets never live in a recipe: keys come from `api_key_env`."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
