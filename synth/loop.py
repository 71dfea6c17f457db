"""An asyncio event loop on a thread of its own: datatrove steps are synchronous generators, teachers are async. The
step submits coroutines from its thread and waits on their futures while the loop runs many of them at once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
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


class LoopThread:
    def __init__(self, name: str):
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
        self.loop.close()
