"""One teacher as the dialogues see it: the response cache in front, the budget beside, usage recorded."""

from __future__ import annotations

import asyncio
import contextlib

from redraft.synth.budget import Budget
from redraft.synth.cache import ResponseCache, cache_key
from redraft.synth.teacher import Completion, Teacher


class TeacherCalls:
    def __init__(self, role: str, config, teacher: Teacher, cache: ResponseCache, budget: Budget):
        self.role, self.config, self.teacher, self.cache, self.budget = role, config, teacher, cache, budget
        self.uses_seed = getattr(teacher, "uses_seed", True)
        # with a budget, at most as many paid calls as the teacher runs at once are between the budget check and
        # their charge: otherwise every call queued for a slot has passed the check, and the spend can exceed the
        # budget by the whole window of dialogues in flight instead of by the requests in flight
        limited = budget.max_cost is not None or budget.max_tokens is not None
        at_once = config.batch_size if config.provider == "embedded" else config.max_concurrency
        self._paying = asyncio.Semaphore(at_once) if limited else contextlib.nullcontext()
        self._in_flight: dict[str, asyncio.Future] = {}  # key -> the call that will answer it

    @property
    def model(self) -> str:
        return self.teacher.model

    async def complete(self, messages: list[dict], *, seed: int) -> Completion:
        key = cache_key(self.teacher.model, messages, self.teacher.params, seed if self.uses_seed else None)
        hit = self.cache.get(key)
        if hit is None and key in self._in_flight:  # the same request (a duplicate pair) is on its way: not paid twice
            hit = await asyncio.shield(self._in_flight[key])
        if hit is not None:
            self.budget.charge(self.role, self.config, hit, cached=True)
            return hit
        answer = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            async with self._paying:
                self.budget.check()
                completion = await self.teacher.complete(messages, seed=seed)
                self.cache.put(key, completion)
                self.budget.charge(self.role, self.config, completion, cached=False)
            answer.set_result(completion)
            return completion
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except Exception as e:
            answer.set_exception(e)
            answer.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del self._in_flight[key]
