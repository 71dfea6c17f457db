"""One teacher as the dialogues see it: the response cache in front, the budget beside, usage recorded."""

from __future__ import annotations

from redraft.synth.budget import Budget
from redraft.synth.cache import ResponseCache, cache_key
from redraft.synth.teacher import Completion, Teacher


class TeacherCalls:
    def __init__(self, role: str, config, teacher: Teacher, cache: ResponseCache, budget: Budget):
        self.role, self.config, self.teacher, self.cache, self.budget = role, config, teacher, cache, budget
        self.uses_seed = getattr(teacher, "uses_seed", True)

    @property
    def model(self) -> str:
        return self.teacher.model

    async def complete(self, messages: list[dict], *, seed: int) -> Completion:
        key = cache_key(self.teacher.model, messages, self.teacher.params, seed if self.uses_seed else None)
        hit = self.cache.get(key)
        if hit is not None:
            self.budget.charge(self.role, self.config, hit, cached=True)
            return hit
        self.budget.check()
        completion = await self.teacher.complete(messages, seed=seed)
        self.cache.put(key, completion)
        self.budget.charge(self.role, self.config, completion, cached=False)
        return completion
