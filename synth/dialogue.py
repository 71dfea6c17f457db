"""One interactive translation dialogue: the user asks for a translation, the assistant teacher answers, then the
user asks for revisions turn by turn and the teacher revises with the whole history in view.

Everything random comes from `random.Random(f"{seed}:{item id}")`, and each call's `seed` is derived from the item
and the turn, so a dialogue depends on the recipe, the pair and the teachers' answers only: not on completion order,
worker count, or whether its answers came from the cache.
"""

from __future__ import annotations

import hashlib
import json
import random

from redraft.synth.calls import TeacherCalls
from redraft.synth.languages import THIRD_LANGUAGES, language_name, writing_language
from redraft.synth.requests import first_request
from redraft.synth.revisions import Context, draw_revision
from redraft.types import Dialogue, ParallelPair

REPHRASE = ("Rewrite this request as a short, natural message a user would send to a translator, in {lang}. "
            "Keep anything in quotes and any numbers exactly as they are. Reply with the message only.\n\n{request}")


def request_seed(recipe_seed: int, item_id: str, turn: int, role: str) -> int:
    digest = hashlib.blake2b(f"{recipe_seed}:{item_id}:{turn}:{role}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


async def synthesize_dialogue(pair: ParallelPair, *, seed: int, synth, mix: dict[str, float],
                              assistant: TeacherCalls, user: TeacherCalls | None = None) -> Dialogue:
    rng = random.Random(f"{seed}:{pair.id}")
    write_in = pair.src_lang if rng.random() < synth.request_in_source_language else pair.tgt_lang
    third = tuple(synth.third_languages) if synth.third_languages != "default" else THIRD_LANGUAGES
    messages = [{"role": "system", "content": synth.system_prompt}] if synth.system_prompt else []
    messages.append({"role": "user", "content": first_request(rng, pair.src_lang, pair.tgt_lang, pair.source_text,
                                                              write_in)})
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    revisions, revision_args = [], []

    async def ask(calls: TeacherCalls, convo: list[dict], turn: int) -> str:
        reply = await calls.complete(convo, seed=request_seed(seed, pair.id, turn, calls.role))
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
