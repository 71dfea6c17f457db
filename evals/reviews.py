"""Pairwise reviews in BayLing's format ("Score of the Assistant 1: X / Score of the Assistant 2: Y") and what they
add up to: the score ratio of a system to a baseline (BayLing's "89% of GPT-3.5-turbo"), win/tie/loss, per category.

`read_bayling_reviews` reads the GPT-4 reviews BayLing released (system1 is the system, system2 the baseline);
judge.py asks a judge for reviews in the same format, in both orders.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from redraft.errors import InputError

from .segments import read_jsonl

# "Score of the Assistant 1: 8", "Score of Assistant 2: 9.5", "score of assistant 1：7/10"; the last of each wins
SCORE = re.compile(r"score\s+of\s+(?:the\s+)?assistant\s*([12])\s*[:：]\s*\**\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_review(text: str) -> tuple[float, float] | None:
    """The two scores a review gives (Assistant 1's, Assistant 2's), or None when it does not give both."""
    found = {}
    for m in SCORE.finditer(text or ""):
        found[m.group(1)] = float(m.group(2))
    return (found["1"], found["2"]) if len(found) == 2 else None


@dataclass
class Judged:
    """One question as judged: the system's and the baseline's score (averaged over the orders judged)."""
    question_id: int | str
    category: str
    system: float
    baseline: float

    @property
    def outcome(self) -> str:
        return "win" if self.system > self.baseline else "loss" if self.system < self.baseline else "tie"


def _tally(items: list[Judged]) -> dict:
    n = len(items)
    system, baseline = sum(j.system for j in items), sum(j.baseline for j in items)
    counts = {k: sum(j.outcome == k for j in items) for k in ("win", "tie", "loss")}
    return {"n": n, "ratio": system / baseline if baseline else None, "system_score": system / n if n else None,
            "baseline_score": baseline / n if n else None, **counts,
            "win_rate": counts["win"] / n if n else None, "not_worse_rate": (n - counts["loss"]) / n if n else None}


def summarize(items: list[Judged]) -> dict:
    """The ratio of the summed scores (system over baseline), win/tie/loss and their shares, overall and per
    category."""
    by_category = defaultdict(list)
    for j in items:
        by_category[j.category].append(j)
    return {**_tally(items), "categories": {c: _tally(v) for c, v in sorted(by_category.items())}}


def read_bayling_reviews(path) -> list[Judged]:
    """BayLing's released reviews: one JSON object a line with `question_id`, `category` and `review` (a list whose
    first item is the judge's text). Scores are read from the text, not from the file's own `score` field."""
    out = []
    for n, row in read_jsonl(path):
        review = row.get("review")
        text = review[0] if isinstance(review, list) and review else review
        scores = parse_review(text) if isinstance(text, str) else None
        if scores is None:
            raise InputError(str(path), n, "no \"Score of the Assistant 1: X ... Score of the Assistant 2: Y\" in "
                                           "the review")
        out.append(Judged(row.get("question_id", n), str(row.get("category") or "none"), *scores))
    return out
