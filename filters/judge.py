"""`JudgeDialogues`: an LLM judge scores every assistant turn of a dialogue 1-5 for adequacy, fluency and
instruction following, and the verdict goes into the row's `judge` column; with `judge.min_score` the dialogues
scored below it are dropped (reason `judge_low_score`).

`JudgeDialogues` is a `TeacherStep` (synth/teacher_step.py), like `SynthesizeDialogues`: the judge is a teacher behind
synth's request layer (retries, rate limits) and content-addressed response cache in `OUT/.redraft/`, so a re-run
pays for no verdict twice; dialogues are judged concurrently over a sliding window and come out in input order; most
requests failing (`synth.config.FAIL_FAST_AFTER` of them at least) stops the run.

A dialogue's score is its weakest turn's mean over the three criteria. A reply that is not the JSON verdict asked
for gets a follow-up asking for the JSON only (`judge.retries` times); after that, when the request itself fails for
good, or once `judge.max_cost`/`max_tokens` is spent, the dialogue is kept with a null score and the rationale says
why (a re-run with a larger budget judges the rest, the verdicts so far from the cache).
"""

from __future__ import annotations

import json

from datatrove.data import Document
from datatrove.utils.logging import logger

from redraft.errors import UsageError
from redraft.filters.config import JudgeConfig
from redraft.filters.dialogue_filters import UNKNOWN_LANGS, answers, turns
from redraft.synth.calls import TeacherCalls, cost_text, request_seed
from redraft.synth.config import TeacherConfig
from redraft.synth.errors import TeacherError, TeacherUnavailable
from redraft.synth.languages import language_name
from redraft.synth.openai_teacher import resolve_api_key
from redraft.synth.teacher_step import FailFast, TeacherSession, TeacherStep
from redraft.types import POSITION

LOW_SCORE = "judge_low_score"
CRITERIA = ("adequacy", "fluency", "instruction_following")
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


async def judge_dialogue(calls: TeacherCalls, doc: Document, retries: int) -> dict:
    """The judge's verdict on one dialogue (score None, and the rationale says why, when its replies hold no usable
    one). Raises TeacherError when the request fails for good."""
    n = len(answers(doc))
    if n == 0:
        return unscored("no assistant turn")
    request = messages = judge_messages(doc)
    for attempt in range(retries + 1):
        reply = await calls.complete(messages, seed=request_seed(0, doc.id, attempt, "judge"),
                                     position=doc.metadata.get(POSITION))
        verdict = parse_verdict(reply.text, n)
        if isinstance(verdict, dict):
            return verdict
        messages = request + [{"role": "assistant", "content": reply.text},
                              {"role": "user", "content": RETRY.format(problem=verdict, n=n)}]
    return unscored(verdict)


def unscored(why: str) -> dict:
    return {"score": None, "turns": [], "rationale": f"unscored: {why}"}


class JudgeDialogues(TeacherStep):
    """Scores each dialogue with `judge.teacher` (a `TeacherConfig`: see `resolve_judge`) into `metadata["judge"]`
    and drops those below `judge.min_score`. A `TeacherStep` (synth/teacher_step.py): holds only configs."""

    name = "⚖️ LLM judge"
    type = "🔻 - FILTER"
    label, cache_file = "judge", "judge"

    def __init__(self, judge: JudgeConfig, state_dir: str, exclusion_writer=None, workers: int = 1, wait: bool = True):
        if not isinstance(judge.teacher, TeacherConfig):
            raise ValueError("JudgeDialogues needs a judge with a teacher config (see resolve_judge)")
        super().__init__({"judge": judge.teacher}, state_dir, max_cost=judge.max_cost, max_tokens=judge.max_tokens,
                         workers=workers, exclusion_writer=exclusion_writer, wait=wait)
        self.judge = judge
        self.calls_per_item = 1 + judge.retries

    async def ask(self, doc: Document, calls: dict[str, TeacherCalls]) -> dict:
        return await judge_dialogue(calls["judge"], doc, self.judge.retries)

    def succeeded(self, outcome) -> bool:
        return not isinstance(outcome, TeacherError) and outcome["score"] is not None

    def answer(self, doc: Document, outcome: dict | TeacherError, session: TeacherSession):
        error = outcome.reason if isinstance(outcome, TeacherError) else None
        verdict = unscored(error) if error else outcome
        doc.metadata["judge"] = {**verdict, "model": session.calls["judge"].model}
        score = verdict["score"]
        self.stat_update("judged" if score is not None else f"unscored_{error or 'no_verdict'}")
        if self.judge.min_score is not None and score is not None and score < self.judge.min_score:
            session.reject(doc, "dropped", LOW_SCORE)
            return
        self.stat_update("forwarded")
        yield doc

    def unavailable(self, failing: FailFast, last: TeacherError) -> TeacherUnavailable:
        t = self.judge.teacher
        return TeacherUnavailable(
            f"judge {t.model!r} at {t.where}: {failing.failed} of {failing.finished} "
            f"requests failed; last: {last.reason}. Completed verdicts are cached, so re-running resumes")

    def summarize(self, session: TeacherSession) -> None:
        usage, budget = session.budget.by_teacher["judge"], session.budget
        logger.info(f"judge: {session.failing.finished} dialogues, {session.failing.failed} requests failed, "
                    f"{usage.requests} calls ({usage.cached} cached), cost {cost_text(usage)}")
        if budget.exhausted():
            logger.warning(f"judge: budget exhausted ({budget.exhausted()}), later dialogues are unscored; raise "
                           f"judge.max_cost / judge.max_tokens and re-run to judge them")
