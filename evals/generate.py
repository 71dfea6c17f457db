"""Running many requests at once: coroutines on synth's event-loop thread, a progress bar with ETA, and the same
failure rules as synthesis. A request that fails for good (after the request layer's retries) comes back as its
`TeacherError`, which the suite records; `TeacherUnavailable`, or most requests failing, stops the run, and what
was answered so far is in the response cache for the re-run."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Coroutine

from redraft.synth.calls import Budget
from redraft.synth.errors import TeacherError, TeacherUnavailable
from redraft.synth.teacher_step import FailFast, LoopThread, Progress


async def _outcome(coro: Coroutine):
    try:
        return await coro
    except TeacherError as e:
        return e


def run_all(loop: LoopThread, coros: list[Coroutine], desc: str, budget: Budget | None = None) -> list:
    """Each coroutine's result, or its TeacherError, in order."""
    futures = [loop.submit(_outcome(c)) for c in coros]
    progress = Progress(len(futures), budget or Budget(), desc)
    failing = FailFast()
    try:
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()  # TeacherUnavailable and other errors propagate
            progress.item_done(not isinstance(outcome, TeacherError))
            if failing.record(outcome):
                raise TeacherUnavailable(f"{failing.failed} of {failing.finished} {desc} requests failed "
                                         f"({dict(failing.failures)}); last: {outcome}. Answers so far are cached: "
                                         "re-run to resume")
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        progress.close()
    return [f.result() for f in futures]
