"""The Batch API (`teacher.batch: true`): a teacher's requests go out as batch files, answered within 24 hours at
batch prices, instead of as one HTTP request each.

`BatchCalls` is a teacher's calls as `TeacherCalls` (synth/calls.py) makes them: `complete(messages, seed=)` with the
same response cache in front (the same keys, so batch and direct runs mix), the budget beside, and identical requests
in flight asked once. A cache miss is queued for the next round of the worker's `BatchRounds` instead of being sent.

`BatchRounds` runs the rounds of one worker (one `TeacherSession`, all its batch teachers):
- a round starts once every document in flight waits on a queued request and the step feeds no new one (its window
  is full or its input done, or no document came for `GRACE_SECONDS`: the judge behind synthesis waits on it);
- each teacher's queued requests become JSONL files of at most `batch_max_lines` lines and `batch_max_bytes` bytes
  (`custom_id`: the cache key; `body`: exactly the body of a direct call), each uploaded with
  `files.create(purpose="batch")` and run as a batch (one model per file, as the API wants);
- the batches are polled (`batch_poll_seconds`, longer while nothing changes) under a progress line, and the output
  of each goes into the response cache when it ends; the documents go on, and their next turn goes in the next round;
- a line in the error file, or one an `expired`, `failed` or `cancelled` batch left unanswered, is asked again in the
  next round, up to the teacher's `max_retries` times, then fails its documents with the reason (as direct calls do).

Records (synth/batch_records.py: `STATE/batches/STEP-RANK.json`, replaced atomically): every uploaded file before
its batch is created, then the batch id, with the custom_ids each holds. A killed run leaves its batches running;
run again, a document whose request is in a recorded batch waits on that batch (its status retrieved, its output
collected) rather than submitting the line again, and an upload recorded without a batch id is looked up in
`batches.list`. With `wait` false (`redraft run --wait false`) a round looks at its batches once and raises
BatchesPending while any runs.
"""

from __future__ import annotations

import asyncio
import json
import os
from math import inf
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openai
from datatrove.utils.logging import logger

from redraft.synth.batch_records import BatchRecords, recorded_batches
from redraft.synth.cache import cache_key
from redraft.synth.calls import call_cost
from redraft.synth.errors import BatchesPending, BudgetExhausted, TeacherError, TeacherUnavailable
from redraft.synth.openai_teacher import completion_from, encode_body, resolve_api_key
from redraft.synth.teacher import Completion

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "expired", "failed", "cancelled")
ACTIVE = ("validating", "in_progress", "finalizing")  # also `cancelling`
UNANSWERED = {"expired": "batch_expired", "failed": "batch_failed", "cancelled": "batch_cancelled"}
GRACE_SECONDS = 15.0  # no new document for this long: the round goes without the ones still to come
MAX_POLL_FACTOR = 10  # polls back off to 10x batch_poll_seconds while nothing changes
BIG_FILE_TIMEOUT = 600.0  # seconds for an upload or a download (teacher.timeout is per request: 60 by default)


@dataclass(eq=False)
class Request:
    """One line of a batch file, and the documents waiting on its answer."""

    calls: BatchCalls
    key: str  # the cache key, and the line's custom_id
    body: dict
    future: asyncio.Future
    owner: asyncio.Task | None  # the document that asked first
    position: int | None  # its place in the input (`POSITION`), for the response cache
    waiters: int = 1
    attempts: int = 0
    submitted: bool = False  # in a batch (or an upload) now


@dataclass(eq=False)
class Tracked:
    """A recorded batch this round waits on, and the waiting requests among its lines."""

    entry: dict  # its record: id, file, role, model, base_url, api_key_env, submitted_at, custom_ids
    calls: BatchCalls
    requests: dict[str, Request] = field(default_factory=dict)
    batch: object = None  # the last `Batch` retrieved
    status: str = "validating"
    done: int = 0  # lines answered or failed so far
    reason: str | None = None  # why no line will be answered, when the batch is gone
    active: bool = False  # in the round being waited on
    collected: bool = False


class BatchCalls:
    """A teacher's calls through the Batch API: `complete` as `TeacherCalls.complete`, the request queued for the
    next round of `rounds` when the cache does not hold its answer. Calls cost batch prices."""

    def __init__(self, role: str, config, teacher, cache, budget, rounds: BatchRounds):
        self.role, self.config, self.teacher, self.cache, self.budget = role, config, teacher, cache, budget
        self.rounds = rounds
        self.uses_seed = teacher.uses_seed
        self.in_flight: dict[str, Request] = {}  # key -> the queued or submitted line that will answer it

    @property
    def model(self) -> str:
        return self.teacher.model

    async def complete(self, messages: list[dict], *, seed: int, position: int | None = None) -> Completion:
        """`position`: where the item asking sits in the input (`POSITION`): the cache reads its task's share only."""
        key = cache_key(self.teacher.model, messages, self.teacher.params, seed if self.uses_seed else None)
        hit = self.cache.get(key, position)
        if hit is not None:
            self.budget.charge(self.role, self.config, hit, cached=True, batch=True)
            return hit
        request = self.in_flight.get(key)
        first = request is None
        if first:
            self.budget.check()
            request = self.in_flight[key] = self.rounds.queue(self, key, self.teacher.request_body(messages, seed),
                                                              position)
        else:  # the same request (a duplicate pair) is on its way: not paid twice
            self.rounds.join(request)
        try:
            completion = await asyncio.shield(request.future)
        except asyncio.CancelledError:
            self.rounds.leave(request)
            raise
        if not first:
            self.cache.put(key, completion, position)  # at this item's position too, for re-runs split otherwise
        self.budget.charge(self.role, self.config, completion, cached=not first, batch=True)
        return completion


class BatchRounds:
    """The rounds of one worker's batch teachers (see the module docstring). `in_flight()`: the documents submitted
    and not finished (started or not); `fatal(error)`: stops the worker's run (TeacherUnavailable, BatchesPending)."""

    def __init__(self, name: str, records: Path, in_flight: Callable[[], int], fatal: Callable[[BaseException], None],
                 *, wait: bool, poll_seconds: float, show_progress: bool, calls_per_item: int = 1):
        self.name, self.in_flight, self.fatal = name, in_flight, fatal
        self.calls_per_item = calls_per_item  # the most teacher calls a document makes (the budget's reservations)
        self.reserved: dict[asyncio.Task, list[float]] = {}  # document -> [cost, tokens] held for its calls to come
        self.wait, self.poll, self.show_progress = wait, poll_seconds, show_progress
        self.records = BatchRecords(records)
        self.recorded: dict[str, dict] = {k: e for e in self.records.entries for k in e["custom_ids"]}
        self.queued: dict[BatchCalls, dict[str, Request]] = {}
        self.tracking: dict[str, Tracked] = {}  # file id -> a recorded batch this run waits on, until collected
        self.waiting = 0  # documents waiting on a line not answered yet
        self.feeder_blocked, self.last_fed = False, time.monotonic()
        self.rounds = self.lines = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    # --- what documents and the step do ---------------------------------------------------------------------------

    def queue(self, calls: BatchCalls, key: str, body: dict, position: int | None) -> Request:
        request = Request(calls, key, body, asyncio.get_running_loop().create_future(), asyncio.current_task(),
                          position)
        entry = self.recorded.get(key)
        if entry is not None and entry["role"] == calls.role:  # already in a batch of an earlier run: re-attach
            request.submitted = True
            request.attempts = entry.get("attempts", {}).get(key, 0)
            self.tracking.setdefault(entry["file"], Tracked(entry, calls)).requests[key] = request
        else:
            self.queued.setdefault(calls, {})[key] = request
        self.waiting += 1
        self._wake.set()
        return request

    def join(self, request: Request) -> None:
        request.waiters += 1
        self.waiting += 1

    def leave(self, request: Request) -> None:
        """A waiting document was cancelled."""
        if request.future.done():  # answered: its waiters were counted out then
            return
        request.waiters -= 1
        self.waiting -= 1
        if request.waiters == 0 and not request.submitted:
            self.queued.get(request.calls, {}).pop(request.key, None)
            request.calls.in_flight.pop(request.key, None)
            request.future.cancel()
        self._wake.set()

    def item_done(self, item: asyncio.Task) -> None:
        """A document finished: what it reserved of the budget is free, and the others may all be waiting now."""
        self.reserved.pop(item, None)
        self._wake.set()

    def item_started(self) -> None:
        self.last_fed = time.monotonic()

    def feeder(self, blocked: bool) -> None:
        """The step waits on a document of this worker (blocked), or is reading its input or passing documents on."""
        self.feeder_blocked = blocked
        if not blocked:
            self.last_fed = time.monotonic()
        self._wake.set()

    # --- the driver -------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drive())

    async def stop(self) -> None:
        """Stops waiting; the batches run on, recorded for the next run."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _drive(self) -> None:
        try:
            while True:
                await self._until_ready()
                await self._round()
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 - the step raises it
            self.fatal(e)

    def _has_work(self) -> bool:
        return any(self.queued.values()) or any(t.requests and not t.active for t in self.tracking.values())

    async def _until_ready(self) -> None:
        while True:
            self._wake.clear()
            timeout = GRACE_SECONDS  # woken by every change; the timeout only in case one went unsaid
            if self._has_work() and self.waiting >= self.in_flight():
                if self.feeder_blocked:
                    return
                timeout = self.last_fed + GRACE_SECONDS - time.monotonic()
                if timeout <= 0:
                    return
            try:  # not asyncio.wait_for: on 3.11 it can swallow a cancel that comes as the event is set
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _round(self) -> None:
        tracked = []
        for t in [t for t in self.tracking.values() if t.requests and not t.active]:  # re-attached
            if t.entry.get("id") or await self._find(t):
                t.active = True
                tracked.append(t)
        queued, self.queued = self._admit(self.queued), {}
        for calls, requests in queued.items():
            for chunk in self._chunks(calls, requests):
                if (t := await self._submit(calls, chunk)) is not None:
                    tracked.append(t)
        if not tracked:  # nothing went out (uploads refused, or a lookup that failed): not straight again
            await asyncio.sleep(self.poll)
            return
        self.rounds += 1
        await self._wait(tracked, RoundProgress(f"{self.name} round {self.rounds}", tracked, self.show_progress))

    def _admit(self, queued: dict) -> dict[BatchCalls, list[Request]]:
        """With a budget, the lines this round can pay for; the others fail with budget_exhausted. A line is
        reckoned at its most (prompt: a third of its body's bytes in tokens; completion: max_tokens), and a document
        asking its first line reserves that times `calls_per_item` for the calls to come, so the budget goes to
        finishing the documents it started (theirs go first) and a batch run stops before the budget."""
        budget = next(iter(queued)).budget if queued else None
        if budget is None or (budget.max_cost is None and budget.max_tokens is None):
            return {calls: list(requests.values()) for calls, requests in queued.items()}
        spent, held = budget.total, [sum(r[i] for r in self.reserved.values()) for i in (0, 1)]
        free = [(inf if budget.max_cost is None else budget.max_cost) - spent.cost - held[0],
                (inf if budget.max_tokens is None else budget.max_tokens) - spent.tokens - held[1]]
        lines = sorted(((calls, r) for calls, requests in queued.items() for r in requests.values()),
                       key=lambda line: line[1].owner not in self.reserved)  # documents under way first
        admitted, refused = {}, 0
        for calls, r in lines:
            guess = Completion("", len(encode_body(r.body)) // 3, r.body.get("max_tokens") or calls.config.max_tokens)
            most = (call_cost(calls.config, guess, batch=True), guess.prompt_tokens + guess.completion_tokens)
            mine = self.reserved.get(r.owner)
            need = ([max(0.0, most[i] - mine[i]) for i in (0, 1)] if mine is not None
                    else [most[i] * self.calls_per_item for i in (0, 1)])
            if need[0] > free[0] or need[1] > free[1]:
                refused += 1
                self._resolve(r, error=BudgetExhausted(f"the budget left (max_cost {budget.max_cost}, max_tokens "
                                                       f"{budget.max_tokens}) does not cover this document's calls"))
                continue
            free = [free[i] - need[i] for i in (0, 1)]
            self.reserved[r.owner] = [max(0.0, (need if mine is None else mine)[i] - most[i]) for i in (0, 1)]
            admitted.setdefault(calls, []).append(r)
        if refused:
            logger.warning(f"{self.name}: budget: {refused} line(s) refused, their documents fail as budget_exhausted; "
                           f"raise the budget and re-run to go on")
        return admitted

    @staticmethod
    def _chunks(calls: BatchCalls, requests: list[Request]):
        """The lines of batch files of at most batch_max_lines lines and batch_max_bytes bytes."""
        chunk, size, config = [], 0, calls.config
        for r in requests:
            line = encode_body({"custom_id": r.key, "method": "POST", "url": ENDPOINT, "body": r.body}) + b"\n"
            if chunk and (len(chunk) >= config.batch_max_lines or size + len(line) > config.batch_max_bytes):
                yield chunk
                chunk, size = [], 0
            chunk.append((r, line))
            size += len(line)
        if chunk:
            yield chunk

    async def _submit(self, calls: BatchCalls, chunk: list) -> Tracked | None:
        requests = {r.key: r for r, _ in chunk}
        for r in requests.values():
            r.submitted = True
        client = calls.teacher.client
        name = f"redraft-{self.name.replace(' ', '-')}-round{self.rounds + 1}.jsonl"
        try:
            uploaded = await client.with_options(timeout=BIG_FILE_TIMEOUT).files.create(
                file=(name, b"".join(x for _, x in chunk), "application/jsonl"), purpose="batch")
        except openai.APIError as e:
            error = self._error(calls, e)
            for r in requests.values():
                r.submitted = False
                self._retry(r, error.reason, str(error))
            return None
        entry = {"id": None, "file": uploaded.id, "role": calls.role, "model": calls.model,
                 "base_url": calls.config.base_url, "api_key_env": calls.config.api_key_env,
                 "submitted_at": int(time.time()), "custom_ids": list(requests),
                 "positions": [r.position for r in requests.values()],
                 "attempts": {k: r.attempts for k, r in requests.items() if r.attempts}}  # of lines asked again
        self.records.add(entry)  # before the batch exists: a kill from here on re-attaches (see _find)
        for key in requests:
            self.recorded[key] = entry
        tracked = self.tracking[entry["file"]] = Tracked(entry, calls, requests)
        try:
            batch = await client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
                                                metadata={"redraft": self.name})
        except openai.APIError as e:  # it may exist all the same (a reply lost): the next round looks it up
            tracked.reason = self._error(calls, e).reason
            return None
        tracked.active = True
        entry["id"] = batch.id
        self.records.save()
        tracked.batch, tracked.status = batch, batch.status
        self.lines += len(requests)
        return tracked

    async def _find(self, t: Tracked) -> bool:
        """The batch of an upload recorded without one: True once found; False when it was never created (its
        waiting lines go in this round's batches), or when that cannot be told now (they wait for the next round)."""
        since = t.entry["submitted_at"] - 60
        try:
            async for batch in t.calls.teacher.client.batches.list(limit=100):  # newest first
                if batch.input_file_id == t.entry["file"]:
                    t.entry["id"] = batch.id
                    self.records.save()
                    return True
                if batch.created_at < since:
                    break
        except openai.APIError as e:
            logger.warning(f"{self.name}: cannot list batches to find {t.entry['file']}'s ({self._error(t.calls, e)})")
            return False
        self._forget(t.entry)
        del self.tracking[t.entry["file"]]
        for r in t.requests.values():
            r.submitted = False
            self._retry(r, t.reason or "batch_not_created", "the upload's batch was never created")
        return False

    async def _wait(self, tracked: list[Tracked], progress: RoundProgress) -> None:
        interval, last = self.poll, None
        try:
            while True:
                for t in tracked:
                    if not t.collected and t.status not in TERMINAL:
                        await self._refresh(t)
                    if not t.collected and t.status in TERMINAL:
                        t.collected = await self._collect(t)
                progress.update(tracked)
                if all(t.collected for t in tracked):
                    return
                if not self.wait:
                    raise BatchesPending(f"{self.name}: {sum(not t.collected for t in tracked)} batch(es) still "
                                         f"running")
                state = [(t.status, t.done) for t in tracked]
                interval = self.poll if state != last else min(interval * 1.5, MAX_POLL_FACTOR * self.poll)
                last = state
                await asyncio.sleep(interval)
        finally:
            progress.close()

    async def _refresh(self, t: Tracked) -> None:
        try:
            batch = await t.calls.teacher.client.batches.retrieve(t.entry["id"])
        except openai.NotFoundError:
            t.batch, t.status, t.reason = None, "failed", "batch_not_found"
            return
        except openai.APIError as e:  # the client retried already; the next poll tries again
            logger.warning(f"{self.name}: cannot retrieve batch {t.entry['id']}: {self._error(t.calls, e)}")
            return
        t.batch, t.status = batch, batch.status
        counts = batch.request_counts
        t.done = counts.completed + counts.failed if counts else 0

    async def _collect(self, t: Tracked) -> bool:
        """An ended batch's lines: answers into the cache and to their documents, the rest asked again (or failed)."""
        answered, failed = {}, {}
        files = [t.batch.output_file_id, t.batch.error_file_id] if t.batch is not None else []
        positions = dict(zip(t.entry["custom_ids"], t.entry.get("positions") or []))
        try:
            for file_id in filter(None, files):
                async for line in self._lines(t.calls, file_id):
                    key, outcome = self._outcome(t.calls, line)
                    if isinstance(outcome, Completion):
                        t.calls.cache.put(key, outcome, positions.get(key))
                        answered[key] = outcome
                        if key in t.requests:
                            self._resolve(t.requests[key], outcome)
                    elif key is not None:
                        failed[key] = outcome
        except openai.NotFoundError:  # its files are gone (deleted, or past their expiry): ask its lines again
            t.reason = "batch_output_gone"
        except openai.APIError as e:
            logger.warning(f"{self.name}: cannot read the files of batch {t.entry['id']} ({self._error(t.calls, e)}); "
                           "trying again")
            return False
        reason = t.reason or UNANSWERED.get(t.status, "batch_incomplete")
        errors = getattr(getattr(t.batch, "errors", None), "data", None) or []
        message = "; ".join(f"{e.code}: {e.message}" for e in errors) or f"batch {t.entry['id']} {t.status}"
        for key, r in t.requests.items():  # documents that came to these lines while the files were read, too
            if key in answered:
                self._resolve(r, answered[key])
            else:
                self._retry(r, *failed.get(key, (reason, message)))
        self._forget(t.entry)
        del self.tracking[t.entry["file"]]
        return True

    @staticmethod
    async def _lines(calls: BatchCalls, file_id: str):
        client = calls.teacher.client.with_options(timeout=BIG_FILE_TIMEOUT)
        async with client.files.with_streaming_response.content(file_id) as response:
            async for line in response.iter_lines():
                if line.strip():
                    yield line

    def _outcome(self, calls: BatchCalls, line: str) -> tuple[str | None, Completion | tuple[str, str]]:
        """One line of an output or error file: its custom_id, and its completion or (reason, message)."""
        try:
            record = json.loads(line)
            key = record["custom_id"]
        except (ValueError, TypeError, KeyError):
            return None, ("invalid_response", line[:200])
        response, error = record.get("response") or {}, record.get("error")
        status, body = response.get("status_code"), response.get("body")
        if status == 200 and not error:
            try:
                return key, completion_from(body)
            except TeacherError as e:
                return key, (e.reason, str(e))
        detail = error or (body.get("error") if isinstance(body, dict) else None) or {}
        message = f"{status}: {detail.get('message', '') if isinstance(detail, dict) else detail}"
        if status in (401, 403, 404):  # as a direct call's: the key, the model or the endpoint is wrong
            raise TeacherUnavailable(f"teacher {calls.model!r} at {calls.config.base_url or 'api.openai.com'}: "
                                     f"batch lines answered {message} (check the key, teacher.model and "
                                     f"teacher.base_url)")
        code = detail.get("code") if isinstance(detail, dict) else None
        if code == "batch_expired" or status is None:
            return key, (code or "batch_error", message)
        return key, ("rate_limited" if status == 429 else "server_error" if status >= 500 else "bad_request", message)

    # --- answers, retries and records -----------------------------------------------------------------------------

    def _resolve(self, request: Request, completion: Completion | None = None, error: Exception | None = None) -> None:
        if request.future.done():
            return
        self.waiting -= request.waiters
        request.calls.in_flight.pop(request.key, None)
        if error is not None:
            request.future.set_exception(error)
            request.future.exception()  # retrieved: no warning when no document waits any more
        else:
            request.future.set_result(completion)

    def _retry(self, request: Request, reason: str, message: str = "") -> None:
        """A line that got no answer: in the next round, or failed with `reason` after `max_retries` tries."""
        request.submitted = False
        if request.future.done() or request.waiters == 0:
            request.calls.in_flight.pop(request.key, None)
            request.future.cancel()
            return
        request.attempts += 1
        if request.attempts > request.calls.config.max_retries:
            self._resolve(request, error=TeacherError(reason, message))
        else:
            self.queued.setdefault(request.calls, {})[request.key] = request

    def _forget(self, entry: dict) -> None:
        self.records.remove(entry)
        for key in entry["custom_ids"]:
            if self.recorded.get(key) is entry:
                del self.recorded[key]

    def drop_answered(self, cache) -> None:
        """Records whose every line is in the cache (collected by a run killed before it said so) are dropped."""
        for entry in list(self.records.entries):
            positions = entry.get("positions") or [None] * len(entry["custom_ids"])
            if all(cache.get(k, p) is not None for k, p in zip(entry["custom_ids"], positions)):
                self._forget(entry)

    @staticmethod
    def _error(calls: BatchCalls, e: openai.APIError) -> TeacherError:
        """A failed Batch API call; raises TeacherUnavailable when the teacher cannot be used."""
        if isinstance(e, openai.NotFoundError):
            raise TeacherUnavailable(f"teacher {calls.model!r}: {calls.config.base_url or 'api.openai.com'} has no "
                                     f"Batch API here ({e}); teacher.batch: true needs /v1/files and /v1/batches")
        error = calls.teacher.error(e)
        if isinstance(error, TeacherUnavailable):
            raise error
        return error


class RoundProgress:
    """A line per round: its batches validating / in progress / finalizing, lines done / total, the time it took.
    A tqdm bar on a terminal, else a log line whenever the batches' statuses change."""

    def __init__(self, desc: str, tracked: list[Tracked], show: bool):
        self.desc, self.start, self.last = desc, time.monotonic(), None
        self.total = sum(len(t.entry["custom_ids"]) for t in tracked)
        self.bar = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=desc, unit="line", file=sys.stderr, dynamic_ncols=True, leave=True)
        logger.info(f"{desc}: {len(tracked)} batch(es), {self.total:,} lines")

    def update(self, tracked: list[Tracked]) -> None:
        states = Counter(t.status for t in tracked)
        shown = ["validating", "in_progress", "finalizing", *(s for s in states if s not in ACTIVE)]
        text = ", ".join(f"{states[s]} {s.replace('_', ' ')}" for s in shown)
        done = sum(len(t.entry["custom_ids"]) if t.status in TERMINAL else t.done for t in tracked)
        if self.bar is not None:
            self.bar.set_postfix_str(f"batches: {text}", refresh=False)
            self.bar.update(done - self.bar.n)
        elif text != self.last:
            logger.info(f"{self.desc}: batches {text}; lines {done:,}/{self.total:,}; {self.elapsed()}")
        self.last = text

    def elapsed(self) -> str:
        s = int(time.monotonic() - self.start)
        return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        logger.info(f"{self.desc}: done in {self.elapsed()}")


# --- what the runner and the CLI ask about ---------------------------------------------------------------------------

def cancel_batches(state_dir: str | os.PathLike) -> list[str]:
    """Asks the Batch API to cancel every recorded batch; one line per batch says how it went. The records stay: a
    re-run collects what the cancelled batches answered and asks the rest again."""
    from redraft.synth.config import TeacherConfig

    said = []
    for entry in recorded_batches(state_dir):
        if not entry["id"]:
            said.append(f"{entry['file']}: uploaded, no batch recorded (a re-run looks it up)")
            continue
        config = TeacherConfig(model=entry["model"], base_url=entry["base_url"], api_key_env=entry["api_key_env"])
        client = openai.OpenAI(base_url=config.base_url, api_key=resolve_api_key(config), timeout=config.timeout)
        try:
            batch = client.batches.cancel(entry["id"])
            said.append(f"{entry['id']}: {batch.status}")
        except openai.APIError as e:
            said.append(f"{entry['id']}: not cancelled ({e})")
        finally:
            client.close()
    return said
