"""One teacher as the code that asks it sees it: `TeacherCalls.complete(messages, seed=)`, with the response cache in
front, the budget beside, and identical requests in flight sent once. Also what that needs: the per-request seed
(`request_seed`) and the token and cost accounting of a run (`Usage`, `Budget`).

Every call counts against the budget, cached ones included: a dataset costs what its calls cost, whether they were
paid in this run or an earlier one. So a re-run with the same budget stops at the same place without paying again,
and a re-run with a larger budget carries on from the cache. Calls already in flight when the budget runs out still
finish, so the spend can exceed the budget by at most the in-flight calls (`TeacherCalls` lets no more calls than
the teacher runs at once past the check).

`BatchCalls` (synth/batch.py) is the Batch API's variant, with the same `complete`, cache and budget; its calls cost
batch prices (`call_cost(..., batch=True)`), and `Usage.direct_cost` keeps what direct calls would have cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import defaultdict
from dataclasses import dataclass, fields

from redraft.synth.cache import ResponseCache, cache_key
from redraft.synth.errors import BudgetExhausted
from redraft.synth.teacher import Completion, Teacher


def request_seed(recipe_seed: int, item_id: str, turn: int, role: str) -> int:
    """The `seed` of one request, from the item and the turn: answers do not depend on completion order, worker
    count, or whether they came from the cache."""
    digest = hashlib.blake2b(f"{recipe_seed}:{item_id}:{turn}:{role}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


@dataclass
class Usage:
    requests: int = 0
    cached: int = 0  # of `requests`, answered from the response cache
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    paid_cost: float = 0.0  # spent in this run (cache misses)
    paid_tokens: int = 0
    direct_cost: float = 0.0  # `cost` at direct-call prices (equal to it without teacher.batch)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def prices(config, batch: bool = False) -> tuple[float, float]:
    """USD per million prompt and completion tokens; batch prices are explicit or the direct ones times the factor."""
    p_in = config.price_per_million_prompt_tokens or 0.0
    p_out = config.price_per_million_completion_tokens or 0.0
    if not batch:
        return p_in, p_out
    factor = config.batch_price_factor
    b_in, b_out = config.batch_price_per_million_prompt_tokens, config.batch_price_per_million_completion_tokens
    return (p_in * factor if b_in is None else b_in), (p_out * factor if b_out is None else b_out)


def call_cost(config, completion: Completion, batch: bool = False) -> float:
    p_in, p_out = prices(config, batch)
    return (completion.prompt_tokens * p_in + completion.completion_tokens * p_out) / 1e6


def cost_text(usage: "Usage") -> str:
    """`$0.0123`, or with batch prices `$0.0123 (direct calls: $0.0246)`."""
    text = f"${usage.cost:.4f}"
    return text if abs(usage.direct_cost - usage.cost) < 5e-9 else f"{text} (direct calls: ${usage.direct_cost:.4f})"


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
            for f in fields(Usage):
                setattr(t, f.name, getattr(t, f.name) + getattr(u, f.name))
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

    def charge(self, role: str, config, completion: Completion, cached: bool, batch: bool = False) -> None:
        u = self.by_teacher[role]
        cost = call_cost(config, completion, batch)
        u.direct_cost += call_cost(config, completion) if batch else cost
        u.requests += 1
        u.cached += cached
        u.prompt_tokens += completion.prompt_tokens
        u.completion_tokens += completion.completion_tokens
        u.cost += cost
        if not cached:
            u.paid_cost += cost
            u.paid_tokens += completion.prompt_tokens + completion.completion_tokens


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

    async def complete(self, messages: list[dict], *, seed: int, position: int | None = None) -> Completion:
        """`position`: where the item asking sits in the input (`POSITION`): the cache reads its task's share only."""
        key = cache_key(self.teacher.model, messages, self.teacher.params, seed if self.uses_seed else None)
        hit = self.cache.get(key, position)
        if hit is None and key in self._in_flight:  # the same request (a duplicate pair) is on its way: not paid twice
            hit = await asyncio.shield(self._in_flight[key])
            self.cache.put(key, hit, position)  # at this item's position too, for re-runs split otherwise
        if hit is not None:
            self.budget.charge(self.role, self.config, hit, cached=True)
            return hit
        answer = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            async with self._paying:
                self.budget.check()
                completion = await self.teacher.complete(messages, seed=seed)
                self.cache.put(key, completion, position)
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
