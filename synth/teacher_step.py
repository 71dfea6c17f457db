"""`TeacherStep`: a datatrove step that asks a teacher about each document.

Synthesis (`SynthesizeDialogues`, synth/dialogue.py) and the LLM judge (`JudgeDialogues`, filters/judge.py) are its
subclasses: each says how to ask about one document (`ask`, a coroutine) and what to do with the answer (`answer`,
which yields what goes on). The rest is here, once:

- an asyncio event loop on a thread of its own (`LoopThread`): datatrove steps are synchronous generators, teachers
  are async, so the step submits one coroutine per document and waits on its future;
- a sliding window of documents in flight (`max_in_flight`, default 4x what the first teacher runs at once), yielded
  in input order, so memory stays bounded whatever the input;
- the teachers, each behind its `TeacherCalls` (synth/calls.py: the response cache in front, the budget beside);
- fail-fast (`FailFast`): a `TeacherError` fails one document; `TeacherUnavailable`, or most documents failing,
  cancels everything in flight and stops the run;
- the progress line (`Progress`), usage stats per teacher role and the summary log line.

The step holds only configs; teachers, the loop and the cache are made per worker by `TeacherSession`, so a pipeline
can be deep-copied and pickled.

With `teacher.batch: true` (synth/batch.py) a teacher's calls object is `BatchCalls`, with the same
`complete(messages, seed=)`: a cache miss is queued, and the worker's `BatchRounds` submits the queued round as batch
files once every document in flight waits on it and the step feeds no more (it tells the rounds when it blocks on a
document: `TeacherSession.result`). The window is then `BATCH_WINDOW` documents unless `max_in_flight` says, and
they advance one turn per round. The subclasses do not change.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import sys
import threading
import time
from abc import abstractmethod
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from redraft.synth.batch import BatchCalls, BatchRounds
from redraft.synth.batch_records import BATCH_FOLDER
from redraft.storage import location
from redraft.synth.cache import ResponseCache
from redraft.synth.calls import Budget, TeacherCalls
from redraft.synth.config import BATCH_WINDOW, FAIL_FAST_AFTER, TeacherConfig
from redraft.synth.errors import BudgetExhausted, TeacherError, TeacherUnavailable
from redraft.synth.openai_teacher import resolve_api_key
from redraft.synth.teacher import make_teacher
from redraft.types import reject as rejected_document

CACHE_FOLDER = "synth-cache"  # in the run's state folder: every step's response cache
FAILING_SHARE = 0.8  # with at least `fail_fast_after` failures, this share of failed documents stops the run


# --- the event loop on its own thread --------------------------------------------------------------------------------

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
    """An asyncio event loop running on a thread of its own; `submit` a coroutine from any other thread."""

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


# --- the progress line and fail-fast ---------------------------------------------------------------------------------

def progress_enabled() -> bool:
    """The progress line is on stderr when it is a terminal; REDRAFT_PROGRESS=0 turns it off, =1 on."""
    flag = os.environ.get("REDRAFT_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


class Progress:
    """The live progress line: items, requests/s, tokens/s, cost, projected total cost, ETA."""

    def __init__(self, total: int | None, budget: Budget, desc: str = "synth", position: int = 0):
        self.total, self.budget = total, budget
        self.start = time.monotonic()
        self.items = self.failed = 0
        self._bar = None
        if progress_enabled():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="item", file=sys.stderr, dynamic_ncols=True,
                             mininterval=0.5, position=position)  # workers running at once: a line each

    def summary(self) -> dict:
        elapsed = max(1e-9, time.monotonic() - self.start)
        t = self.budget.total
        done = self.items + self.failed
        s = {"items": self.items, "failed": self.failed, "requests_per_s": t.requests / elapsed,
             "tokens_per_s": t.tokens / elapsed, "cost": t.cost}
        if self.total and done:
            s["projected_cost"] = t.cost / done * self.total
        return s

    def item_done(self, ok: bool) -> None:
        if ok:
            self.items += 1
        else:
            self.failed += 1
        if self._bar is not None:
            s = self.summary()
            post = {"req/s": f"{s['requests_per_s']:.1f}", "tok/s": f"{s['tokens_per_s']:.0f}",
                    "failed": self.failed}
            if s["cost"]:
                post["cost"] = f"${s['cost']:.4g}"
            if "projected_cost" in s and s["cost"]:
                post["projected"] = f"${s['projected_cost']:.4g}"
            self._bar.set_postfix(post, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class FailFast:
    """Tells when a teacher is down: `after` failed documents (those the budget stopped aside), and they are most of
    the finished ones."""

    def __init__(self, after: int = FAIL_FAST_AFTER):
        self.after = after
        self.failures: Counter = Counter()  # reason -> documents
        self.finished = 0

    @property
    def failed(self) -> int:
        return sum(n for reason, n in self.failures.items() if reason != BudgetExhausted.REASON)

    def record(self, outcome) -> bool:
        """Counts a finished document (`outcome` its result, or its TeacherError); True: stop the run."""
        self.finished += 1
        if not isinstance(outcome, TeacherError):
            return False
        self.failures[outcome.reason] += 1
        return self.failed >= self.after and self.failed >= FAILING_SHARE * self.finished


# --- the step and its worker's session -------------------------------------------------------------------------------

class TeacherStep(PipelineStep):
    """A step that asks `teachers` (role -> config) about each document. Subclasses set `label` (the progress line,
    the loop thread) and `cache_file` (their response-cache files), and write `ask`, `answer` and `unavailable`."""

    label: str
    cache_file: str
    calls_per_item = 1  # the most teacher calls one document makes (a batch run's budget reserves them)

    def __init__(self, teachers: dict[str, TeacherConfig], state_dir: str, *, max_cost: float | None = None,
                 max_tokens: int | None = None, max_in_flight: int | None = None,
                 fail_fast_after: int = FAIL_FAST_AFTER, expected_items=None, workers: int = 1,
                 exclusion_writer=None, wait: bool = True):
        super().__init__()
        self.teachers, self.state_dir = teachers, str(state_dir)
        self.max_cost, self.max_tokens = max_cost, max_tokens
        self.max_in_flight, self.fail_fast_after = max_in_flight, fail_fast_after
        # this task's share, the progress line's total: a number, or a function of the task's rank
        self.expected_items = expected_items
        self.workers = workers  # processes running the step at once: they share each teacher's limits
        self.exclusion_writer = exclusion_writer  # where rejected documents go
        self.wait = wait  # False: with batch teachers, stop (BatchesPending) rather than wait on a running batch

    @abstractmethod
    async def ask(self, doc: Document, calls: dict[str, TeacherCalls]):
        """Asks the teachers about one document; raises TeacherError when it fails for good."""

    @abstractmethod
    def answer(self, doc: Document, outcome, session: TeacherSession) -> Iterator[Document]:
        """What goes on for `doc`, given the result of `ask` or the TeacherError it failed with; rejections go
        through `session.reject`."""

    @abstractmethod
    def unavailable(self, failing: FailFast, last: TeacherError) -> TeacherUnavailable:
        """The error that stops the run when most documents failed."""

    def succeeded(self, outcome) -> bool:
        """Whether the progress line counts a document as done rather than failed."""
        return not isinstance(outcome, TeacherError)

    def summarize(self, session: TeacherSession) -> None:
        """Log what the worker did (after its usage stats are recorded)."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data is None:
            return
        session = TeacherSession(self, rank, world_size)
        window: deque = deque()
        try:
            with self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext() as rejected:
                session.rejected = rejected
                for doc in data:
                    window.append((doc, session.submit(doc)))
                    while window and (len(window) >= session.max_in_flight or window[0][1].done()):
                        doc, future = window.popleft()
                        yield from self.answer(doc, session.result(future), session)
                while window:
                    doc, future = window.popleft()
                    yield from self.answer(doc, session.result(future), session)
        finally:
            session.close()
            self._record_usage(session)

    def _record_usage(self, session: TeacherSession) -> None:
        for role, usage in session.budget.by_teacher.items():
            prefix = "" if role == "assistant" else f"{role}_"
            self.stat_update(f"{prefix}requests", value=usage.requests, unit="run")
            self.stat_update(f"{prefix}cached_requests", value=usage.cached, unit="run")
            self.stat_update(f"{prefix}prompt_tokens", value=usage.prompt_tokens, unit="run")
            self.stat_update(f"{prefix}completion_tokens", value=usage.completion_tokens, unit="run")
            if usage.cost:
                self.stat_update(f"{prefix}cost_microusd", value=round(usage.cost * 1e6), unit="run")
        self.summarize(session)


class TeacherSession:
    """One worker's side of a `TeacherStep`: the event loop on its thread, the teachers' calls with the response
    cache and the budget they share, the progress line, and fail-fast. A document whose teacher calls fail for good
    comes back as its `TeacherError`; `TeacherUnavailable` (bad key, wrong URL or model, or most documents failing)
    cancels every document still in flight and is raised to the step."""

    def __init__(self, step: TeacherStep, rank: int = 0, world_size: int = 1):
        # this worker's share of the limits: `world_size` tasks split the budget, and the `workers` of them running
        # at once split each teacher's concurrency and rate limits
        self.step, self.rank = step, rank
        at_once = min(world_size, step.workers)
        configs = {role: config.share(at_once) for role, config in step.teachers.items()}
        for config in configs.values():
            if config.provider == "openai":
                resolve_api_key(config)  # fail before anything starts when the key is missing
        self.cache = ResponseCache(location(step.state_dir) / CACHE_FOLDER, f"{step.cache_file}-{rank:05d}")
        self.budget = Budget(step.max_cost, step.max_tokens, tasks=world_size)
        self.fatal: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        # documents submitted and finished, each counted by one thread; the rounds count those not started yet too
        self._submitted = self._finished = 0
        batch = [config for config in configs.values() if config.batch]
        self.rounds = BatchRounds(
            f"{step.label} {rank}", location(step.state_dir) / BATCH_FOLDER / f"{step.cache_file}-{rank:05d}.json",
            lambda: self._submitted - self._finished, self._give_up, wait=step.wait,
            poll_seconds=min(c.batch_poll_seconds for c in batch), show_progress=progress_enabled(),
            calls_per_item=step.calls_per_item) if batch else None
        self.calls = {role: (BatchCalls(role, config, make_teacher(config), self.cache, self.budget, self.rounds)
                             if config.batch else TeacherCalls(role, config, make_teacher(config), self.cache,
                                                               self.budget))
                      for role, config in configs.items()}
        first = next(iter(configs.values()))
        self.max_in_flight = step.max_in_flight or (BATCH_WINDOW if batch else 4 * (
            first.batch_size if first.provider == "embedded" else first.max_concurrency))
        expected = step.expected_items(rank) if callable(step.expected_items) else step.expected_items
        self.progress = Progress(expected, self.budget,
                                 f"{step.label} {rank}" if world_size > 1 else step.label, position=rank % at_once)
        self.failing = FailFast(step.fail_fast_after)
        self.rejected = None  # the step's exclusion writer, once opened
        self.loop = LoopThread(f"redraft-{step.label}")
        if self.rounds is not None:
            self.loop.loop.call_soon_threadsafe(self.rounds.start)

    def submit(self, doc: Document) -> concurrent.futures.Future:
        self._submitted += 1
        return self.loop.submit(self._ask(doc))

    async def _ask(self, doc: Document):
        task = asyncio.current_task()
        self._tasks.add(task)
        if self.rounds is not None:
            self.rounds.item_started()
        try:
            outcome = await self.step.ask(doc, self.calls)
        except TeacherUnavailable as e:
            self._give_up(e)
            raise
        except TeacherError as e:
            outcome = e
        finally:
            self._tasks.discard(task)
            self._finished += 1
            if self.rounds is not None:
                self.rounds.item_done(task)
        self.progress.item_done(self.step.succeeded(outcome))
        if self.failing.record(outcome):
            self._give_up(self.step.unavailable(self.failing, outcome))
        return outcome

    def _give_up(self, error: BaseException) -> None:
        """Stop the run with `error` (TeacherUnavailable; BatchesPending): cancel every document in flight."""
        if self.fatal is None:
            self.fatal = error
            for task in list(self._tasks):
                if task is not asyncio.current_task():
                    task.cancel()

    def result(self, future: concurrent.futures.Future):
        """Wait for one document's outcome; raises the run's fatal error if there is one."""
        blocks = self.rounds is not None and not future.done()
        if blocks:  # the step feeds no document until this one is done: a batch round need not wait for more
            self.loop.loop.call_soon_threadsafe(self.rounds.feeder, True)
        try:
            while True:  # in slices: a Ctrl-C caught by the loop's thread is raised here only once a wait returns
                try:
                    outcome = future.result(timeout=1.0)
                    break
                except concurrent.futures.TimeoutError:
                    continue
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            outcome = None
        finally:
            if blocks:
                self.loop.loop.call_soon_threadsafe(self.rounds.feeder, False)
        if self.fatal is not None:
            raise self.fatal
        if outcome is None:
            raise RuntimeError("a dialogue was cancelled")
        return outcome

    def reject(self, doc: Document, status: str, reason: str) -> None:
        """`doc` does not go on: counted under `status` and `reason`, and written to the rejected rows."""
        self.step.stat_update(status, f"{status}_{reason}")
        if self.rejected is not None:
            self.rejected.write(rejected_document(doc, status, reason), self.rank)

    def close(self) -> None:
        async def shutdown():
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.rounds is not None:
                await self.rounds.stop()  # the batches run on, recorded: the next run re-attaches
                if self.fatal is None:
                    self.rounds.drop_answered(self.cache)
            for calls in self.calls.values():
                await calls.teacher.close()

        self.loop.close(shutdown)
        self.cache.close()
        self.progress.close()
