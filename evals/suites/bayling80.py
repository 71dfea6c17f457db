"""`bayling80`: BayLing-80's instructions (one or two turns each); the model answers every turn with the history,
and an LLM judge compares its answers with a baseline's (a file, such as BayLing's released GPT-3.5-turbo answers)
in both orders (pairwise_judge.py). Reported as BayLing reports it, the ratio of summed scores (system over baseline), with
win/tie/loss, per category, and the ratio each order alone gives (their gap is the judge's position bias)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from redraft.errors import InputError
from redraft.synth.cache import ResponseCache
from redraft.synth.calls import Budget, TeacherCalls, request_seed
from redraft.synth.config import TeacherConfig
from redraft.synth.errors import TeacherError
from redraft.synth.openai_teacher import resolve_api_key
from redraft.synth.teacher import make_teacher

from ..generate import run_all
from ..pairwise_judge import judge_both_orders
from ..reviews import Judged, summarize
from ..segments import read_jsonl
from . import SuiteResult, generation


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: Literal["bayling80"] = "bayling80"
    name: str | None = None
    questions: str  # JSONL: {question_id, text: str or [turn, ...], category} a line (BayLing-80's files)
    baseline: str | None = None  # JSONL of the baseline's answers: {question_id, response: [answer per turn]}
    baseline_name: str | None = None  # default: the baseline file's folder name (BayLing's layout: <model>/res...)
    judge: TeacherConfig | None = None  # temperature 0 and 1024 tokens unless given
    both_orders: bool = True
    limit: int | None = Field(None, ge=1)
    system_prompt: str | None = None


def data_files(config: Config) -> list[str]:
    return [p for p in (config.questions, config.baseline) if p]


def turns_of(value) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(t, str) for t in value):
        return value
    return None


def read_questions(path) -> list[dict]:
    out = []
    for n, row in read_jsonl(path):
        turns = turns_of(row.get("text"))
        if turns is None:
            raise InputError(str(path), n, '"text" must be a string or a list of strings (one per turn)')
        out.append({"id": row.get("question_id", n), "turns": turns, "category": str(row.get("category") or "none")})
    return out


def read_baseline(path, questions: list[dict]) -> dict:
    answers = {}
    for n, row in read_jsonl(path):
        turns = turns_of(row.get("response"))
        if turns is None:
            raise InputError(str(path), n, '"response" must be a string or a list of strings (one per turn)')
        answers[str(row.get("question_id", n))] = (n, turns)
    out = {}
    for q in questions:
        if str(q["id"]) not in answers:
            raise InputError(str(path), None, f"no answer to question_id {q['id']}")
        n, turns = answers[str(q["id"])]
        if len(turns) < len(q["turns"]):
            raise InputError(str(path), n, f"{len(turns)} answers for the {len(q['turns'])} turns of question "
                                           f"{q['id']}")
        out[str(q["id"])] = turns[:len(q["turns"])]
    return out


def judge_teacher(config: TeacherConfig) -> TeacherConfig:
    update = {k: v for k, v in (("temperature", 0.0), ("max_tokens", 1024)) if k not in config.model_fields_set}
    config = config.model_copy(update=update)
    if config.provider == "openai":
        resolve_api_key(config)
    return config


async def answer_turns(model, question: dict, row: int, system: list[dict]) -> list[tuple[list[dict], str]]:
    history, out = list(system), []
    for t, text in enumerate(question["turns"]):
        history.append({"role": "user", "content": text})
        reply = await model.complete(list(history), seed=request_seed(0, f"bayling80:{question['id']}", t, "eval"),
                                     row=row, turn=t)
        out.append((list(history), reply.text))
        history.append({"role": "assistant", "content": reply.text})
    return out


def run(config: Config, model, env) -> SuiteResult:
    questions = read_questions(config.questions)
    model.expect([q["id"] for q in questions], config.questions)
    questions = questions[:config.limit]
    baseline = read_baseline(config.baseline, questions) if config.baseline else None
    system = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    answered = run_all(env.loop, [answer_turns(model, q, i, system) for i, q in enumerate(questions)], config.name,
                       model.budget)
    rows = []
    for i, (q, a) in enumerate(zip(questions, answered)):
        if isinstance(a, TeacherError):
            rows.append(generation(config.name, i, 0, q["category"], [], None, id=str(q["id"]), error=a.reason))
            continue
        for t, (messages, answer) in enumerate(a):
            rows.append(generation(config.name, i, t, q["category"], messages, answer, id=str(q["id"]),
                                   reference=baseline[str(q["id"])][t] if baseline else None))
    metrics = {"n": len(questions), "failed": sum(isinstance(a, TeacherError) for a in answered),
               "turns": sum(len(q["turns"]) for q in questions)}
    if baseline is None or config.judge is None:
        return SuiteResult(metrics, rows)

    teacher = judge_teacher(config.judge)
    calls = TeacherCalls("judge", teacher, make_teacher(teacher), ResponseCache(env.state_dir / "cache", "judge"),
                         Budget())
    todo = [(i, q, a) for i, (q, a) in enumerate(zip(questions, answered)) if not isinstance(a, TeacherError)]
    try:
        verdicts = run_all(env.loop, [
            judge_both_orders(calls, f"{config.name}:{q['id']}", q["turns"], [x for _, x in a], baseline[str(q["id"])],
                              config.both_orders) for _, q, a in todo], f"{config.name} judge", calls.budget)
    finally:
        env.loop.submit(calls.teacher.close()).result()
        calls.cache.close()
    judged, first_only, second_only = [], [], []
    last_row = {r["row"]: r for r in rows}
    for (i, q, _), v in zip(todo, verdicts):
        last_row[i]["details"] = json.dumps(v, ensure_ascii=False)
        if v["system"] is None:
            continue
        judged.append(Judged(q["id"], q["category"], v["system"], v["baseline"]))
        for order, into in ((0, first_only), (1, second_only)):
            r = v["reviews"][order] if order < len(v["reviews"]) else None
            if r and r["scores"]:
                s, b = r["scores"] if order == 0 else r["scores"][::-1]
                into.append(Judged(q["id"], q["category"], s, b))
    summary = summarize(judged)
    metrics.update({
        "judge": teacher.model if teacher.provider == "openai" else "embedded",
        "baseline": config.baseline_name or Path(config.baseline).parent.name, "both_orders": config.both_orders,
        "judged": len(judged), "ratio": summary["ratio"], "win": summary["win"], "tie": summary["tie"],
        "loss": summary["loss"], "win_rate": summary["win_rate"], "not_worse_rate": summary["not_worse_rate"],
        "ratio_system_first": summarize(first_only)["ratio"] if first_only else None,
        "ratio_system_second": summarize(second_only)["ratio"] if second_only else None,
        "categories": summary["categories"]})
    table = {c: {"n": t["n"], "ratio": t["ratio"], "win": t["win"], "tie": t["tie"], "loss": t["loss"]}
             for c, t in summary["categories"].items()}
    return SuiteResult(metrics, rows, {"per category": table})
