"""`SynthesizeDialogues`: the datatrove step that turns parallel pairs into interactive translation dialogues.

Items are synthesised concurrently over a sliding window (`synth.max_in_flight`) and yielded in input order. The
step itself holds only the recipe: teachers, the event loop and models are made inside `run`, so the pipeline can be
deep-copied and pickled.
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from redraft.synth.engine import SynthesisEngine
from redraft.synth.errors import TeacherError
from redraft.types import POSITION, dialogue_to_document, document_to_pair, reject


class SynthesizeDialogues(PipelineStep):
    name = "🗣 synthesize dialogues"
    type = "✍️ - SYNTH"

    def __init__(self, recipe, state_dir: str, rejected=None, expected_items: int | None = None):
        super().__init__()
        self.recipe, self.state_dir, self.rejected = recipe, str(state_dir), rejected
        self.expected_items = expected_items if expected_items is not None else recipe.source.limit

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        engine = SynthesisEngine(self.recipe, self.state_dir, rank, total_items=self.expected_items,
                                 world_size=world_size)
        window: deque = deque()
        try:
            with self.rejected if self.rejected else contextlib.nullcontext() as rejected:
                for doc in data:
                    window.append((doc, engine.submit(document_to_pair(doc))))
                    while window and (len(window) >= engine.max_in_flight or window[0][1].done()):
                        yield from self._finish(engine, *window.popleft(), rejected, rank)
                while window:
                    yield from self._finish(engine, *window.popleft(), rejected, rank)
        finally:
            engine.close()
            self._record_usage(engine)

    def _finish(self, engine: SynthesisEngine, doc, future, rejected, rank: int):
        outcome = engine.result(future)
        if isinstance(outcome, TeacherError):
            self.stat_update("failed", f"failed_{outcome.reason}")
            if rejected is not None:
                rejected.write(reject(doc, "failed", outcome.reason), rank)
            return
        self.stat_update("dialogues")
        out = dialogue_to_document(outcome)
        if POSITION in doc.metadata:
            out.metadata[POSITION] = doc.metadata[POSITION]
        yield out

    def _record_usage(self, engine: SynthesisEngine) -> None:
        for role, usage in engine.budget.by_teacher.items():
            prefix = "" if role == "assistant" else f"{role}_"
            self.stat_update(f"{prefix}requests", value=usage.requests, unit="run")
            self.stat_update(f"{prefix}cached_requests", value=usage.cached, unit="run")
            self.stat_update(f"{prefix}prompt_tokens", value=usage.prompt_tokens, unit="run")
            self.stat_update(f"{prefix}completion_tokens", value=usage.completion_tokens, unit="run")
            if usage.cost:
                self.stat_update(f"{prefix}cost_microusd", value=round(usage.cost * 1e6), unit="run")
        if engine.budget.exhausted():
            logger.warning(f"synth: budget exhausted ({engine.budget.exhausted()}); raise it and re-run to go on")
        s = engine.progress.summary()
        threads = Counter(n for calls in engine.calls.values() for n in getattr(calls.teacher, "thread_counts", []))
        threads_note = (", torch threads per batch " + ", ".join(f"{n}: {k}x" for n, k in sorted(threads.items()))
                        if threads else "")
        logger.info(f"synth: {s['items']} dialogues, {s['failed']} failed, {s['requests_per_s']:.1f} requests/s, "
                    f"{s['tokens_per_s']:.0f} tokens/s, cost ${s['cost']:.4f}{threads_note}")
