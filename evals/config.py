"""An eval config: the model under test and the suites to run. Written as YAML, or made from the command line
(`redraft eval SUITE ...`). Relative data paths are read from the working directory, or else beside the config
file; errors name the field and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from redraft.errors import UsageError
from redraft.recipes.schema import parse_override, read_yaml_mapping

from .models import ModelConfig
from .suites import bayling80, constrained, interactive, translation

SuiteConfig = Annotated[Union[translation.Config, constrained.Config, interactive.Config, bayling80.Config],
                        Field(discriminator="suite")]
PATH_FIELDS = ("source", "reference", "data", "questions", "baseline")


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelConfig | None = None  # or --model on the command line
    suites: list[SuiteConfig] = Field(min_length=1)

    def named(self) -> "EvalConfig":
        """Every suite with a name, unique: SUITE-LANGS by default, numbered when repeated."""
        seen: dict[str, int] = {}
        for s in self.suites:
            base = s.name or "-".join(x for x in (s.suite, getattr(s, "langs", None)) if x)
            seen[base] = seen.get(base, 0) + 1
            s.name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        if len({s.name for s in self.suites}) != len(self.suites):
            raise UsageError(f"suite names must differ: {[s.name for s in self.suites]}")
        return self


def set_path(data, keys: list[str], value) -> None:
    """`--set a.0.b=v`: dotted keys, list indices as numbers."""
    node = data
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise UsageError(f"--set {'.'.join(keys)}: no item {k} in a list of {len(node)}")
            k = int(k)
        elif not isinstance(node, dict):
            raise UsageError(f"--set {'.'.join(keys)}: {'.'.join(keys[:i])} is not a mapping")
        if last:
            node[k] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(k), (dict, list)):
                node[k] = {}
            node = node[k]


def validate(data: dict, origin: str, lines: dict | None = None) -> EvalConfig:
    try:
        return EvalConfig.model_validate(data).named()
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x in (
                "translation", "constrained", "interactive", "bayling80")))
            where = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if lines and loc[:i] in lines), None)
            field = ".".join(map(str, loc)) or "(config)"
            msgs.append(f"{origin}{f':{where}' if where else ''}: {field}: {err['msg']}")
        raise UsageError("invalid eval config\n  " + "\n  ".join(dict.fromkeys(msgs))) from None


def _beside(path: str | None, folder: Path) -> str | None:
    if path is None or Path(path).is_absolute() or Path(path).exists() or not (folder / path).exists():
        return path
    return str(folder / path)


def load_config(path: str, overrides: list[str] = ()) -> EvalConfig:
    p = Path(path)
    data, lines = read_yaml_mapping(p, "an eval config is a YAML mapping (model, suites)")
    for item in overrides:
        set_path(data, *parse_override(item))
    config = validate(data, str(path), lines)
    for s in config.suites:
        for f in PATH_FIELDS:
            if hasattr(s, f):
                setattr(s, f, _beside(getattr(s, f), p.parent))
    return config


def suite_config(suite: str, fields: dict, overrides: list[str] = ()) -> EvalConfig:
    """The config of `redraft eval SUITE ...`: one suite, its fields from the options and `--set field=value`."""
    data = {"suite": suite, **{k: v for k, v in fields.items() if v is not None}}
    for item in overrides:
        set_path(data, *parse_override(item))
    return validate({"suites": [data]}, "--set/options")
