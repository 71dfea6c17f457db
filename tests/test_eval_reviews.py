"""The review parser reads BayLing's released GPT-4 reviews of BayLing-13B against GPT-3.5-turbo and adds them up to
the published ratio: "BayLing achieves 89% of the performance of GPT-3.5-turbo" on BayLing-80 (Zhang et al., 2023,
arXiv:2306.10968, abstract)."""

from __future__ import annotations

import json

from redraft.evals.reviews import Judged, parse_review, read_bayling_reviews, summarize

PUBLISHED_PERCENT = 89


def review_files(shared_data):
    files = sorted((shared_data / "bayling_outputs/bayling80/gpt4-review").glob("*.jsonl"))
    assert len(files) == 4  # single- and multi-turn, English and Chinese
    return files


def test_parsed_scores_are_the_released_ones(shared_data):
    for f in review_files(shared_data):
        rows = [json.loads(line) for line in f.open(encoding="utf-8")]
        judged = read_bayling_reviews(f)
        assert [(j.system, j.baseline) for j in judged] == [tuple(r["score"]) for r in rows]
        assert [j.outcome.upper() for j in judged] == [r["result"] for r in rows]
        assert [j.category for j in judged] == [r["category"] for r in rows]


def test_released_reviews_give_the_published_ratio(shared_data):
    judged = [j for f in review_files(shared_data) for j in read_bayling_reviews(f)]
    s = summarize(judged)
    assert s["n"] == 320
    assert round(100 * s["ratio"]) == PUBLISHED_PERCENT
    assert s["win"] + s["tie"] + s["loss"] == 320
    assert sum(c["n"] for c in s["categories"].values()) == 320
    assert sum(c["win"] for c in s["categories"].values()) == s["win"]


def test_parse_review_variants():
    assert parse_review("Evaluation evidence: ...\n\nScore of the Assistant 1: 8\nScore of the Assistant 2: 9.5") \
        == (8.0, 9.5)
    assert parse_review("score of assistant 2： 7/10 and Score of Assistant 1: **6**") == (6.0, 7.0)
    assert parse_review("Score of the Assistant 1: 8") is None
    assert parse_review("The first is better.") is None


def test_summary_per_category():
    s = summarize([Judged(1, "a", 8, 4), Judged(2, "a", 5, 5), Judged(3, "b", 2, 6)])
    assert s["ratio"] == 15 / 15 and (s["win"], s["tie"], s["loss"]) == (1, 1, 1)
    assert s["categories"]["a"]["ratio"] == 13 / 9 and s["categories"]["b"]["loss"] == 1


def test_cli_reviews(shared_data, capsys, tmp_path):
    from redraft.cli import main

    assert main(["eval", "reviews", *map(str, review_files(shared_data)), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert round(100 * json.loads(out[-1])["ratio"]) == PUBLISHED_PERCENT
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"review": ["Score of the Assistant 1: 8\\nScore of the Assistant 2: 7"]}\n{"review": ["meh"]}\n')
    assert main(["eval", "reviews", str(bad)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
