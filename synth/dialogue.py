"""Synthesis: `SynthesizeDialogues`, the datatrove step that turns each parallel pair into an interactive translation
dialogue, and `synthesize_dialogue`, one dialogue's turns: the user asks for a translation, the assistant teacher
answers, then the user asks for revisions turn by turn and the teacher revises with the whole history in view.

The step is a `TeacherStep` (synth/teacher_step.py: the window, the loop, the cache, the budget, fail-fast); it holds
only the recipe. Everything random comes from `random.Random(f"{seed}:{item id}")`, and each call's `seed` from the
item and the turn (`request_seed`), so a dialogue depends on the recipe, the pair and the teachers' answers only: not
on completion order, worker count, or whether its answers came from the cache.
"""

from __future__ import annotations

import json
import random
from collections import Counter

from datatrove.utils.logging import logger

from redraft.synth.calls import TeacherCalls, cost_text, request_seed
from redraft.synth.errors import TeacherError, TeacherUnavailable
from redraft.synth.languages import THIRD_LANGUAGES, language_name, writing_language
from redraft.synth.requests import first_request
from redraft.synth.revisions import Context, draw_revision, resolve_mix
from redraft.synth.teacher_step import FailFast, TeacherSession, TeacherStep
from redraft.types import POSITION, Dialogue, ParallelPair, dialogue_to_document, document_to_pair

REPHRASE = ("Rewrite this request as a short, natural message a user would send to a translator, in {lang}. "
            "Keep anything in quotes and any numbers exactly as they are. Reply with the message only.\n\n{request}")


async def synthesize_dialogue(pair: ParallelPair, *, seed: int, synth, mix: dict[str, float],
                              assistant: TeacherCalls, user: TeacherCalls | None = None,
                              position: int | None = None) -> Dialogue:
    """`position`: the pair's place in the input (`POSITION`), for the response cache."""
    rng = random.Random(f"{seed}:{pair.id}")
    write_in = pair.src_lang if rng.random() < synth.request_in_source_language else pair.tgt_lang
    third = tuple(synth.third_languages) if synth.third_languages != "default" else THIRD_LANGUAGES
    messages = [{"role": "system", "content": synth.system_prompt}] if synth.system_prompt else []
    messages.append({"role": "user", "content": first_request(rng, pair.src_lang, pair.tgt_lang, pair.source_text,
                                                              write_in)})
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    revisions, revision_args = [], []

    async def ask(calls: TeacherCalls, convo: list[dict], turn: int) -> str:
        reply = await calls.complete(convo, seed=request_seed(seed, pair.id, turn, calls.role), position=position)
        usage["prompt_tokens"] += reply.prompt_tokens
        usage["completion_tokens"] += reply.completion_tokens
        return reply.text

    for turn in range(synth.turns):
        if turn:
            ctx = Context(pair.src_lang, pair.tgt_lang, pair.source_text, pair.reference_text,
                          last_answer=messages[-1]["content"], write_in=write_in, third_languages=third)
            revision = draw_revision(rng, mix, ctx, final_turn=turn == synth.turns - 1)
            request = revision.request
            if user is not None:
                prompt = REPHRASE.format(lang=language_name(writing_language(write_in), "en"), request=request)
                phrased = (await ask(user, [{"role": "user", "content": prompt}], turn)).strip()
                request = phrased or request
            messages.append({"role": "user", "content": request})
            revisions.append(revision.kind)
            revision_args.append(json.dumps(revision.args, ensure_ascii=False, sort_keys=True))
        messages.append({"role": "assistant", "content": await ask(assistant, list(messages), turn)})
    return Dialogue(pair.id, messages, pair.src_lang, pair.tgt_lang, pair.source_text, pair.reference_text,
                    revisions, revision_args, assistant.model, usage)


class SynthesizeDialogues(TeacherStep):
    """Pairs in, dialogues out, in input order; a pair whose calls fail for good is rejected as `failed` with the
    reason. `rejected`: the writer of rejected pairs; `expected_items`: this task's pairs (a number, or a function of
    the task's rank), for the progress line."""

    name = "🗣 synthesize dialogues"
    type = "✍️ - SYNTH"
    label, cache_file = "synth", "responses"

    def __init__(self, recipe, state_dir: str, rejected=None, expected_items=None, wait: bool = True):
        s = recipe.synth
        teachers = {"assistant": recipe.teacher, **({"user": recipe.user_teacher} if recipe.user_teacher else {})}
        super().__init__(teachers, state_dir, max_cost=s.max_cost, max_tokens=s.max_tokens,
                         max_in_flight=s.max_in_flight, fail_fast_after=s.fail_fast_after,
                         expected_items=expected_items if expected_items is not None else recipe.source.limit,
                         workers=recipe.executor.workers, exclusion_writer=rejected, wait=wait)
        self.recipe, self.mix = recipe, resolve_mix(s.revisions)
        self.calls_per_item = s.turns + (s.turns - 1 if recipe.user_teacher else 0)

    async def ask(self, doc, calls: dict[str, TeacherCalls]) -> Dialogue:
        return await synthesize_dialogue(document_to_pair(doc), seed=self.recipe.seed, synth=self.recipe.synth,
                                         mix=self.mix, assistant=calls["assistant"], user=calls.get("user"),
                                         position=doc.metadata.get(POSITION))

    def answer(self, doc, outcome: Dialogue | TeacherError, session: TeacherSession):
        if isinstance(outcome, TeacherError):
            session.reject(doc, "failed", outcome.reason)
            return
        self.stat_update("dialogues")
        out = dialogue_to_document(outcome)
        if POSITION in doc.metadata:
            out.metadata[POSITION] = doc.metadata[POSITION]
        yield out

    def unavailable(self, failing: FailFast, last: TeacherError):
        t = self.recipe.teacher
        return TeacherUnavailable(
            f"teacher {t.model!r} at {t.where}: {failing.failed} of {failing.finished} items "
            f"failed ({dict(failing.failures)}); last error: {last}. Check teacher.base_url, teacher.model and the "
            f"server; completed calls are cached, so re-running resumes")

    def summarize(self, session: TeacherSession) -> None:
        if session.budget.exhausted():
            logger.warning(f"synth: budget exhausted ({session.budget.exhausted()}); raise it and re-run to go on")
        s = session.progress.summary()
        threads = Counter(n for calls in session.calls.values() for n in getattr(calls.teacher, "thread_counts", []))
        threads_note = (", torch threads per batch " + ", ".join(f"{n}: {k}x" for n, k in sorted(threads.items()))
                        if threads else "")
        rounds = session.rounds
        batch_note = f", {rounds.lines:,} lines in {rounds.rounds} batch rounds" if rounds else ""
        logger.info(f"synth: {s['items']} dialogues, {s['failed']} failed, {s['requests_per_s']:.1f} requests/s, "
                    f"{s['tokens_per_s']:.0f} tokens/s, cost {cost_text(session.budget.total)}{batch_note}"
                    f"{threads_note}")
