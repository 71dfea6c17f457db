"""An asyncio event loop on a thread of its own: datatrove steps are synchronous generators, teachers are async. The
step submits coroutines from its thread and waits on their futures while the loop runs many of them at once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import threading
from collections.abc import Awaitable, Callable, Coroutine


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed: the event loop's own work is part of the CPU per request, which is what limits
    requests/s with hundreds in flight (benchmarks/synth_overhead.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _FewerGCPauses:
    """While any loop thread runs: the objects alive when the first one started (modules, models, the recipe) are
    left out of garbage collection (`gc.freeze`), and young-generation collections run after 20,000 net allocations
    instead of 700. With hundreds of requests in flight, full collections over every imported module paused the
    loop for ~75 ms at a time and young ones ran every ~14 requests: 6-7% of the loop's time, in pauses during
    which replies queue up (benchmarks/synth_overhead.py). Python objects mostly die by reference counting, so
    this holds back only cyclic garbage, and only until the last loop closes."""

    YOUNG_THRESHOLD = 20_000

    def __init__(self):
        self.users, self.saved = 0, None
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.users += 1
            if self.users == 1:
                self.saved = gc.get_threshold()
                gc.freeze()
                gc.set_threshold(max(self.saved[0], self.YOUNG_THRESHOLD), *self.saved[1:])

    def exit(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                gc.set_threshold(*self.saved)
                gc.unfreeze()


fewer_gc_pauses = _FewerGCPauses()


class LoopThread:
    def __init__(self, name: str):
        fewer_gc_pauses.enter()
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self, shutdown: Callable[[], Awaitable] | None = None, timeout: float = 30) -> None:
        """Run `shutdown()` on the loop (cancel what is left, close clients), then stop the loop and its thread."""
        if self.loop.is_running():
            if shutdown is not None:
                with contextlib.suppress(Exception):  # closing must not hide the error that brought us here
                    self.submit(shutdown()).result(timeout=timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=timeout)
        if not self.loop.is_closed():
            self.loop.close()
            fewer_gc_pauses.exit()
