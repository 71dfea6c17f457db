"""The cores other processes leave free, for the embedded teacher's torch thread count (`teacher.threads: auto`).

A torch thread team that shares its cores with other work stalls: on 2 cores with one kept busy, the demo at 2 threads
took 190 s where 1 thread took 38 s; on idle cores 2 threads finish the demo in 109 s, 1 thread in 171 s. So the
count is chosen before every batch from what the other processes used since the previous one: the CPU time of the
cores this process may run on, less this process's own.
"""

from __future__ import annotations

import os
import time

import psutil


class FreeCores:
    def __init__(self, first_wait: float = 0.25):
        self.cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(
            range(psutil.cpu_count() or 1))
        self.first_wait = first_wait
        self._process = psutil.Process()
        self._last: tuple[float, float, float] | None = None
        self._busy: float | None = None

    def _sample(self) -> tuple[float, float, float]:
        per_cpu = psutil.cpu_times(percpu=True)
        busy = 0.0
        for t in (per_cpu[i] for i in self.cores):
            # guest time is already counted in user time; waiting for I/O leaves the core free
            busy += sum(t) - t.idle - getattr(t, "iowait", 0) - getattr(t, "guest", 0) - getattr(t, "guest_nice", 0)
        own = self._process.cpu_times()
        return time.monotonic(), busy, own.user + own.system

    def others_busy(self) -> float:
        """Cores kept busy by other processes since the previous measurement (over `first_wait` seconds on the
        first). CPU times tick every 10 ms, so a call sooner than `first_wait` after it repeats its figure."""
        if self._last is None:
            self._last = self._sample()
            time.sleep(self.first_wait)
        now = self._sample()
        (t0, busy0, own0), (t1, busy1, own1) = self._last, now
        if t1 - t0 >= self.first_wait or self._busy is None:
            self._last = now
            self._busy = max(0.0, (busy1 - busy0 - (own1 - own0)) / (t1 - t0))
        return self._busy

    def threads(self) -> int:
        """Free cores, rounded, at least 1."""
        return max(1, min(len(self.cores), round(len(self.cores) - self.others_busy())))
