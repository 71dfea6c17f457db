"""The bayling80 suite end to end against the project's fault-injecting OpenAI-compatible server: the model under test
and the judge are both served by it (tests/synth_fault_server.py --judge answers BayLing-format reviews, with a
position bias of one point for Assistant 1), through synth's request layer and response cache."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from redraft.errors import InputError
from redraft.evals.config import EvalConfig
from redraft.evals.runner import run_eval
from redraft.synth.config import TeacherConfig

from test_synth_faults import KEY_VAR, SECRET, fault_server, server_stats

N = 8


def baseline_file(shared_data, tmp_path):
    """BayLing's released GPT-3.5-turbo answers, with SCORE=8 marks in some (the fake judge's score for them) and
    MALFORMED in one (the judge never gives scores for that question)."""
    src = shared_data / "bayling_outputs/bayling80/gpt-3.5-turbo/res.bayling-80.multiturn.en.jsonl"
    rows = [json.loads(line) for line in src.open(encoding="utf-8")]
    for i, row in enumerate(rows[:N]):
        if i % 3 == 0:
            row["response"][-1] += " SCORE=8"
    rows[5]["response"][0] = "MALFORMED " + rows[5]["response"][0]
    path = tmp_path / "gpt-3.5-turbo" / "res.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, rows[:N]


def config(shared_data, port, baseline, both_orders=True):
    url = f"http://127.0.0.1:{port}/v1"
    return EvalConfig.model_validate({
        "model": {"model": "fault-model", "base_url": url, "api_key_env": KEY_VAR, "max_concurrency": 4,
                  "timeout": 2},
        "suites": [{"suite": "bayling80", "questions": str(shared_data / "bayling80/BayLing-80.multiturn.en.jsonl"),
                    "baseline": str(baseline), "limit": N, "both_orders": both_orders,
                    "judge": TeacherConfig(model="fault-judge", base_url=url, api_key_env=KEY_VAR,
                                           max_concurrency=4, timeout=2)}]}).named()


def test_bayling80_judged_in_both_orders_through_faults(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    baseline, rows = baseline_file(shared_data, tmp_path)
    with fault_server("--faults", "0.4", "--judge", "--slow-seconds", "0.5") as port:
        out = run_eval(config(shared_data, port, baseline), tmp_path / "out")
        stats = server_stats(port)
        assert sum(stats["counts"].get(k, 0) for k in ("429", "500", "slow", "truncated", "drop")) > 0
        assert max(stats["served"].values()) == 1  # no answer was paid for twice

        m = json.loads((out / "results.json").read_text())["suites"]["bayling80"]["metrics"]
        # the model scores 6 everywhere, the baseline 8 where marked; Assistant 1 always gets one point more, which
        # both orders cancel: each side's mean over the orders is its own score + 0.5
        judged = [r for i, r in enumerate(rows) if i != 5]
        base = [(8 if "SCORE=8" in r["response"][-1] else 6) for r in judged]
        assert m["judged"] == N - 1 and m["n"] == N and m["failed"] == 0
        assert m["ratio"] == pytest.approx(sum(6.5 for _ in judged) / sum(b + 0.5 for b in base))
        assert m["ratio_system_first"] == pytest.approx(7 * len(judged) / sum(base))
        assert m["ratio_system_second"] == pytest.approx(6 * len(judged) / sum(b + 1 for b in base))
        assert m["ratio_system_second"] < m["ratio"] < m["ratio_system_first"]
        assert (m["win"], m["tie"], m["loss"]) == (0, base.count(6), base.count(8))
        assert sum(c["n"] for c in m["categories"].values()) == N - 1

        gens = pq.read_table(out / "generations.parquet").to_pylist()
        assert len(gens) == 2 * N and all(g["answer"] for g in gens)  # two turns each
        second = [g for g in gens if g["turn"] == 1]
        assert all([t["role"] for t in g["messages"]] == ["user", "assistant", "user"] for g in second)
        reviews = {g["id"]: json.loads(g["details"]) for g in second}
        assert reviews["6"]["system"] is None and reviews["6"]["reviews"][0]["error"] == "no_scores"
        assert all(len(v["reviews"]) == 2 for v in reviews.values())

        # the finished suite is forgotten: the re-run asks the server nothing, every answer and review is cached
        for f in (out / ".redraft" / "suites").iterdir():
            f.unlink()
        before = server_stats(port)["requests"]
        again = run_eval(config(shared_data, port, baseline), tmp_path / "out")
        assert server_stats(port)["requests"] == before
        assert json.loads((again / "results.json").read_text())["suites"]["bayling80"]["metrics"] == m

        # BayLing's protocol: one order, the system first
        one = run_eval(config(shared_data, port, baseline, both_orders=False), tmp_path / "one")
        m1 = json.loads((one / "results.json").read_text())["suites"]["bayling80"]["metrics"]
        assert m1["ratio"] == pytest.approx(m["ratio_system_first"]) and m1["ratio_system_second"] is None


def test_baseline_must_answer_every_question(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    baseline, rows = baseline_file(shared_data, tmp_path)
    baseline.write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    with fault_server("--judge") as port:
        with pytest.raises(InputError, match="question_id 4"):
            run_eval(config(shared_data, port, baseline), tmp_path / "out")
    assert not (tmp_path / "out" / "results.json").exists()


def test_released_answers_as_the_model_under_test(shared_data, tmp_path, monkeypatch, capsys):
    """BayLing-13B's released answers (JSONL, a `response` list per question) stand for the model: each turn is
    looked up by question and turn, and judged against GPT-3.5-turbo's."""
    from redraft.cli import main

    monkeypatch.setenv(KEY_VAR, SECRET)
    d = shared_data / "bayling_outputs/bayling80"
    released = d / "bayling-13b/res.bayling-80.multiturn.zh.jsonl"
    with fault_server("--judge") as port:
        args = ["eval", "bayling80", "--data", str(shared_data / "bayling80/BayLing-80.multiturn.zh.jsonl"),
                "--baseline", str(d / "gpt-3.5-turbo/res.bayling-80.multiturn.zh.jsonl"), "--limit", "4",
                "--judge-model", "fault-judge", "--judge-url", f"http://127.0.0.1:{port}/v1", "--model", str(released),
                "-o", str(tmp_path / "out")]
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        assert main(args) == 0
    rows = [json.loads(line) for line in released.open(encoding="utf-8")][:4]
    gens = pq.read_table(tmp_path / "out" / "generations.parquet").to_pylist()
    assert [g["answer"] for g in gens] == [a for r in rows for a in r["response"]]
    m = json.loads((tmp_path / "out" / "results.json").read_text())["suites"]["bayling80"]["metrics"]
    assert m["judged"] == 4 and m["baseline"] == "gpt-3.5-turbo" and m["ratio"] == pytest.approx(1.0)
    assert "bayling80: ratio 100.0%" in capsys.readouterr().out

    # the released answers on a question file in another order: the ids do not match
    shuffled = tmp_path / "questions.jsonl"
    lines = (shared_data / "bayling80/BayLing-80.multiturn.zh.jsonl").read_text(encoding="utf-8").splitlines()
    shuffled.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    assert main(["eval", "bayling80", "--data", str(shuffled), "--model", str(released), "-o",
                 str(tmp_path / "bad")]) == 2
    assert f"{released}:1" in capsys.readouterr().err
