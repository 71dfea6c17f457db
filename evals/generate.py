"""Running many requests at once: coroutines on synth's event-loop thread, a progress bar with ETA, and the same
failure rules as synthesis. A request that fails for good (after the request layer's retries) comes back as its
`TeacherError`, which the suite records; `TeacherUnavailable`, or most requests failing, stops the run, and what
was answered so far is in the response cache for the re-run."""

from __future__ import annotations

import concurrent.futures
from collections import Counter
from collections.abc import Coroutine

from redraft.synth.budget import Budget
from redraft.synth.engine import FAILING_SHARE
from redraft.synth.errors import TeacherError, TeacherUnavailable
from redraft.synth.loop import LoopThread
from redraft.synth.progress import Progress

FAIL_FAST_AFTER = 16


async def _outcome(coro: Coroutine):
    try:
        return await coro
    except TeacherError as e:
        return e


def run_all(loop: LoopThread, coros: list[Coroutine], desc: str, budget: Budget | None = None) -> list:
    """Each coroutine's result, or its TeacherError, in order."""
    futures = [loop.submit(_outcome(c)) for c in coros]
    progress = Progress(len(futures), budget or Budget(), desc)
    failures: Counter = Counter()
    try:
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            outcome = future.result()  # TeacherUnavailable and other errors propagate
            failed = isinstance(outcome, TeacherError)
            progress.item_done(not failed)
            if failed:
                failures[outcome.reason] += 1
                n = sum(failures.values())
                if n >= FAIL_FAST_AFTER and n >= FAILING_SHARE * done:
                    raise TeacherUnavailable(f"{n} of {done} {desc} requests failed ({dict(failures)}); last: "
                                             f"{outcome}. Answers so far are cached: re-run to resume")
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        progress.close()
    return [f.result() for f in futures]
