"""`redraft eval ...`: the command line of the evaluation stage. redraft/cli.py hands it everything after `eval`.

  redraft eval score --hyp FILE --ref FILE --langs xx-yy [--constraints FILE] [--json] [--width N]
  redraft eval reviews FILE [FILE ...] [--json]
  redraft eval compare DIR DIR [...] [-o OUT]
  redraft eval CONFIG_OR_SUITE --model M -o DIR [suite and model options]

Only argparse is imported here: the work is done by the modules each command names.
"""

from __future__ import annotations

import argparse
import json


def score_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="redraft eval score", description=(
        "Score a hypothesis file against a reference file (one segment a line) with sacrebleu: the BLEU and chrF "
        "lines its command line prints, then the constraint metrics. BLEU tokenizer: zh for a Chinese target, "
        "ja-mecab for Japanese, 13a otherwise."))
    p.add_argument("--hyp", required=True, help="hypotheses, one segment a line")
    p.add_argument("--ref", required=True, help="references, line-aligned with --hyp")
    p.add_argument("--langs", required=True, help="language pair, like zh-en")
    p.add_argument("--constraints", help='JSONL, line-aligned, each line {"constraint": [str, ...]}')
    p.add_argument("--json", action="store_true", help="end with one JSON line of every score")
    p.add_argument("-w", "--width", type=int, default=1, help="decimals printed, as sacrebleu's -w (default 1)")
    return p


def cmd_score(argv: list[str]) -> int:
    from .score import score_files

    a = score_parser().parse_args(argv)
    result, scores = score_files(a.hyp, a.ref, a.langs, a.constraints)
    for line in scores.lines(a.width):
        print(line)
    if "constraint_recall" in result:
        print(f"constraint_recall = {result['constraint_recall']:.4f} ({result['constraints']} constraints)")
        print(f"all_met = {result['all_met']:.4f} ({result['n']} segments)")
    if a.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_reviews(argv: list[str]) -> int:
    from .reviews import read_bayling_reviews, summarize

    p = argparse.ArgumentParser(prog="redraft eval reviews", description=(
        "Add up pairwise reviews in BayLing's format (its released GPT-4 reviews: one JSON object a line with "
        "`review` and `category`; system1 is the system, system2 the baseline): the score ratio, win/tie/loss, "
        "per category."))
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the summary")
    a = p.parse_args(argv)
    judged = [j for f in a.files for j in read_bayling_reviews(f)]
    s = summarize(judged)
    print(f"{'category':<16}{'n':>5}{'ratio':>9}{'win':>6}{'tie':>6}{'loss':>6}")
    for name, t in [*s["categories"].items(), ("all", s)]:
        print(f"{name:<16}{t['n']:>5}{t['ratio']:>9.1%}{t['win']:>6}{t['tie']:>6}{t['loss']:>6}")
    if a.json:
        print(json.dumps(s))
    return 0


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="redraft eval", formatter_class=argparse.RawDescriptionHelpFormatter,
                                description=__doc__.split("\n\n")[1] + "\n\n" + RUN_HELP)
    p.add_argument("target", metavar="CONFIG_OR_SUITE",
                   help="an eval config (YAML), or a suite: translation, constrained, interactive, bayling80")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--fresh", action="store_true", help="forget finished suites and cached answers first")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a suite field (suite mode) or a dotted config path (config mode, suites.0.limit=20); the "
                        "value is read as YAML")
    p.add_argument("--limit", type=int, help="only the first N segments or questions of every suite")
    g = p.add_argument_group("data (suite mode)")
    g.add_argument("--src", help="translation, interactive: source segments, one a line")
    g.add_argument("--ref", help="translation, interactive: references, line-aligned with --src")
    g.add_argument("--data", help="constrained: JSONL {src, tgt, constraint}; bayling80: the questions JSONL; "
                                  "translation, interactive: a pairs file or Hub dataset id instead of --src/--ref")
    g.add_argument("--langs", help="language pair, like zh-en")
    g.add_argument("--baseline", help="bayling80: the baseline's answers (JSONL with `response` lists)")
    g.add_argument("--judge-model", help="bayling80: the judge, a model on an OpenAI-compatible server "
                                         "(`embedded`: the built-in model)")
    g.add_argument("--judge-url", help="bayling80: the judge's base URL (key: $OPENAI_API_KEY)")
    g.add_argument("--one-order", action="store_true", help="bayling80: judge with the model first only, as "
                                                            "BayLing did (default: both orders)")
    g = p.add_argument_group("model under test")
    g.add_argument("--model", metavar="M", help="`embedded`, a Hugging Face model folder, a hypotheses file, or a "
                                                "model name on the server at --base-url")
    g.add_argument("--base-url", help="OpenAI-compatible server of --model")
    g.add_argument("--api-key-env", help="variable holding the server's key (default OPENAI_API_KEY)")
    g.add_argument("--max-tokens", type=int, help="per answer (default 256)")
    g.add_argument("--max-concurrency", type=int, help="server requests at once (default 8)")
    g.add_argument("--temperature", type=float, help="server sampling temperature (default 0)")
    g.add_argument("--batch-size", type=int, help="local model: answers generated together (default 16)")
    g.add_argument("--threads", type=int, help="local model on the CPU: torch threads (default 1)")
    return p


RUN_HELP = """examples:
  redraft eval translation --src wmt22/zhen.src --ref wmt22/zhen.ref --langs zh-en --model out/train/final -o out/ev
  redraft eval constrained --data constraints.zh-en.en.jsonl --langs zh-en --model hypo.zh-en.en.jsonl -o out/c
  redraft eval interactive --src zhen.src --ref zhen.ref --langs zh-en --limit 100 --model embedded -o out/i
  redraft eval bayling80 --data BayLing-80.multiturn.en.jsonl \\
      --baseline gpt-3.5-turbo/res.bayling-80.multiturn.en.jsonl --judge-model gpt-4o \\
      --model my-model --base-url http://127.0.0.1:8000/v1 -o out/b80
  redraft eval eval.yaml --model out/train/final -o out/ev      # several suites from a config
Re-running the same command computes only what is missing; --fresh starts over."""


def cmd_run(argv: list[str]) -> int:
    from .config import eval_config
    from .runner import run_eval

    options = vars(run_parser().parse_args(argv))
    output, fresh = options.pop("output"), options.pop("fresh")
    out = run_eval(eval_config(**options), output, fresh=fresh)  # the other options are eval_config's keywords
    for line in summary_lines(out):
        print(line)
    return 0


def summary_lines(out) -> list[str]:
    from .report import fmt, headline, load_results

    results = load_results(out)
    lines = [f"{out}: {results['model']['name']}"]
    for name, record in results["suites"].items():
        lines.append(f"  {name}: " + ", ".join(f"{k} {fmt(v, share)}" for k, v, share in headline(record))
                     + f" (n={record['metrics'].get('n')}, failed {record['metrics'].get('failed', 0)})")
    return lines


def cmd_compare(argv: list[str]) -> int:
    from .report import compare

    p = argparse.ArgumentParser(prog="redraft eval compare", description=(
        "The headline scores of several `redraft eval` output folders side by side."))
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("-o", "--output", help="also write compare.md and compare.png into this folder")
    a = p.parse_args(argv)
    for line in compare(a.dirs, a.output):
        print(line)
    return 0


COMMANDS = {"score": cmd_score, "reviews": cmd_reviews, "compare": cmd_compare}


def main(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if not argv:
        run_parser().print_usage()
        print(__doc__.split("\n\n")[1])
        return 2
    return cmd_run(argv)
