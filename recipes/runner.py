"""Runs a recipe, or a curation command, as datatrove pipelines and publishes the output directory.

Every stage runs as `executor.tasks` tasks on the recipe's executor (recipes/executors.py: local, Ray or Slurm):
1. read → count → pair filters → synthesise → dialogue filters → LLM judge (when the recipe has one) → stage rows;
2.-4. dedupe (filters/dedupe.py): signatures → buckets → filter → `data/` shards.
Without dedupe, stage 1 writes `data/` itself. Everything lands in `OUT/.redraft/work-KEY/` first (KEY: the resolved
recipe and the input files); datatrove skips the tasks already completed there, the synthesis cache skips the teacher
calls already made (it is shared by every task, executor and task count), and `publish` copies the finished parts
into `OUT` only once every stage succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from itertools import islice
from pathlib import Path
from typing import Literal

import yaml

from loguru import logger

from redraft.card import dataset_card
from redraft.errors import UsageError
from redraft.filters.config import JudgeConfig
from redraft.filters.dedupe import dedupe_stages
from redraft.filters.judge import JudgeDialogues, resolve_judge
from redraft.export import write_formats
from redraft.filters.registry import build_filters
from redraft.output import (STATE_DIR, CountItems, ensure_nonempty, funnel, name_shards, publish, rejected_writer,
                            rows_writer, stage_writer)
from redraft.portable_paths import portable_path, portable_recipe_yaml
from redraft.readers import ItemReader, StageReader, checked_sample
from redraft.recipes.executors import Stage, StageFailed, run_stages
from redraft.recipes.schema import ExecutorConfig, Recipe, load_recipe, resolve_path
from redraft.synth.batch import cancel_batches, describe, forget_batches, recorded_batches
from redraft.synth.errors import BatchesPending
from redraft.types import DIALOGUE_SCHEMA, PAIR_SCHEMA

Kind = Literal["pair", "dialogue"]

if os.environ.get("REDRAFT_VERBOSE", "0") == "0":
    logger.disable("datatrove")  # its per-task INFO logs drown our progress display


def _work_key(description: str, inputs: list[str]) -> str:
    h = hashlib.sha256(description.encode())
    for p in inputs:
        for f in sorted(Path(p).rglob("*")) if Path(p).is_dir() else [Path(p)]:
            if f.is_file():
                st = f.stat()
                h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _with_rejects(steps: list, rejected_dir: Path, tag: str, kind: Kind) -> list:
    schema = DIALOGUE_SCHEMA if kind == "dialogue" else PAIR_SCHEMA
    for i, step in enumerate(steps):
        step.exclusion_writer = rejected_writer(rejected_dir, f"{tag}{i:02d}-{type(step).__name__}", schema)
    return steps


def _execute(out: Path, key: str, fresh: bool, stage1: callable, kind: Kind, dedupe, executor: ExecutorConfig,
             name: str, env_names: list[str] = ()) -> tuple[Path, dict]:
    """Run the stages under OUT/.redraft/work-KEY and return the staging folder and the funnel."""
    state = out / STATE_DIR
    if fresh and state.exists():
        forget_batches(state)
        shutil.rmtree(state)
    work = state / f"work-{key}"
    staging = work / "staging"
    rejected = staging / "rejected"
    work.mkdir(parents=True, exist_ok=True)
    schema = DIALOGUE_SCHEMA if kind == "dialogue" else PAIR_SCHEMA
    first = stage1(state, rejected, work / "counts")
    tasks = executor.tasks
    dedupe_steps = dedupe_stages(dedupe, str(work / "dedupe"))
    if dedupe_steps is None:
        stages = [Stage(name, [*first, rows_writer(staging / "data", schema)], tasks)]
    else:
        signatures, buckets, drop = dedupe_steps
        drop.exclusion_writer = rejected_writer(rejected, "z00-dedupe", schema)
        rows = work / "rows"
        stages = [Stage(name, [*first, stage_writer(rows, schema)], tasks),
                  Stage("dedupe-signatures", [StageReader(str(rows)), *signatures], tasks),
                  Stage("dedupe-buckets", buckets, tasks),
                  Stage("dedupe-filter", [StageReader(str(rows)), drop, rows_writer(staging / "data", schema)], tasks)]
    run_stages(stages, executor, work, env_names)
    ensure_nonempty(staging / "data", schema)
    rejected.mkdir(parents=True, exist_ok=True)
    return staging, funnel(work / "counts", staging / "data", rejected)


def _finish(staging: Path, out: Path, stats: dict, title: str, kind: Kind, languages: list[str],
            recipe_yaml: str, license: str = "apache-2.0", formats: list[str] = ()) -> Path:
    import polars as pl

    from redraft.filters.report import write_plots

    final = staging.parent / "published"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(staging, final)  # staging stays, so a re-run with nothing left to do can publish again
    data_files = name_shards(final / "data")
    (final / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (final / "recipe.yaml").write_text(recipe_yaml, encoding="utf-8")
    languages = set(languages) | set(pl.scan_parquet(final / "data" / "*.parquet").select(
        pl.concat_list("src_lang", "tgt_lang").explode().unique()).collect().to_series().to_list())
    plots = [p.relative_to(final).as_posix() for p in write_plots(final / "plots", stats, final / "data")]
    (final / "README.md").write_text(dataset_card(title, stats, languages, kind, recipe_yaml, license=license,
                                                  plots=plots, data_files=data_files), encoding="utf-8")
    write_formats(final, formats, title)
    publish(final, out)
    for old in staging.parent.parent.glob("work-*"):  # earlier recipes' work files; the response cache stays
        if old != staging.parent:
            shutil.rmtree(old, ignore_errors=True)
    return out


def _source_path(path: str | None, recipe_file: Path) -> str | None:
    """Relative paths are read from the working directory, or else beside the recipe file."""
    if path is None or Path(path).is_absolute() or Path(path).exists():
        return path
    beside = recipe_file.parent / path
    return str(beside) if beside.exists() else path


def _absolute(path: str | None) -> str | None:
    """A local input path as seen from any task's working folder; a Hub dataset id as it is."""
    return str(Path(path).absolute()) if path and Path(path).exists() else path


def prepare_recipe(recipe: str, overrides: list[str] = (), output: str | None = None,
                   limit: int | None = None) -> Recipe:
    """Load a recipe with overrides and command-line options applied, its source paths resolved."""
    overrides = list(overrides)
    if output:
        overrides.append(f"output.path={json.dumps(output)}")
    if limit:
        overrides.append(f"source.limit={int(limit)}")
    r = load_recipe(recipe, overrides)
    recipe_file = resolve_path(recipe)
    r.source.path = _source_path(r.source.path, recipe_file)
    r.source.target_path = _source_path(r.source.target_path, recipe_file)
    return r


def run_recipe(recipe: str, overrides: list[str] = (), output: str | None = None, limit: int | None = None,
               fresh: bool = False, wait: bool = True) -> Path:
    """`redraft run`: parallel pairs → teacher dialogues → filters → dedupe → OUT. Returns OUT. `wait=False`
    (`--wait false`): with `teacher.batch`, raise BatchesPending once every task's batches are submitted, instead of
    waiting on them; the same call later collects them."""
    from redraft.synth.dialogue import SynthesizeDialogues

    r = prepare_recipe(recipe, overrides, output, limit)
    src = r.source
    reader = ItemReader(_absolute(src.path), src.format, src.src_lang, src.tgt_lang, _absolute(src.target_path),
                        src.source_column, src.target_column, src.split, src.limit)
    checked_sample(reader, src.path)  # no rows, or pairs in other languages than declared: exit 2, nothing paid
    # One pass over local input before any teacher call: a bad line stops here (exit 2) with nothing paid, and the
    # count gives the progress display its ETA and projected cost.
    expected = None if reader.format == "hf" else -(-sum(1 for _ in islice(reader.read(), src.limit))
                                                    // r.executor.tasks)
    pair_filters = build_filters(r.filters, src.src_lang, src.tgt_lang, "pair") if r.filters == "default" else []
    judge = resolve_judge(r.judge, r)
    recipe_yaml = portable_recipe_yaml(r, resolve_path(recipe))  # published: no absolute path of this machine

    def stage1(state: Path, rejected: Path, counts: Path) -> list:
        synth = SynthesizeDialogues(r, str(state), rejected_writer(rejected, "synth", PAIR_SCHEMA), expected, wait)
        dialogue_steps = build_filters(r.filters, src.src_lang, src.tgt_lang, "dialogue")
        dialogue_steps += [JudgeDialogues(judge, str(state), workers=r.executor.workers, wait=wait)] if judge else []
        return [reader, CountItems(counts), *_with_rejects(pair_filters, rejected, "a", "pair"), synth,
                *_with_rejects(dialogue_steps, rejected, "b", "dialogue")]

    out = Path(r.output.path).absolute()  # tasks on other nodes, or in Ray's working folder, read and write it
    key = _work_key(recipe_yaml, [p for p in (src.path, src.target_path) if p])
    keys = [t.api_key_env for t in (r.teacher, r.user_teacher, judge and judge.teacher) if t and t.api_key_env]
    try:
        staging, stats = _execute(out, key, fresh, stage1, "dialogue", r.dedupe, r.executor, "synthesize", keys)
    except Exception as e:
        batches = [] if wait else recorded_batches(out / STATE_DIR)
        if not batches or not isinstance(e, BatchesPending | StageFailed):  # on Ray and Slurm: a task that failed
            raise
        raise BatchesPending(f"{describe(batches)} at the Batch API; run the same command again to collect them "
                             f"(nothing was published)") from e
    return _finish(staging, out, stats, r.name, "dialogue", [src.src_lang, src.tgt_lang], recipe_yaml,
                   r.output.license, r.output.formats)


def cancel_recipe_batches(recipe: str, overrides: list[str] = (), output: str | None = None) -> list[str]:
    """`redraft run --cancel-batches`: cancel the batches a run into the recipe's output folder left at the Batch API;
    a line per batch."""
    state = Path(prepare_recipe(recipe, overrides, output).output.path).absolute() / STATE_DIR
    return cancel_batches(state) or [f"no batches recorded in {state}"]


def curate(input_path: str, out: str, *, filters="default", dedupe=False, langs: str | None = None,
           fresh: bool = False, title: str | None = None, judge: JudgeConfig | None = None,
           read: dict | None = None, executor: ExecutorConfig | None = None) -> Path:
    """`redraft filter` / `redraft dedupe`: any supported input (pairs or dialogues) → filters → LLM judge (dialogues,
    when `judge` is given with a teacher config) → dedupe → OUT. `read`: ItemReader options (`chat_format`, ...)."""
    src_lang = tgt_lang = None
    if langs:
        if langs.count("-") != 1:
            raise UsageError(f"--langs {langs!r}: expected two language codes like zh-en")
        src_lang, tgt_lang = langs.split("-")
    executor = executor or ExecutorConfig()
    reader = ItemReader(_absolute(input_path), src_lang=src_lang, tgt_lang=tgt_lang, **(read or {}))
    first = checked_sample(reader, input_path)[0]  # no rows, or pairs in other languages than declared: exit 2
    kind: Kind = "dialogue" if first is not None and "messages" in first.metadata else "pair"
    if first is not None:
        src_lang, tgt_lang = first.metadata["src_lang"], first.metadata["tgt_lang"]
    steps = build_filters(filters, src_lang or "und", tgt_lang or "und", kind) if filters else []
    judge = resolve_judge(judge)
    if judge and kind == "pair":
        raise UsageError(f"{input_path}: the judge scores dialogues, and this input holds parallel pairs")

    def stage1(state: Path, rejected: Path, counts: Path) -> list:
        judged = [JudgeDialogues(judge, str(state), workers=executor.workers)] if judge else []
        return [reader, CountItems(counts), *_with_rejects(steps + judged, rejected, "a", kind)]

    out_dir = Path(out).absolute()
    # what was run, as the output's recipe.yaml: not a runnable recipe, but the record of this curation
    record = {"command": "dedupe" if not filters and not judge else "filter", "input": portable_path(input_path),
              "langs": f"{src_lang}-{tgt_lang}",
              "filters": filters if isinstance(filters, str) else [f.model_dump(mode="json") for f in filters],
              "dedupe": dedupe.model_dump(mode="json") if hasattr(dedupe, "model_dump") else dedupe}
    if judge:
        record["judge"] = judge.model_dump(mode="json")
    if read:
        record["read"] = read
    description = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    key = _work_key(description + executor.model_dump_json(), [input_path])
    keys = [judge.teacher.api_key_env] if judge and judge.teacher.api_key_env else []
    staging, stats = _execute(out_dir, key, fresh, stage1, kind, dedupe, executor,
                              "filter" if record["command"] == "filter" else "read", keys)
    return _finish(staging, out_dir, stats, title or out_dir.name, kind,
                   [lang for lang in (src_lang, tgt_lang) if lang], description)
