"""`JudgeDialogues`: an LLM judge scores every assistant turn of a dialogue 1-5 for adequacy, fluency and
instruction following, and the verdict goes into the row's `judge` column; with `judge.min_score` the dialogues
scored below it are dropped (reason `judge_low_score`).

The judge is a teacher as synth/ makes them, behind the same request layer (retries, rate limits) and the same
content-addressed response cache in `OUT/.redraft/`, so a re-run pays for no verdict twice. Dialogues are judged
concurrently over a sliding window, like `SynthesizeDialogues`, and come out in input order.

A dialogue's score is its weakest turn's mean over the three criteria. A reply that is not the JSON verdict asked
for gets a follow-up asking for the JSON only (`judge.retries` times); after that, when the request itself fails for
good, or once `judge.max_cost`/`max_tokens` is spent, the dialogue is kept with a null score and the rationale says
why (a re-run with a larger budget judges the rest, the verdicts so far from the cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from redraft.errors import UsageError
from redraft.filters.config import JudgeConfig
from redraft.filters.dialogue_filters import UNKNOWN_LANGS, answers, turns
from redraft.synth.budget import Budget
from redraft.synth.cache import ResponseCache
from redraft.synth.calls import TeacherCalls
from redraft.synth.config import TeacherConfig
from redraft.synth.dialogue import request_seed
from redraft.synth.engine import CACHE_FOLDER, FAILING_SHARE
from redraft.synth.errors import BudgetExhausted, TeacherError, TeacherUnavailable
from redraft.synth.loop import LoopThread
from redraft.synth.languages import language_name
from redraft.synth.openai_teacher import resolve_api_key
from redraft.synth.progress import Progress
from redraft.synth.teacher import make_teacher
from redraft.types import reject

LOW_SCORE = "judge_low_score"
CRITERIA = ("adequacy", "fluency", "instruction_following")
FAIL_FAST_AFTER = 16  # this many failed requests, and most of the finished ones, stop the run: the judge is down
MAX_RATIONALE_CHARS = 300

SYSTEM = """You rate translation dialogues. A user asks an assistant for a translation, then for revisions of it.
Rate every assistant turn from 1 (bad) to 5 (excellent) on:
- adequacy: the meaning of the source is conveyed, as far as the request wants it;
- fluency: natural, grammatical text in the language asked for;
- instruction_following: the turn does what its request asked, without talk around the answer.
Reply with one JSON object and nothing else:
{"turns": [{"adequacy": 1-5, "fluency": 1-5, "instruction_following": 1-5}, ...], "rationale": "one short sentence"}
with one entry in "turns" per assistant turn, in order; the rationale names the weakest turn's main problem."""
RETRY = ('That is not the JSON object asked for ({problem}). Reply with the JSON object only, with {n} entries in '
         '"turns".')


def resolve_judge(judge: JudgeConfig | None, recipe=None) -> JudgeConfig | None:
    """The judge to run, its teacher named by the recipe resolved to a config (asked at temperature 0), or None.
    Fails before any work when the judge's API key is missing."""
    if judge is None or not judge.enabled:
        return None
    teacher = judge.teacher
    if not isinstance(teacher, TeacherConfig):
        named = getattr(recipe, teacher, None) if recipe is not None else None
        if named is None:
            raise UsageError(f"judge.teacher: {teacher!r} names a recipe teacher, and there is "
                             f"{'no recipe' if recipe is None else 'none'}; give a teacher config instead")
        teacher = named.model_copy(update={"temperature": 0.0})
    if teacher.provider == "openai":
        resolve_api_key(teacher)
    return judge.model_copy(update={"teacher": teacher})


def _language(code: str | None) -> str:
    return "unknown" if (code or "") in UNKNOWN_LANGS else language_name(code, "en")


def judge_messages(doc: Document) -> list[dict]:
    """The judge's request: the instructions, then the pair and the dialogue with numbered assistant turns."""
    m = doc.metadata
    lines = [f"Source ({_language(m.get('src_lang'))}): {doc.text}"]
    if m.get("reference_text"):
        lines.append(f"Reference translation ({_language(m.get('tgt_lang'))}): {m['reference_text']}")
    lines.append(f"\nDialogue ({len(answers(doc))} assistant turns):")
    n = 0
    for t in turns(doc):
        n += t.get("role") == "assistant"
        label = f"assistant turn {n}" if t.get("role") == "assistant" else t.get("role")
        lines.append(f"[{label}] {t.get('content') or ''}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def _score(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if 1 <= x <= 5 else None


def _criteria(turn) -> dict | None:
    if not isinstance(turn, dict):  # a bare number rates the whole turn
        return dict.fromkeys(CRITERIA, _score(turn)) if _score(turn) is not None else None
    named = {str(k).lower().replace(" ", "_").replace("-", "_"): v for k, v in turn.items()}
    if "instruction_following" not in named:
        named["instruction_following"] = next((v for k, v in named.items() if k.startswith("instruction")), None)
    scores = {c: _score(named.get(c)) for c in CRITERIA}
    return None if None in scores.values() else scores


def parse_verdict(text: str, n_turns: int) -> dict | str:
    """The verdict in a judge's reply (`{score, turns, rationale}`), or what is wrong with the reply. Tolerates prose
    and code fences around the JSON object, numbers as strings, and a bare number per turn."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return "no JSON object"
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        return "not valid JSON"
    found = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(found, list) or len(found) != n_turns:
        return f'"turns" must list {n_turns} assistant turns'
    scored = [_criteria(t) for t in found]
    if None in scored:
        return f"every turn needs {', '.join(CRITERIA)} from 1 to 5"
    rationale = data.get("rationale")
    return {"score": round(min(sum(t.values()) / len(CRITERIA) for t in scored), 4), "turns": scored,
            "rationale": str(rationale)[:MAX_RATIONALE_CHARS] if rationale is not None else None}


async def judge_dialogue(calls: TeacherCalls, doc: Document, retries: int) -> tuple[dict, str | None]:
    """The judge's verdict on one dialogue (score None, and the rationale says why, when there is no usable one), and
    the reason its request failed, if it did."""
    n = len(answers(doc))
    if n == 0:
        return unscored("no assistant turn"), None
    request = messages = judge_messages(doc)
    for attempt in range(retries + 1):
        try:
            reply = await calls.complete(messages, seed=request_seed(0, doc.id, attempt, "judge"))
        except TeacherUnavailable:
            raise
        except TeacherError as e:
            return unscored(e.reason), e.reason
        verdict = parse_verdict(reply.text, n)
        if isinstance(verdict, dict):
            return verdict, None
        messages = request + [{"role": "assistant", "content": reply.text},
                              {"role": "user", "content": RETRY.format(problem=verdict, n=n)}]
    return unscored(verdict), None


def unscored(why: str) -> dict:
    return {"score": None, "turns": [], "rationale": f"unscored: {why}"}


class JudgeDialogues(PipelineStep):
    """Scores each dialogue with `judge.teacher` (a `TeacherConfig`: see `resolve_judge`) into `metadata["judge"]`
    and drops those below `judge.min_score`. Holds only configs: teachers and the event loop are made in `run`."""

    name = "⚖️ LLM judge"
    type = "🔻 - FILTER"

    def __init__(self, judge: JudgeConfig, state_dir: str, exclusion_writer=None, workers: int = 1):
        super().__init__()
        if not isinstance(judge.teacher, TeacherConfig):
            raise ValueError("JudgeDialogues needs a judge with a teacher config (see resolve_judge)")
        self.judge, self.state_dir, self.exclusion_writer = judge, str(state_dir), exclusion_writer
        self.workers = workers  # processes running the step at once: they share the teacher's limits

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        at_once = min(world_size, self.workers)
        config = self.judge.teacher.share(at_once)
        in_flight = 4 * (config.batch_size if config.provider == "embedded" else config.max_concurrency)
        cache = ResponseCache(Path(self.state_dir) / CACHE_FOLDER, f"judge-{rank:05d}")
        budget = Budget(self.judge.max_cost, self.judge.max_tokens, tasks=world_size)
        calls = TeacherCalls("judge", config, make_teacher(config), cache, budget)
        self.progress = Progress(None, budget, f"judge {rank}" if world_size > 1 else "judge", position=rank % at_once)
        loop = LoopThread("redraft-judge")
        self.finished = self.failed = 0
        window: deque = deque()
        try:
            with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as rejected:
                for doc in data:
                    future = loop.submit(judge_dialogue(calls, doc, self.judge.retries))
                    window.append((doc, future))
                    while window and (len(window) >= in_flight or window[0][1].done()):
                        yield from self._finish(*window.popleft(), calls, rejected, rank)
                while window:
                    yield from self._finish(*window.popleft(), calls, rejected, rank)
        finally:
            async def shutdown():  # after an error: the verdicts still in flight are not waited for
                pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                await calls.teacher.close()

            loop.close(shutdown)
            cache.close()
            self.progress.close()
            self._record_usage(calls.budget)

    def _finish(self, doc: Document, future, calls: TeacherCalls, rejected, rank: int):
        verdict, error = future.result()
        self.finished += 1
        self.progress.item_done(verdict["score"] is not None)
        if error and error != BudgetExhausted.REASON:
            self.failed += 1
            if self.failed >= FAIL_FAST_AFTER and self.failed >= FAILING_SHARE * self.finished:
                t = self.judge.teacher
                raise TeacherUnavailable(
                    f"judge {t.model!r} at {t.base_url or 'api.openai.com'}: {self.failed} of {self.finished} "
                    f"requests failed; last: {error}. Completed verdicts are cached, so re-running resumes")
        doc.metadata["judge"] = {**verdict, "model": calls.model}
        score = verdict["score"]
        self.stat_update("judged" if score is not None else f"unscored_{error or 'no_verdict'}")
        if self.judge.min_score is not None and score is not None and score < self.judge.min_score:
            self.stat_update("dropped", f"dropped_{LOW_SCORE}")
            if rejected is not None:
                rejected.write(reject(doc, "dropped", LOW_SCORE), rank)
            return
        self.stat_update("forwarded")
        yield doc

    def _record_usage(self, budget: Budget) -> None:
        usage = budget.by_teacher["judge"]
        self.stat_update("judge_requests", value=usage.requests, unit="run")
        self.stat_update("judge_cached_requests", value=usage.cached, unit="run")
        self.stat_update("judge_prompt_tokens", value=usage.prompt_tokens, unit="run")
        self.stat_update("judge_completion_tokens", value=usage.completion_tokens, unit="run")
        if usage.cost:
            self.stat_update("judge_cost_microusd", value=round(usage.cost * 1e6), unit="run")
        logger.info(f"judge: {self.finished} dialogues, {self.failed} requests failed, {usage.requests} calls "
                    f"({usage.cached} cached), cost ${usage.cost:.4f}")
        if budget.exhausted():
            logger.warning(f"judge: budget exhausted ({budget.exhausted()}), later dialogues are unscored; raise "
                           f"judge.max_cost / judge.max_tokens and re-run to judge them")
