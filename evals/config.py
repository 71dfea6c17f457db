"""An eval config: the model under test and the suites to run, from a YAML file or from one suite's fields and
the model's options (`eval_config`: what `redraft eval ...` runs, and what a notebook calls). Read through
redraft/config_file.py: errors name the field and the file line or the override. Relative data paths are read from
the working directory, or else beside the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Iterable, Union

from pydantic import BaseModel, ConfigDict, Field

from redraft.config_file import ConfigSource
from redraft.errors import UsageError

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


def eval_config(target: str, *, overrides: Iterable[str] = (), limit: int | None = None, src: str | None = None,
                ref: str | None = None, data: str | None = None, langs: str | None = None,
                baseline: str | None = None, judge_model: str | None = None, judge_url: str | None = None,
                one_order: bool = False, **model) -> EvalConfig:
    """What `redraft eval TARGET ...` runs. TARGET is a suite, its data from `src`/`ref`/`data`/`langs`/...
    and any other field from `overrides` (`prompt=...`), or an eval config file (`overrides` as
    `suites.0.limit=20`); `limit` caps every suite. `model` holds the model under test's fields (ModelConfig:
    `model="embedded"`, `base_url=...`, `batch_size=4`): they add to the config's `model:`, or replace it when
    `model` is given. UsageError (exit 2) names what is wrong."""
    from .suites import suite_modules

    options = {"src": src, "ref": ref, "data": data, "langs": langs, "baseline": baseline,
               "judge_model": judge_model, "judge_url": judge_url, "one_order": one_order}
    if target in suite_modules():
        config = suite_config(target, {**_suite_fields(target, options), "limit": limit}, overrides)
    elif Path(target).is_file():
        given = [k for k, v in options.items() if v]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} is for a suite named on the command line; with a "
                             f"config, set it there or with --set suites.N.FIELD=VALUE")
        config = load_config(target, overrides)
        for s in config.suites:
            s.limit = limit or s.limit
    else:
        raise UsageError(f"{target}: neither a suite ({', '.join(suite_modules())}) nor a config file")
    config.model = _model_under_test(config.model, {k: v for k, v in model.items() if v is not None})
    return config


def load_config(path: str, overrides: Iterable[str] = ()) -> EvalConfig:
    """An eval config file, with `--set` overrides (`suites.0.limit=20`)."""
    p = Path(path)
    source = ConfigSource.read(p, "an eval config is a YAML mapping (model, suites)").set(overrides)
    config = source.validate(EvalConfig, "eval config").named()
    for s in config.suites:
        for f in PATH_FIELDS:
            if hasattr(s, f):
                setattr(s, f, _beside(getattr(s, f), p.parent))
    return config


def suite_config(suite: str, fields: dict, overrides: Iterable[str] = ()) -> EvalConfig:
    """One suite, its fields from the options (`fields`) and `--set field=value` items."""
    data = {"suite": suite, **{k: v for k, v in fields.items() if v is not None}}
    source = ConfigSource({"suites": [data]}, "options").set(overrides, under=("suites", 0))
    return source.validate(EvalConfig, "eval config").named()


def _suite_fields(suite: str, o: dict) -> dict:
    """A suite's fields from the options of `redraft eval SUITE`; UsageError for an option the suite does not take."""
    pairs = suite in ("translation", "interactive")
    if pairs:
        if o["data"] and (o["src"] or o["ref"]):
            raise UsageError("give --src and --ref, or --data, not both")
        fields = {"source": o["data"] or o["src"], "reference": o["ref"]}
    elif suite == "constrained":
        fields = {"data": o["data"]}
    else:
        fields = {"questions": o["data"], "baseline": o["baseline"], "both_orders": False if o["one_order"] else None}
        if o["judge_model"]:
            fields["judge"] = {"provider": "embedded"} if o["judge_model"] == "embedded" else {
                "model": o["judge_model"], "base_url": o["judge_url"]}
        elif o["judge_url"]:
            raise UsageError("--judge-url needs --judge-model")
    unused = [f for f in ("src", "ref") if o[f] and not pairs]
    unused += [f for f in ("baseline", "judge_model", "one_order") if o[f] and suite != "bayling80"]
    if unused:
        raise UsageError(f"the {suite} suite takes no --{unused[0].replace('_', '-')}")
    return {**fields, "langs": o["langs"]}


def _model_under_test(config_model: ModelConfig | None, options: dict) -> ModelConfig:
    """The model options over the config's `model:` (all of it replaced when the options name a model)."""
    base = {} if options.get("model") or config_model is None else config_model.model_dump(exclude_unset=True)
    if "model" not in {**base, **options}:
        raise UsageError("no model under test: give --model (or `model:` in the config)")
    try:
        return ModelConfig(**{**base, **options})
    except ValueError as e:
        raise UsageError(f"model options: {e}") from None


def _beside(path: str | None, folder: Path) -> str | None:
    if path is None or Path(path).is_absolute() or Path(path).exists() or not (folder / path).exists():
        return path
    return str(folder / path)
