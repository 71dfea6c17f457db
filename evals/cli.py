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

SUBCOMMANDS = ("score", "reviews", "compare")


def add_parser(sub) -> None:
    """`eval` under redraft's subcommands: every word after it is handed to `main` unparsed."""
    p = sub.add_parser("eval", add_help=False, prefix_chars="\0",
                       help="evaluate: score hypothesis files, run suites against a model, compare runs "
                            "(redraft eval -h)")
    p.add_argument("args", nargs=argparse.REMAINDER)


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


COMMANDS = {"score": cmd_score, "reviews": cmd_reviews}


def main(argv: list[str]) -> int:
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1])
        return 0 if argv else 2
    from redraft.errors import UsageError

    raise UsageError(f"unknown eval command {argv[0]!r}; one of {', '.join(COMMANDS)}")
