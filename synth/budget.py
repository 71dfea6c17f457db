"""Token and cost accounting per teacher, and the run's `max_cost` / `max_tokens` budget.

Every call counts against the budget, cached ones included: a dataset costs what its calls cost, whether they were
paid in this run or an earlier one. So a re-run with the same budget stops at the same place without paying again,
and a re-run with a larger budget carries on from the cache. Calls already in flight when the budget runs out still
finish, so the spend can exceed the budget by at most the in-flight calls (`TeacherCalls` lets no more calls than
the teacher runs at once past the check).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from redraft.synth.errors import BudgetExhausted
from redraft.synth.teacher import Completion


@dataclass
class Usage:
    requests: int = 0
    cached: int = 0  # of `requests`, answered from the response cache
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    paid_cost: float = 0.0  # spent in this run (cache misses)
    paid_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def call_cost(config, completion: Completion) -> float:
    p_in = config.price_per_million_prompt_tokens or 0.0
    p_out = config.price_per_million_completion_tokens or 0.0
    return (completion.prompt_tokens * p_in + completion.completion_tokens * p_out) / 1e6


class Budget:
    def __init__(self, max_cost: float | None = None, max_tokens: int | None = None, tasks: int = 1):
        """A run's budget as one of its `tasks` (shards) sees it: each task stops at its share, so the run stops at
        the whole."""
        self.max_cost = max_cost and max_cost / tasks
        self.max_tokens = max_tokens and max(1, max_tokens // tasks)
        self.by_teacher: dict[str, Usage] = defaultdict(Usage)

    @property
    def total(self) -> Usage:
        t = Usage()
        for u in self.by_teacher.values():
            for f in ("requests", "cached", "prompt_tokens", "completion_tokens", "cost", "paid_cost", "paid_tokens"):
                setattr(t, f, getattr(t, f) + getattr(u, f))
        return t

    def exhausted(self) -> str | None:
        t = self.total
        if self.max_cost is not None and t.cost >= self.max_cost:
            return f"max_cost {self.max_cost} reached (spent {t.cost:.4f})"
        if self.max_tokens is not None and t.tokens >= self.max_tokens:
            return f"max_tokens {self.max_tokens} reached (used {t.tokens})"
        return None

    def check(self) -> None:
        """Before a call that would be paid: raise BudgetExhausted once the budget is spent."""
        if reason := self.exhausted():
            raise BudgetExhausted(reason)

    def charge(self, role: str, config, completion: Completion, cached: bool) -> None:
        u = self.by_teacher[role]
        cost = call_cost(config, completion)
        u.requests += 1
        u.cached += cached
        u.prompt_tokens += completion.prompt_tokens
        u.completion_tokens += completion.completion_tokens
        u.cost += cost
        if not cached:
            u.paid_cost += cost
            u.paid_tokens += completion.prompt_tokens + completion.completion_tokens
