"""Client-side flow control for one teacher endpoint: concurrency that backs off under 429s and recovers,
requests-per-minute and tokens-per-minute buckets, and pauses the server asks for (`Retry-After`, `x-ratelimit-*`).

The openai client retries a 429 itself (sleeping `Retry-After`), but only for the request that got it; `on_response`
sees every HTTP attempt (an httpx response hook) so that all requests to the endpoint slow down together.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from contextlib import asynccontextmanager

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def parse_reset(value: str | None) -> float | None:
    """`x-ratelimit-reset-*` values: "20ms", "1.5s", "6m0s", or plain seconds."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        parts = _DURATION.findall(value)
        return sum(float(n) * _UNIT[u] for n, u in parts) if parts else None


class TokenBucket:
    """`rate` units per second, bursting up to `capacity`; taking more than is there leaves a debt to wait out."""

    def __init__(self, per_minute: float, burst_seconds: float = 1.0):
        self.rate = per_minute / 60
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def take(self, amount: float) -> None:
        while True:
            self._refill()
            if self.level >= min(amount, self.capacity):
                self.level -= amount
                return
            await asyncio.sleep((min(amount, self.capacity) - self.level) / self.rate)

    def adjust(self, delta: float) -> None:
        self._refill()
        self.level = min(self.capacity, self.level - delta)


class RateLimiter:
    def __init__(self, max_concurrency: int, requests_per_minute: float | None = None,
                 tokens_per_minute: float | None = None, min_concurrency: int = 1):
        self.max_concurrency = max_concurrency
        self.min_concurrency = min(min_concurrency, max_concurrency)
        self.limit = float(max_concurrency)  # the adaptive concurrency limit (AIMD)
        self.lowest_limit = self.limit
        self.in_flight = 0
        self.requests = TokenBucket(requests_per_minute) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute) if tokens_per_minute else None
        self.paused_until = 0.0
        self.rate_limited = 0  # 429s seen
        self._last_decrease = 0.0
        self._waiters: deque[asyncio.Future] = deque()  # FIFO: one waiter woken per free slot, not all of them

    def _capacity(self) -> int:
        return max(self.min_concurrency, int(self.limit))

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self._capacity():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1  # handed over to the waiter
                waiter.set_result(None)

    async def _acquire(self) -> None:
        if not self._waiters and self.in_flight < self._capacity():
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as we were cancelled
            raise

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    @asynccontextmanager
    async def slot(self, estimated_tokens: int = 0):
        await self._acquire()
        try:
            while (delay := self.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            if self.requests:
                await self.requests.take(1)
            if self.tokens and estimated_tokens:
                await self.tokens.take(estimated_tokens)
            yield
        finally:
            self._release()

    def used_tokens(self, estimated: int, actual: int) -> None:
        if self.tokens:
            self.tokens.adjust(actual - estimated)

    def on_response(self, status: int, headers) -> None:
        now = time.monotonic()
        if status == 429:
            self.rate_limited += 1
            wait = parse_reset(headers.get("retry-after-ms"))
            wait = wait / 1000 if wait is not None else parse_reset(headers.get("retry-after"))
            if wait:
                self.paused_until = max(self.paused_until, now + min(wait, 60))
            if now - self._last_decrease > 1.0:  # one decrease per burst of 429s
                self.limit = max(self.min_concurrency, self.limit / 2)
                self.lowest_limit = min(self.lowest_limit, self.limit)
                self._last_decrease = now
            return
        if 200 <= status < 300:
            if self.limit < self.max_concurrency:
                self.limit = min(self.max_concurrency, self.limit + 1 / self.limit)  # +1 per window
                self._wake()
            for kind in ("requests", "tokens"):
                remaining = headers.get(f"x-ratelimit-remaining-{kind}")
                if remaining is not None and remaining.strip() in ("0", "0.0"):
                    reset = parse_reset(headers.get(f"x-ratelimit-reset-{kind}"))
                    if reset:
                        self.paused_until = max(self.paused_until, now + min(reset, 60))
