"""datatrove's `LocalPipelineExecutor`, starting no process that can outlive redraft.

datatrove's own starts a `multiprocess.Manager()` server for every stage, even for one worker, and runs more workers
as a pool under a forkserver: a `kill -9` of redraft leaves them all running, since it cannot stop them. Here one
worker runs the tasks in this process, as datatrove does, with no server; more run in a `spawn` pool whose workers
end when this process does (redraft/parent_death.py). One pool serves every stage of a run (`WorkerPool`): a
spawned worker imports redraft and its libraries once, not once per stage. Tasks, their logs, completion markers and
stats are datatrove's."""

from __future__ import annotations

import os
from copy import deepcopy
from functools import partial

import multiprocess
from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.stats import PipelineStats

from redraft.parent_death import die_with_parent


class WorkerPool:
    """`workers` spawned processes shared by the stages of a run, started when a stage first needs them (a re-run
    whose tasks are all complete starts none); a context manager that stops them."""

    def __init__(self, workers: int):
        self.workers, self._pool = workers, None

    def imap_unordered(self, func, items):
        if self._pool is None:
            # started from this (the main) thread, which the workers' parent-death signal follows
            self._pool = multiprocess.get_context("spawn").Pool(self.workers, initializer=die_with_parent,
                                                                initargs=(os.getpid(),))
        return self._pool.imap_unordered(func, items)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()


class LocalExecutor(LocalPipelineExecutor):
    """Runs the stage's tasks in this process, or in `pool` (a `WorkerPool`) when given and workers > 1."""

    def __init__(self, *args, pool=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def __getstate__(self) -> dict:  # a task sent to a worker carries its executor, not the pool
        return {**self.__dict__, "pool": None}

    def run(self) -> PipelineStats | None:
        ranks = self.get_incomplete_ranks(range(self.local_rank_offset, self.local_rank_offset + self.local_tasks))
        if not ranks:
            return None
        self.save_executor_as_json()
        if self.workers == 1 or self.pool is None:
            pipeline, stats = self.pipeline, []
            for rank in ranks:
                self.pipeline = deepcopy(pipeline)  # every task starts from the steps as configured
                stats.append(self._run_for_rank(rank))
            self.pipeline = pipeline
        else:
            # local_rank 0 prints the task's log on the console too (datatrove); REDRAFT_VERBOSE=1 asks for that
            task = partial(self._run_for_rank, local_rank=int(os.environ.get("REDRAFT_VERBOSE", "0") == "0"))
            stats = list(self.pool.imap_unordered(task, ranks))
        total = sum(stats, start=PipelineStats())
        with self.logging_dir.open("stats.json", "wt") as f:
            total.save_to_disk(f)
        return total
