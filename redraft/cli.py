"""The `redraft` command line: parses arguments, calls the Python API, prints. Exit 0 ok, 1 runtime failure, 2 bad
usage or input (every check of paths, languages and recipes is made by the API, so a Python call gets it too)."""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice
from pathlib import Path

from redraft.errors import UsageError

EPILOG = """examples:
  redraft run demo                                   # the built-in demo recipe, embedded teacher, writes out/demo/
  redraft run my.yaml --set teacher.batch=true --wait false   # Batch API: submit a round, exit 75; re-run to collect
  redraft run my.yaml --set teacher.model=gpt-4o-mini --limit 100
  redraft validate bayling-zh-en
  redraft filter pairs.tsv --langs de-en -o out/clean
  redraft filter out/demo -o out/judged --judge-model gpt-4o-mini --judge-min-score 3
  redraft dedupe out/demo -o out/demo-dedup --near --set executor.kind=ray --set executor.tasks=8
  redraft stats out/demo
  redraft show out/demo -n 3
  redraft export out/demo --format sharegpt -o out/demo-sharegpt   # FastChat / LLaMA-Factory / axolotl
  redraft filter sharegpt.json -o out/clean --langs zh-en          # ShareGPT and Alpaca rows are read as dialogues
  redraft push out/demo me/my-dialogues --private
  redraft train train.yaml --nproc 2
  redraft eval score --hyp hyp.txt --ref ref.txt --langs zh-en
  redraft eval translation --src zhen.src --ref zhen.ref --langs zh-en --model out/train/final -o out/eval
"""


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field by its dotted path; the value is read as YAML (--set filters=[])")


def _add_chat_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chat-format", default="auto", choices=["auto", "messages", "sharegpt", "alpaca"],
                   help="layout of dialogue rows (default: told from the columns)")
    p.add_argument("--messages-column", metavar="NAME",
                   help="the column holding the turns ({from, value} or {role, content}), when not `conversations` "
                        "or `messages`")


def _true_false(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{text!r}: true or false")
    return text.lower() == "true"


def _read_options(a) -> dict:
    return {k: v for k, v in (("chat_format", a.chat_format), ("messages_column", a.messages_column))
            if v not in (None, "auto")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redraft", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Turn parallel sentences into interactive translation dialogues with teacher LLMs, curate "
                    "them, publish them to the Hugging Face Hub and fine-tune on them.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a recipe: synthesise, filter, dedupe and write a dataset folder",
                       description="Run a recipe (a YAML path or a built-in name). Re-running the same command "
                                   "continues an interrupted run: finished teacher calls are reused.")
    p.add_argument("recipe", help="recipe file, or built-in name (demo, bayling-zh-en)")
    p.add_argument("-o", "--output", help="output folder (default: the recipe's output.path)")
    _add_set(p)
    p.add_argument("--limit", type=int, help="use only the first N input pairs")
    p.add_argument("--fresh", action="store_true", help="start over: discard the response cache and work files")
    p.add_argument("--wait", type=_true_false, default=True, metavar="true|false",
                   help="false: with teacher.batch, submit the batches of a round and exit (75) instead of waiting "
                        "on them; run the same command again to collect them and go on")
    p.add_argument("--cancel-batches", action="store_true",
                   help="cancel the Batch API batches a run into this output folder left running, and exit")

    p = sub.add_parser("validate", help="check a recipe; errors name the field path and the file line")
    p.add_argument("recipe")
    _add_set(p)

    p = sub.add_parser("filter", help="filter pairs or dialogues with a recipe's filters or the defaults",
                       description="Filter any supported input: TSV/JSONL/parquet pairs, two text files (not "
                                   "here), or a messages dataset. Kept rows go to DIR/data, drops to DIR/rejected.")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--recipe", help="take the `filters`, `judge` and `executor` sections of this recipe (default: "
                                    "the default filters, no judge, this machine)")
    p.add_argument("--langs", help="language pair of the input, like zh-en (when the rows do not say)")
    _add_set(p)
    p.add_argument("--judge-model", metavar="MODEL",
                   help="score each dialogue with this LLM judge (OpenAI-compatible; `embedded`: the built-in model) "
                        "into the `judge` column, instead of the recipe's judge")
    p.add_argument("--judge-url", metavar="URL", help="the judge's OpenAI-compatible base URL (key: $OPENAI_API_KEY)")
    p.add_argument("--judge-min-score", type=float, metavar="S",
                   help="drop dialogues the judge scores below S (1-5; reason judge_low_score)")
    p.add_argument("--fresh", action="store_true")
    _add_chat_format(p)

    p = sub.add_parser("dedupe", help="drop exact and near duplicates, keeping the first of each group",
                       description="Drop exact duplicates (after normalisation) and, with --near, MinHash near "
                                   "duplicates. Of each group the item read first is kept, whatever the executor "
                                   "and the task count.")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--langs")
    p.add_argument("--near", action="store_true", help="also drop near-duplicates (MinHash LSH)")
    p.add_argument("--recipe", help="take the `dedupe` and `executor` sections of this recipe")
    _add_set(p)
    p.add_argument("--fresh", action="store_true")
    _add_chat_format(p)

    p = sub.add_parser("stats", help="print the funnel and summary of a dataset (--plots DIR: and plot them)")
    p.add_argument("input")
    p.add_argument("--plots", metavar="DIR", help="also write the PNG plots into DIR (stats itself writes nothing)")

    p = sub.add_parser("show", help="print the first dialogues or pairs of a dataset")
    p.add_argument("input")
    p.add_argument("-n", type=int, default=3)
    _add_chat_format(p)

    p = sub.add_parser("export", help="write dialogues as ShareGPT, Alpaca or messages rows for other trainers",
                       description="Write the dialogues of INPUT (an output folder or any dialogue input) in the "
                                   "layout FastChat, LLaMA-Factory or axolotl reads. OUTPUT ending in .json (one "
                                   "JSON array), .jsonl or .parquet is one file; any other OUTPUT is a folder with "
                                   "train.json and LLaMA-Factory's dataset_info.json.")
    p.add_argument("input")
    p.add_argument("--format", required=True, choices=["sharegpt", "alpaca", "messages"])
    p.add_argument("-o", "--output", required=True, metavar="FILE_OR_DIR")
    p.add_argument("--name", help="the dataset's name in dataset_info.json (default: the recipe's or folder's name)")
    _add_chat_format(p)

    p = sub.add_parser("push", help="publish an output folder to the Hugging Face Hub as a dataset",
                       description="Uploads the files redraft published in DIR (data/, rejected/, README.md, "
                                   "recipe.yaml, stats.json, plots/, exports), as its .redraft/manifest.json lists "
                                   "them; nothing else in DIR, never the .redraft/ state folder. The token comes "
                                   "from HF_TOKEN or `hf auth login`.")
    p.add_argument("dir")
    p.add_argument("repo_id", help="namespace/name")
    p.add_argument("--private", action="store_true")

    p = sub.add_parser("train", help="fine-tune a causal LM on redraft datasets (FSDP2, torchrun)")
    p.add_argument("config", help="trainer YAML (model, data, output_dir, seq_len, ...)")
    _add_set(p)
    p.add_argument("--nproc", type=int, default=1, help="processes on this node (gloo on CPU without a GPU)")
    for flag in ("--nnodes", "--node-rank", "--master-addr", "--master-port"):
        p.add_argument(flag, help="multi-node: passed through to torchrun")

    # everything after `eval` goes to redraft.evals.cli unparsed (`redraft eval -h` for its commands)
    p = sub.add_parser("eval", add_help=False, prefix_chars="\0", help="evaluate: score hypothesis files, run "
                       "suites against a model, compare runs (redraft eval -h)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return parser


BATCHES_PENDING = 75  # `--wait false`: batches submitted or still running (EX_TEMPFAIL: run again later)


def cmd_run(a) -> int:
    from redraft.recipes.runner import cancel_recipe_batches, run_recipe
    from redraft.synth.errors import BatchesPending

    if a.cancel_batches:
        print("\n".join(cancel_recipe_batches(a.recipe, a.overrides, a.output)))
        return 0
    try:
        out = run_recipe(a.recipe, a.overrides, a.output, a.limit, a.fresh, wait=a.wait)
    except BatchesPending as e:
        print(f"redraft run: {e}", file=sys.stderr)
        return BATCHES_PENDING
    stats = json.loads((out / "stats.json").read_text())
    print(f"{out}: kept {stats['kept']} of {stats['input']} (dropped {sum(stats['dropped'].values())}, failed "
          f"{sum(stats['failed'].values())})")
    return 0


def cmd_validate(a) -> int:
    from redraft.recipes.schema import load_recipe

    r = load_recipe(a.recipe, a.overrides)
    print(f"ok: {r.name} ({r.source.src_lang}-{r.source.tgt_lang}, teacher {r.teacher.provider}:{r.teacher.model})")
    return 0


def cmd_filter(a) -> int:
    from redraft.filters.judge import resolve_judge
    from redraft.recipes.runner import curate

    if not a.judge_model and (a.judge_url or a.judge_min_score is not None):
        raise UsageError("--judge-url and --judge-min-score need --judge-model")
    r = _recipe(a)
    judge = _judge_from_flags(a) if a.judge_model else resolve_judge(r.judge, r) if r else None
    out = curate(a.input, a.output, filters=r.filters if r else "default", dedupe=False, langs=_langs(a, r),
                 fresh=a.fresh, judge=judge, read=_read_options(a), executor=_executor(a, r))
    return _print_funnel(out)


def cmd_dedupe(a) -> int:
    from redraft.filters.config import DedupeConfig
    from redraft.filters.dedupe import resolve
    from redraft.recipes.runner import curate

    r = _recipe(a)
    cfg = (resolve(r.dedupe) if r else None) or DedupeConfig()
    if a.near:
        cfg = cfg.model_copy(update={"near": True})
    out = curate(a.input, a.output, filters=[], dedupe=cfg, langs=a.langs, fresh=a.fresh, read=_read_options(a),
                 executor=_executor(a, r))
    return _print_funnel(out)


def _recipe(a):
    """`--recipe` (with --set applied), or None."""
    from redraft.recipes.runner import prepare_recipe

    return prepare_recipe(a.recipe, a.overrides) if a.recipe else None


def _langs(a, r) -> str | None:
    return a.langs or (f"{r.source.src_lang}-{r.source.tgt_lang}" if r else None)


def _executor(a, r):
    """The executor section: the recipe's, or --set executor.* alone."""
    from redraft.recipes.schema import executor_from_overrides

    return r.executor if r else executor_from_overrides(a.overrides)


def _judge_from_flags(a):
    from redraft.filters.config import JudgeConfig
    from redraft.synth.config import TeacherConfig

    if a.judge_min_score is not None and not 1 <= a.judge_min_score <= 5:
        raise UsageError(f"--judge-min-score {a.judge_min_score}: a score from 1 to 5")
    teacher = TeacherConfig(provider="embedded") if a.judge_model == "embedded" else TeacherConfig(
        model=a.judge_model, base_url=a.judge_url, temperature=0.0)
    return JudgeConfig(teacher=teacher, min_score=a.judge_min_score)


def _print_funnel(out: Path) -> int:
    stats = json.loads((Path(out) / "stats.json").read_text())
    print(f"input {stats['input']}")
    for status in ("dropped", "failed"):
        for reason, n in stats[status].items():
            print(f"  {status} {reason}: {n}")
    print(f"kept {stats['kept']} -> {out}")
    return 0


def cmd_stats(a) -> int:
    from redraft.filters.stats import print_report

    return print_report(a.input, a.plots)


def cmd_show(a) -> int:
    from redraft.readers import ItemReader, rows_path

    for row in islice(ItemReader(rows_path(a.input), **_read_options(a)).read(), a.n):
        m = row.metadata
        print(f"── {row.id}  {m.get('src_lang')}→{m.get('tgt_lang')}  {', '.join(m.get('revisions') or [])}")
        if "messages" in m:
            for t in m["messages"]:
                print(f"  [{t['role']}] {t['content']}")
        else:
            print(f"  [source] {row.text}\n  [target] {m.get('reference_text')}")
    return 0


def cmd_export(a) -> int:
    from redraft.export import export

    path, n = export(a.input, a.format, a.output, name=a.name, **_read_options(a))
    print(f"{n} dialogues as {a.format} -> {path}")
    return 0


def cmd_push(a) -> int:
    from redraft.hub import push

    print(push(a.dir, a.repo_id, private=a.private))
    return 0


def cmd_train(a) -> int:
    from redraft.trainer import train

    launcher = [f"--{k.replace('_', '-')}={v}" for k, v in vars(a).items()
                if k in ("nnodes", "node_rank", "master_addr", "master_port") and v is not None]
    return train(a.config, a.overrides, a.nproc, launcher)


def cmd_eval(a) -> int:
    from redraft.evals.cli import main as eval_main

    return eval_main(a.args)


COMMANDS = {"eval": cmd_eval, "run": cmd_run, "validate": cmd_validate, "filter": cmd_filter, "dedupe": cmd_dedupe,
            "stats": cmd_stats, "show": cmd_show, "push": cmd_push, "train": cmd_train, "export": cmd_export}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"redraft {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"redraft {args.command}: interrupted; re-run the same command to continue", file=sys.stderr)
        return 130
    except Exception as e:  # a runtime failure: say what, not a traceback (REDRAFT_VERBOSE=1 shows it)
        import errno
        import os

        if os.environ.get("REDRAFT_VERBOSE", "0") != "0":
            raise
        where = getattr(args, "output", None) or getattr(args, "dir", None)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) and not e.filename:
            e = OSError(e.errno, f"{e.strerror} while writing {where or 'the output folder'}; free some space "
                                 "and run again (nothing was published)")
        notes = "".join(f"\n  {n}" for n in getattr(e, "__notes__", ()))
        print(f"redraft {args.command}: {type(e).__name__}: {e}{notes}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
