"""The LLM judge (filters/judge.py) against the project's fault server on loopback, answering judge requests with
verdicts derived from `SCORE=d` marks in the assistant turns (tests/synth_fault_server.py --judge)."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from redraft.cli import main
from redraft.errors import UsageError
from redraft.filters.config import JudgeConfig
from redraft.filters.judge import JudgeDialogues, parse_verdict, resolve_judge
from redraft.readers import ItemReader
from redraft.recipes.runner import curate, run_recipe
from redraft.recipes.schema import load_recipe
from redraft.synth.config import TeacherConfig
from redraft.synth.errors import TeacherUnavailable
from redraft.types import DIALOGUE_SCHEMA

from conftest import ZH_EN, write_dialogue_dir
from test_synth_faults import KEY_VAR, SECRET, fault_server, overrides, read_rows, server_stats

RETRIES = 2
CONCURRENCY = 4
# id -> the assistant turns; the server scores a turn d where it holds SCORE=d and 5 otherwise
DIALOGUES = {
    "good": ["The weather is nice today."],
    "good-2": ["I like reading books.", "I like books."],
    "three": ["This restaurant is famous. SCORE=3"],  # at the threshold: kept
    "four": ["Please close the window. SCORE=4"],
    "low": ["He goes to Beijing. SCORE=2"],
    "low-2nd": ["We study Chinese together.", "We study. SCORE=1"],  # the weakest turn decides
    "malformed": ["MALFORMED The house is old."],
    "poison": ["POISON The train arrives late."],  # every request for it gets a 500
}
EXPECTED = {"good": 5.0, "good-2": 5.0, "three": 3.0, "four": 4.0, "low": 2.0, "low-2nd": 1.0, "malformed": None,
            "poison": None}


def old_output(folder: Path, names=tuple(DIALOGUES)) -> Path:
    """A dialogue folder as written before the `judge` column existed."""
    rows = []
    for i, (name, answers) in enumerate((n, DIALOGUES[n]) for n in names):
        requests = [f"Translate into English: 第{i}句。"] + ["Shorter."] * (len(answers) - 1)
        messages = [{"role": role, "content": text} for pair in zip(requests, answers)
                    for role, text in zip(("user", "assistant"), pair)]
        rows.append({"id": name, "messages": messages, "src_lang": "zh", "tgt_lang": "en", "source_text": f"第{i}句。",
                     "reference_text": answers[0], "revisions": ["shorten"] * (len(answers) - 1),
                     "revision_args": ["{}"] * (len(answers) - 1), "teacher": "t",
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    old_schema = pa.schema([f for f in DIALOGUE_SCHEMA if f.name != "judge"])
    (folder / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=old_schema), folder / "data" / "00000.parquet")
    return folder


def judge(port: int, min_score: float | None) -> JudgeConfig:
    teacher = TeacherConfig(base_url=f"http://127.0.0.1:{port}/v1", model="judge-model", api_key_env=KEY_VAR,
                            max_concurrency=CONCURRENCY, max_retries=1, timeout=5, temperature=0)
    return JudgeConfig(teacher=teacher, min_score=min_score, retries=RETRIES)


def scores(out: Path) -> dict:
    return {r["id"]: r["judge"]["score"] for r in datasets.load_dataset(str(out), split="train")}


def test_parse_verdict():
    text = 'Sure!\n```json\n{"turns": [{"adequacy": 5, "fluency": "4", "Instruction Following": 5}, ' \
           '{"adequacy": 4, "fluency": 2, "instruction": 3}], "rationale": "turn 2 is clumsy"}\n```'
    v = parse_verdict(text, 2)
    assert v["score"] == 3.0 and v["rationale"] == "turn 2 is clumsy"
    assert v["turns"][0] == {"adequacy": 5.0, "fluency": 4.0, "instruction_following": 5.0}
    assert parse_verdict('{"turns": [4, 2.5]}', 2)["score"] == 2.5  # a bare number rates the whole turn
    assert parse_verdict('{"turns": [4]}', 2) == '"turns" must list 2 assistant turns'
    assert isinstance(parse_verdict('{"turns": [6, 4]}', 2), str)  # out of range
    assert isinstance(parse_verdict('{"turns": [true, 4]}', 2), str)
    assert parse_verdict("four out of five", 1) == "no JSON object"
    assert parse_verdict('{"turns": [4,', 1) == "no JSON object"
    assert parse_verdict('{"turns": [4,}', 1) == "not valid JSON"


def test_judge_scores_drops_low_records_and_reuses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src, out = old_output(tmp_path / "in"), tmp_path / "out"
    with fault_server("--judge", "--latency", "0.2") as port:
        curate(str(src / "data"), str(out), filters=[], judge=judge(port, min_score=3))
        first = server_stats(port)
        assert 1 < first["max_in_flight"] <= CONCURRENCY  # concurrent, within the teacher's limit
        # the malformed one is asked 1 + RETRIES times; the poisoned one fails (kept, unscored)
        assert first["counts"]["200"] == len(DIALOGUES) - 2 + 1 + RETRIES and first["counts"]["500"] >= 1

        stats = json.loads((out / "stats.json").read_text())
        assert stats == {"input": 8, "kept": 6, "dropped": {"judge_low_score": 2}, "failed": {}}
        kept = {k: v for k, v in EXPECTED.items() if k not in ("low", "low-2nd")}
        assert scores(out) == kept
        rows = {r["id"]: r for r in datasets.load_dataset(str(out), split="train")}
        assert rows["good-2"]["judge"]["model"] == "judge-model" and len(rows["good-2"]["judge"]["turns"]) == 2
        assert rows["malformed"]["judge"]["rationale"] == "unscored: no JSON object"
        assert rows["poison"]["judge"]["rationale"] == "unscored: server_error"
        rejected = pq.read_table(out / "rejected").to_pylist()
        assert {(r["id"], r["reason"], r["judge"]["score"]) for r in rejected} == {
            ("low", "judge_low_score", 2.0), ("low-2nd", "judge_low_score", 1.0)}

        # another threshold: a new curation, every verdict from the response cache
        curate(str(src / "data"), str(out), filters=[], judge=judge(port, min_score=4.5))
        again = server_stats(port)
        assert again["counts"]["200"] == first["counts"]["200"]
        assert again["counts"]["500"] > first["counts"]["500"]  # failed requests are not cached: asked again
    stats = json.loads((out / "stats.json").read_text())
    assert stats["dropped"] == {"judge_low_score": 4} and stats["kept"] == 4
    assert scores(out) == {k: v for k, v in EXPECTED.items() if v is None or v >= 4.5}


def test_workers_running_at_once_share_the_judges_concurrency(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src = old_output(tmp_path / "in", names=("good", "good-2", "three", "four", "low", "low-2nd"))
    docs = list(ItemReader(str(src / "data")).read())
    with fault_server("--judge", "--latency", "0.2") as port:
        step = JudgeDialogues(resolve_judge(judge(port, min_score=None)), str(tmp_path / "state"), workers=2)
        assert len(list(step.run(iter(docs), rank=0, world_size=2))) == len(docs)
        assert server_stats(port)["max_in_flight"] == CONCURRENCY // 2  # the other worker has the other half


def test_filter_command_with_a_recipe_judge_and_with_flags(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src = old_output(tmp_path / "in")
    with fault_server("--judge") as port:
        recipe = tmp_path / "judge.yaml"
        recipe.write_text(yaml.safe_dump({
            "name": "j", "source": {"path": "unused", "src_lang": "zh", "tgt_lang": "en"},
            "teacher": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "judge-model", "api_key_env": KEY_VAR,
                        "max_retries": 1, "temperature": 0.9},
            "filters": [], "judge": {"min_score": 3, "retries": 0}, "output": {"path": "unused"}}))
        out = tmp_path / "out"
        assert main(["filter", str(src), "-o", str(out), "--recipe", str(recipe)]) == 0
        stats = json.loads((out / "stats.json").read_text())
        assert stats["dropped"] == {"judge_low_score": 2} and stats["kept"] == 6
        assert yaml.safe_load((out / "recipe.yaml").read_text())["judge"]["teacher"]["temperature"] == 0.0
        assert main(["filter", str(src), "-o", str(out), "--recipe", str(recipe), "--set", "judge.enabled=false"]) == 0
        assert json.loads((out / "stats.json").read_text())["kept"] == 8
        judged = [r["judge"] for r in datasets.load_dataset(str(out), split="train")]
        assert judged == [None] * 8  # not judged: the column is there, empty

        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        flags = ["--judge-model", "judge-model", "--judge-url", f"http://127.0.0.1:{port}/v1"]
        unpoisoned = old_output(tmp_path / "in2", [n for n in DIALOGUES if n != "poison"])  # the client retries 500s 6x
        assert main(["filter", str(unpoisoned), "-o", str(tmp_path / "flags"), "--recipe", str(recipe), *flags,
                     "--judge-min-score", "4"]) == 0
        assert json.loads((tmp_path / "flags" / "stats.json").read_text())["dropped"] == {"judge_low_score": 3}
    assert main(["filter", str(src), "-o", str(tmp_path / "x"), *flags, "--judge-min-score", "7"]) == 2
    assert main(["filter", str(src), "-o", str(tmp_path / "x"), "--judge-min-score", "3"]) == 2
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("你好。\tHello.\n")
    assert main(["filter", str(pairs), "--langs", "zh-en", "-o", str(tmp_path / "x"), *flags]) == 2


def test_a_judge_that_keeps_failing_stops_before_anything_is_published(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src = write_dialogue_dir(tmp_path / "in", ZH_EN, "zh", "en", "x", repeat=3)
    config = judge(0, None)
    with fault_server("--status-all", "500") as port:
        teacher = config.teacher.model_copy(update={"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0})
        with pytest.raises(TeacherUnavailable, match=r"judge 'judge-model' at .* 16 of 16 requests failed"):
            curate(str(src), str(tmp_path / "out"), filters=[], judge=config.model_copy(update={"teacher": teacher}))
    assert not (tmp_path / "out" / "stats.json").exists()


def test_judge_budget_leaves_the_rest_unscored_and_a_larger_one_judges_them(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src = write_dialogue_dir(tmp_path / "in", ZH_EN, "zh", "en", "x", repeat=40 // len(ZH_EN) + 1)
    n = len(datasets.load_dataset(str(src), split="train"))

    def judged_with(port, max_cost):
        teacher = judge(port, None).teacher.model_copy(update={  # $0.001 a token: a verdict costs ~$0.3 here
            "price_per_million_prompt_tokens": 1000.0, "price_per_million_completion_tokens": 1000.0})
        out = tmp_path / "out"  # the response cache is in OUT/.redraft
        curate(str(src), str(out), filters=[], judge=JudgeConfig(teacher=teacher, max_cost=max_cost))
        return [r["judge"] for r in datasets.load_dataset(str(out), split="train")]

    with fault_server("--judge") as port:
        first = judged_with(port, 0.5)
        scored = [j for j in first if j["score"] is not None]
        # the calls in flight when the budget ran out still finish; the other dialogues are kept unscored, and so
        # many of them do not stop the run as a failing judge would
        assert 1 <= len(scored) <= 0.5 / 0.2 + CONCURRENCY and n - len(scored) >= 16 + 4 * len(scored)
        assert {j["rationale"] for j in first if j["score"] is None} == {"unscored: budget_exhausted"}
        paid = sum(server_stats(port)["served"].values())
        assert paid == len(scored)
        second = judged_with(port, 100.0)
        assert all(j["score"] == 5.0 for j in second) and len(second) == n
        served = server_stats(port)["served"]
        assert sum(served.values()) == n and set(served.values()) == {1}  # no verdict paid twice


def test_recipe_judge_section_is_validated():
    with pytest.raises(UsageError, match=r"--set judge\.min_score=9: judge\.min_score: .*less than or equal to 5"):
        load_recipe("bayling-zh-en", ["judge.min_score=9"])
    with pytest.raises(UsageError, match=r"judge\.teacher: 'user_teacher' is not set"):
        load_recipe("bayling-zh-en", ["judge.teacher=user_teacher"])
    with pytest.raises(UsageError, match=r"judge\.teacher\.max_concurrency"):
        load_recipe("bayling-zh-en", ["judge.teacher={model: m, max_concurrency: 0}"])
    assert load_recipe("bayling-zh-en").judge is None  # off by default


def test_run_recipe_with_a_judge_records_scores(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"我们第{i}次去北京。\tOur trip number {i} to Beijing.\n" for i in range(6)))
    with fault_server("--judge") as port:
        run_recipe("bayling-zh-en", overrides(port, pairs, "synth.turns=2", "judge.min_score=3"),
                   output=str(tmp_path / "out"))
        served = sum(server_stats(port)["served"].values())
    rows = read_rows(tmp_path / "out")
    assert len(rows) == 6 and served == 6 * 2 + 6  # two synthesis calls and one verdict per dialogue
    assert all(r["judge"]["score"] == 5.0 and len(r["judge"]["turns"]) == 2 and r["judge"]["model"] == "fault-model"
               for r in rows)


@pytest.mark.slow
def test_embedded_judge_scores_offline_or_says_why_not(tmp_path):
    """SmolLM2-135M as the judge: too small to be a good one, but every row gets a verdict or a reason, in batches."""
    from redraft.synth.embedded_model import MODEL_NAME

    src, out = old_output(tmp_path / "in", ["good-2", "low"]), tmp_path / "out"
    teacher = TeacherConfig(provider="embedded", max_tokens=48, batch_size=2)
    curate(str(src / "data"), str(out), filters=[], judge=JudgeConfig(teacher=teacher, retries=1))
    rows = datasets.load_dataset(str(out), split="train")
    assert len(rows) == 2
    for verdict in rows["judge"]:
        assert verdict["model"] == MODEL_NAME
        if verdict["score"] is None:
            assert verdict["rationale"].startswith("unscored: ")
        else:
            assert 1 <= verdict["score"] <= 5 and verdict["turns"]
