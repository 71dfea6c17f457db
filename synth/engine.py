"""The synthesis engine of one worker: an event loop on its own thread running many dialogues at once, with the
teachers, the response cache and the budget they share.

A dialogue whose calls fail for good comes back as its `TeacherError` (the item is rejected with that reason).
Errors that condemn the whole run (bad key, wrong URL or model, or most items failing) become `TeacherUnavailable`:
every dialogue still running is cancelled and the error is raised to the caller.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import Counter
from pathlib import Path

from redraft.synth.budget import Budget
from redraft.synth.cache import ResponseCache
from redraft.synth.calls import TeacherCalls
from redraft.synth.dialogue import synthesize_dialogue
from redraft.synth.errors import BudgetExhausted, TeacherError, TeacherUnavailable
from redraft.synth.loop import LoopThread
from redraft.synth.openai_teacher import resolve_api_key
from redraft.synth.progress import Progress
from redraft.synth.revisions import resolve_mix
from redraft.synth.teacher import make_teacher
from redraft.types import Dialogue, ParallelPair

CACHE_FOLDER = "synth-cache"
FAILING_SHARE = 0.8  # with at least `synth.fail_fast_after` failures, this share of failed items stops the run


class SynthesisEngine:
    def __init__(self, recipe, state_dir: str | Path, rank: int = 0, total_items: int | None = None,
                 world_size: int = 1):
        # this worker's share of the recipe's limits: `world_size` tasks split the budget, and the
        # `executor.workers` of them running at once split each teacher's concurrency and rate limits
        self.recipe, self.synth = recipe, recipe.synth
        self.mix = resolve_mix(self.synth.revisions)
        at_once = min(world_size, recipe.executor.workers)
        teachers = [("assistant", recipe.teacher.share(at_once))]
        if recipe.user_teacher:
            teachers.append(("user", recipe.user_teacher.share(at_once)))
        for _, config in teachers:
            if config.provider == "openai":
                resolve_api_key(config)  # fail before anything starts when the key is missing
        self.http_status = Counter()
        self.cache = ResponseCache(Path(state_dir) / CACHE_FOLDER, f"responses-{rank:05d}")
        self.budget = Budget(self.synth.max_cost, self.synth.max_tokens, tasks=world_size)
        self.calls = {role: TeacherCalls(role, config, make_teacher(config, on_response=self._count_status),
                                         self.cache, self.budget) for role, config in teachers}
        t = teachers[0][1]
        self.max_in_flight = self.synth.max_in_flight or 4 * (t.batch_size if t.provider == "embedded"
                                                              else t.max_concurrency)
        self.progress = Progress(total_items, self.budget, f"synth {rank}" if world_size > 1 else "synth",
                                 position=rank % at_once)
        self.failures: Counter = Counter()
        self.finished = 0
        self.fatal: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        self.loop = LoopThread("redraft-synth")

    def _count_status(self, status: int) -> None:
        self.http_status[status] += 1

    def submit(self, pair: ParallelPair) -> concurrent.futures.Future:
        return self.loop.submit(self._run(pair))

    async def _run(self, pair: ParallelPair) -> Dialogue | TeacherError:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            dialogue = await synthesize_dialogue(pair, seed=self.recipe.seed, synth=self.synth, mix=self.mix,
                                                 assistant=self.calls["assistant"], user=self.calls.get("user"))
            self.finished += 1
            self.progress.item_done(True)
            return dialogue
        except TeacherUnavailable as e:
            self._give_up(e)
            raise
        except TeacherError as e:
            self.finished += 1
            self.failures[e.reason] += 1
            self.progress.item_done(False)
            self._check_failing(e)
            return e
        finally:
            self._tasks.discard(task)

    def _check_failing(self, last: TeacherError) -> None:
        failed = sum(n for reason, n in self.failures.items() if reason != BudgetExhausted.REASON)
        if failed >= self.synth.fail_fast_after and failed >= FAILING_SHARE * self.finished:
            t = self.recipe.teacher
            self._give_up(TeacherUnavailable(
                f"teacher {t.model!r} at {t.base_url or 'api.openai.com'}: {failed} of {self.finished} items failed "
                f"({dict(self.failures)}); last error: {last}. Check teacher.base_url, teacher.model and the "
                f"server; completed calls are cached, so re-running resumes"))

    def _give_up(self, error: TeacherUnavailable) -> None:
        if self.fatal is None:
            self.fatal = error
            for task in list(self._tasks):
                if task is not asyncio.current_task():
                    task.cancel()

    def result(self, future: concurrent.futures.Future) -> Dialogue | TeacherError:
        """Wait for one item; raises the run's fatal error if there is one."""
        try:
            outcome = future.result()
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            outcome = None
        if self.fatal is not None:
            raise self.fatal
        if outcome is None:
            raise RuntimeError("a dialogue was cancelled")
        return outcome

    def close(self) -> None:
        async def shutdown():
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for calls in self.calls.values():
                await calls.teacher.close()

        self.loop.close(shutdown)
        self.cache.close()
        self.progress.close()
