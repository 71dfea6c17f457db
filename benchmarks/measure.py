"""Repeated timing runs, reported honestly: every contender (ours and its peers) runs `repeats` times, interleaved
in one invocation, and each figure is the median of its runs with their min, max and every value, beside the
1-minute load average before and after each run and the machine's core count. A ratio against a peer is the ratio
of the medians. The benchmarks import it as `from measure import ...` (python puts benchmarks/ on the path).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable


def load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def machine() -> dict:
    """Stamped at the start of a benchmark: how many cores, and how busy they were before it began."""
    return {"cores": os.cpu_count(), "load_1m_at_start": load_1m()}


class Runs:
    """One contender's repeated runs: the figures each run returned, and the load average before and after each."""

    def __init__(self):
        self.figures: list[dict] = []
        self.loads: list[list[float]] = []

    def values(self, name: str) -> list:
        return [f[name] for f in self.figures]

    def median(self, name: str) -> float:
        return statistics.median(self.values(name))

    def spread(self, name: str, digits: int = 1) -> dict:
        v = [round(x, digits) for x in self.values(name)]
        return {"median": round(self.median(name), digits), "min": min(v), "max": max(v), "values": v}

    def report(self, **digits: int) -> dict:
        """For the JSON line: the spread of each figure named, rounded to the digits given, and the load around
        every run. `runs.report(req_per_s=1, share_of_ideal=3)`."""
        return {**{n: self.spread(n, d) for n, d in digits.items()}, "load_1m_before_after": self.loads}


def repeat(contenders: dict[str, Callable[[], dict]], repeats: int) -> dict[str, Runs]:
    """Runs each contender `repeats` times. A contender returns the figures of one run by name. The rounds
    alternate the order (A B, B A, A B, ...) so that none always goes first, or always right after the same other:
    a machine warmed, heated or left busy by the run before weighs on every contender alike. Warm-up is the
    caller's: do it once for every contender, untimed, before calling this."""
    runs = {name: Runs() for name in contenders}
    for r in range(repeats):
        for name in list(contenders)[:: 1 if r % 2 == 0 else -1]:
            before = load_1m()
            runs[name].figures.append(contenders[name]())
            runs[name].loads.append([before, load_1m()])
    return runs


def ratio(a: Runs, b: Runs, name: str, digits: int = 2) -> float:
    """The median of `name` in `a` over its median in `b` (ours over a peer's rate: above 1, ours is faster)."""
    return round(a.median(name) / b.median(name), digits)
