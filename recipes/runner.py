"""The Python API of a dataset run: `run_recipe` (`redraft run`) and `curate` (`redraft filter`, `redraft dedupe`).

Both do the same four things, in this order:
1. check the arguments and the first rows of the input, before any work or teacher call (recipes/checks.py; a
   recipe's own fields are checked when it loads, recipes/schema.py), and cut the input into the tasks' shares from
   its metadata (`ItemReader.plan_shares`: each task reads only its share);
2. lay the run out as a list of stages (`stages`): the first reads, counts and filters the input (and for `run`
   synthesises the dialogues and asks the LLM judge); dedupe, when on, adds three more (filters/dedupe.py), or
   with nothing to filter (`redraft dedupe`) takes the first's place and reads the input itself. `run` starts with a
   check stage (`check_stage`): each task parses its share and counts it, so a bad line stops the run (exit 2)
   before any teacher call, and the counts give the progress lines their totals;
3. run the stages on the recipe's executor (recipes/executors.py: local, Ray or Slurm), each as `executor.tasks`
   tasks, in the run's work folder `OUT/.redraft/work-KEY/` (`Work`);
4. publish (recipes/publish.py): the funnel, then the output folder's files, moved into OUT.

KEY is a digest of the resolved recipe (or curation) and the input files: datatrove skips the tasks already completed
under it, the synthesis cache skips the teacher calls already made (it is shared by every task, executor and task
count), and OUT changes only once every stage succeeded.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Literal

import yaml

from redraft.errors import UsageError
from redraft.filters.config import JudgeConfig
from redraft.filters.dedupe import dedupe_stages
from redraft.filters.registry import build_filters
from redraft.output import STATE_DIR, claim_output_dir, clear_state
from redraft.portable_paths import portable_path, portable_record
from redraft.readers import ItemReader, StageReader, rows_path
from redraft.recipes.checks import check_curation, checked_sample
from redraft.recipes.executors import Stage, StageFailed, run_stages
from redraft.recipes.publish import count_funnel, ensure_nonempty, publish_dataset
from redraft.recipes.schema import ExecutorConfig, Recipe, dump_recipe, load_recipe, resolve_path
from redraft.storage import absolute, is_url, location, remove
from redraft.synth.errors import BatchesPending
from redraft.types import DIALOGUE_SCHEMA, PAIR_SCHEMA
from redraft.writers import CountItems, TaskCounts, rejected_writer, rows_writer, stage_writer

ItemKind = Literal["pair", "dialogue"]  # what a row holds: a parallel pair or a dialogue
SCHEMA = {"pair": PAIR_SCHEMA, "dialogue": DIALOGUE_SCHEMA}


class Work:
    """A run's folders under OUT/.redraft/ (KEY: what was run, and on which input files)."""

    def __init__(self, out: Path, key: str):
        self.out = out
        self.state = out / STATE_DIR  # the response caches, shared by every run into OUT
        self.folder = self.state / f"work-{key}"  # this run's: datatrove's logs and markers, rows between stages
        self.counts = self.folder / "counts"  # the items entering the funnel, per task
        self.checked = self.folder / "checked"  # `run`'s check stage: the items of each task's share
        self.staging = self.folder / "staging"  # what publishing reads: data/ and rejected/
        self.rejected = self.staging / "rejected"
        self.scratch = None  # OUT on an object store: the local copy publishing assembles (`_run_and_count`)

    def start(self, fresh: bool) -> "Work":
        """Claim OUT (completing a publish a kill interrupted); `fresh`: forget the caches and earlier work."""
        claim_output_dir(self.out)
        if fresh:
            from redraft.synth.batch_records import forget_batches

            forget_batches(self.state)
            clear_state(self.out)
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def forget_others(self) -> None:
        """Earlier runs' work folders, once this one is published; the response caches stay."""
        for old in self.state.glob("work-*"):
            if old.name != self.folder.name:
                remove(old)


def stages(reader: ItemReader, steps: list, kind: ItemKind, dedupe, work: Work, tasks: int,
           name: str) -> list[Stage]:
    """The run, stage by stage. The first stage reads the input with `reader`, counts it and runs `steps` (the
    filters; `run`: and synthesis, the judge); without dedupe, it writes the kept rows itself. With dedupe, it hands
    its rows to the three dedupe stages in `rows/`; with no `steps` there is nothing to hand on, and the first and
    last dedupe stages read the input themselves instead of a copy: the reader gives every item the position a
    copied row would carry, and a file that changes between the two readings fails the run (`readers.unchanged`).
    A Hub dataset is still copied: streamed twice it would cost twice, and its files' changes are not seen."""
    first = [reader, CountItems(work.counts), *steps]
    kept = rows_writer(work.staging / "data", SCHEMA[kind])
    dedupe_steps = dedupe_stages(dedupe, str(work.folder / "dedupe"))
    if dedupe_steps is None:
        return [Stage(name, [*first, kept], tasks)]
    signatures, buckets, drop = dedupe_steps
    drop.exclusion_writer = rejected_writer(work.rejected, "z00-dedupe", SCHEMA[kind])
    if not steps and reader.format != "hf":
        return [Stage("dedupe-signatures", [*first, *signatures], tasks),
                Stage("dedupe-buckets", buckets, tasks),
                Stage("dedupe-filter", [reader, drop, kept], tasks)]
    rows = work.folder / "rows"
    return [Stage(name, [*first, stage_writer(rows, SCHEMA[kind])], tasks),
            Stage("dedupe-signatures", [StageReader(str(rows)), *signatures], tasks),
            Stage("dedupe-buckets", buckets, tasks),
            Stage("dedupe-filter", [StageReader(str(rows)), drop, kept], tasks)]


def check_stage(reader: ItemReader, work: Work, tasks: int) -> Stage:
    """Before any teacher call: each task parses its share of the input and counts its items (`work.checked`), so a
    bad line stops the run with nothing paid, at the cost of reading the input twice (once here, once to synthesise).
    A Hub dataset is not read twice: it has no check stage, and its bad rows stop the synthesis stage."""
    return Stage("check", [reader, CountItems(work.checked)], tasks)


def _run_and_count(run: list[Stage], kind: ItemKind, work: Work, executor: ExecutorConfig,
                   env_names: list[str]) -> tuple[dict, Path]:
    """Run the stages, then count the funnel (stats.json) from what they left in the staging folder; returns it and
    the staging folder, on this machine (a copy of it when OUT is on an object store: publishing assembles the card,
    plots and exports here, then uploads them)."""
    run_stages(run, executor, work.folder, env_names)
    staging, counts = work.staging, work.counts
    if not isinstance(work.out, Path):
        work.scratch = tempfile.TemporaryDirectory(prefix="redraft-publish-")
        staging, counts = Path(work.scratch.name) / "staging", Path(work.scratch.name) / "counts"
        for remote, local in ((work.staging, staging), (work.counts, counts)):
            local.mkdir()
            if remote.exists():
                remote.fs.get(remote.path + "/", f"{local}/", recursive=True)
    ensure_nonempty(staging / "data", SCHEMA[kind])
    (staging / "rejected").mkdir(parents=True, exist_ok=True)
    return count_funnel(counts, staging / "data", staging / "rejected"), staging


def _with_rejects(steps: list, rejected_dir: Path, tag: str, kind: ItemKind) -> list:
    for i, step in enumerate(steps):
        step.exclusion_writer = rejected_writer(rejected_dir, f"{tag}{i:02d}-{type(step).__name__}", SCHEMA[kind])
    return steps


def _work_key(description: str, inputs: list[str]) -> str:
    h = hashlib.sha256(description.encode())
    for p in inputs:
        p = location(p)
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file():
                st = f.stat()
                h.update(f"{f}:{st.st_size}:{st.st_mtime}".encode())
    return h.hexdigest()[:16]


def _source_path(path: str | None, recipe_file: Path) -> str | None:
    """Relative paths are read from the working directory, or else beside the recipe file."""
    if path is None or is_url(path) or Path(path).is_absolute() or Path(path).exists():
        return path
    beside = recipe_file.parent / path
    return str(beside) if beside.exists() else path


def _absolute(path: str | None) -> str | None:
    """A local input path as seen from any task's working folder; a Hub dataset id as it is."""
    return str(Path(path).absolute()) if path and not is_url(path) and Path(path).exists() else path


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


def portable_recipe_yaml(recipe: Recipe, recipe_file: Path) -> str:
    """recipe.yaml as published: the resolved recipe with its paths as `portable_path` records them, relative to
    `recipe_file`'s folder (no absolute path of this machine)."""
    return dump_recipe(Recipe.model_validate(portable_record(recipe.model_dump(mode="json"), recipe_file.parent)))


def run_recipe(recipe: str, overrides: list[str] = (), output: str | None = None, limit: int | None = None,
               fresh: bool = False, wait: bool = True) -> Path:
    """`redraft run`: parallel pairs → teacher dialogues → filters → LLM judge → dedupe → OUT. Returns OUT.
    `wait=False` (`--wait false`): with `teacher.batch`, raise BatchesPending once every task's batches are
    submitted, instead of waiting on them; the same call later collects them."""
    from redraft.filters.judge import JudgeDialogues, resolve_judge
    from redraft.synth.batch_records import describe, recorded_batches
    from redraft.synth.dialogue import SynthesizeDialogues

    r = prepare_recipe(recipe, overrides, output, limit)
    src = r.source
    reader = ItemReader(_absolute(src.path), src.format, src.src_lang, src.tgt_lang, _absolute(src.target_path),
                        src.source_column, src.target_column, src.split, src.limit)
    checked_sample(reader, src.path)
    pair_filters = build_filters(r.filters, src.src_lang, src.tgt_lang, "pair") if r.filters == "default" else []
    dialogue_filters = build_filters(r.filters, src.src_lang, src.tgt_lang, "dialogue")
    judge = resolve_judge(r.judge, r)
    recipe_yaml = portable_recipe_yaml(r, resolve_path(recipe))

    out = absolute(r.output.path)  # tasks on other nodes, or in Ray's working folder, read and write it
    work = Work(out, _work_key(recipe_yaml, [p for p in (src.path, src.target_path) if p])).start(fresh)
    reader.plan_shares(r.executor.tasks, cache=work.folder)
    checked = reader.format != "hf"
    judged = [JudgeDialogues(judge, str(work.state), workers=r.executor.workers, wait=wait)] if judge else []
    steps = [*_with_rejects(pair_filters, work.rejected, "a", "pair"),
             SynthesizeDialogues(r, str(work.state), rejected_writer(work.rejected, "synth", PAIR_SCHEMA),
                                 TaskCounts(work.checked) if checked else None, wait),
             *_with_rejects(dialogue_filters + judged, work.rejected, "b", "dialogue")]
    keys = [t.api_key_env for t in (r.teacher, r.user_teacher, judge and judge.teacher) if t and t.api_key_env]
    run = [check_stage(reader, work, r.executor.tasks)] if checked else []
    run += stages(reader, steps, "dialogue", r.dedupe, work, r.executor.tasks, "synthesize")
    try:
        stats, staging = _run_and_count(run, "dialogue", work, r.executor, keys)
    except Exception as e:
        batches = [] if wait else recorded_batches(work.state)
        if not batches or not isinstance(e, BatchesPending | StageFailed):  # on Ray and Slurm: a task that failed
            raise
        raise BatchesPending(f"{describe(batches)} at the Batch API; run the same command again to collect them "
                             f"(nothing was published)") from e
    publish_dataset(staging, out, stats, title=r.name, kind="dialogue", languages=[src.src_lang, src.tgt_lang],
                    record=recipe_yaml, license=r.output.license, formats=r.output.formats)
    work.forget_others()
    return out


def cancel_recipe_batches(recipe: str, overrides: list[str] = (), output: str | None = None) -> list[str]:
    """`redraft run --cancel-batches`: cancel the batches a run into the recipe's output folder left at the Batch API;
    a line per batch."""
    from redraft.synth.batch import cancel_batches

    state = absolute(prepare_recipe(recipe, overrides, output).output.path) / STATE_DIR
    return cancel_batches(state) or [f"no batches recorded in {state}"]


def curate(input_path: str, out: str, *, filters="default", dedupe=False, langs: str | None = None,
           fresh: bool = False, title: str | None = None, judge: JudgeConfig | None = None,
           read: dict | None = None, executor: ExecutorConfig | None = None) -> Path:
    """`redraft filter` / `redraft dedupe`: any supported input (pairs or dialogues; an output folder's `data/`) →
    filters → LLM judge (dialogues, when `judge` is given with a teacher config) → dedupe → OUT.
    `langs`: `xx-yy`, when the rows do not say; `read`: ItemReader options (`chat_format`, ...)."""
    src_lang, tgt_lang = check_curation(input_path, out, langs)
    rows = rows_path(input_path)
    executor = executor or ExecutorConfig()
    reader = ItemReader(_absolute(rows), src_lang=src_lang, tgt_lang=tgt_lang, **(read or {}))
    first_row = checked_sample(reader, rows)[0]
    kind: ItemKind = "dialogue" if "messages" in first_row.metadata else "pair"
    src_lang, tgt_lang = first_row.metadata["src_lang"], first_row.metadata["tgt_lang"]
    steps = build_filters(filters, src_lang or "und", tgt_lang or "und", kind) if filters else []
    if judge is not None:  # the judge's modules (and the OpenAI client) load only when there is one
        from redraft.filters.judge import JudgeDialogues, resolve_judge

        judge = resolve_judge(judge)
    if judge and kind == "pair":
        raise UsageError(f"{input_path}: the judge scores dialogues, and this input holds parallel pairs")

    out_dir = absolute(out)
    # what was run, as the output's recipe.yaml: not a runnable recipe, but the record of this curation
    record = {"command": "dedupe" if not filters and not judge else "filter", "input": portable_path(rows),
              "langs": f"{src_lang}-{tgt_lang}",
              "filters": filters if isinstance(filters, str) else [f.model_dump(mode="json") for f in filters],
              "dedupe": dedupe.model_dump(mode="json") if hasattr(dedupe, "model_dump") else dedupe}
    if judge:
        record["judge"] = judge.model_dump(mode="json")
    if read:
        record["read"] = read
    description = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    work = Work(out_dir, _work_key(description + executor.model_dump_json(), [rows])).start(fresh)
    reader.plan_shares(executor.tasks)  # no check stage: nothing is paid, and a bad line in a task fails the run
    judged = [JudgeDialogues(judge, str(work.state), workers=executor.workers)] if judge else []
    steps = _with_rejects(steps + judged, work.rejected, "a", kind)
    keys = [judge.teacher.api_key_env] if judge and judge.teacher.api_key_env else []
    name = "filter" if record["command"] == "filter" else "read"
    run = stages(reader, steps, kind, dedupe, work, executor.tasks, name)
    stats, staging = _run_and_count(run, kind, work, executor, keys)
    publish_dataset(staging, out_dir, stats, title=title or out_dir.name, kind=kind,
                    languages=[lang for lang in (src_lang, tgt_lang) if lang], record=description)
    work.forget_others()
    return out_dir
