"""datatrove's `LocalPipelineExecutor`, starting no process that can outlive redraft.

datatrove's own starts a `multiprocess.Manager()` server for every stage, even for one worker, and runs more workers
as a pool under a forkserver: a `kill -9` of redraft leaves them all running, since it cannot stop them. Here one
worker runs the tasks in this process, as datatrove does, with no server; more run in a `spawn` pool whose workers
end when this process does (redraft/parent_death.py). Tasks, their logs, completion markers and stats are
datatrove's."""

from __future__ import annotations

import os
from copy import deepcopy

import multiprocess
from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.stats import PipelineStats

from redraft.parent_death import die_with_parent


def _start_worker(parent: int) -> None:
    die_with_parent(parent)
    if os.environ.get("REDRAFT_VERBOSE", "0") == "0":
        from loguru import logger

        logger.disable("datatrove")  # as in the parent (recipes/executors.py run_stages)


class LocalExecutor(LocalPipelineExecutor):
    def run(self) -> PipelineStats | None:
        ranks = self.get_incomplete_ranks()
        if not ranks:
            return None
        self.save_executor_as_json()
        if self.workers == 1:
            pipeline, stats = self.pipeline, []
            for rank in ranks:
                self.pipeline = deepcopy(pipeline)  # every task starts from the steps as configured
                stats.append(self._run_for_rank(rank))
            self.pipeline = pipeline
        else:
            # started from this (the main) thread, which the workers' parent-death signal follows
            with multiprocess.get_context("spawn").Pool(self.workers, initializer=_start_worker,
                                                        initargs=(os.getpid(),)) as pool:
                stats = list(pool.imap_unordered(self._run_for_rank, ranks))
        total = sum(stats, start=PipelineStats())
        with self.logging_dir.open("stats.json", "wt") as f:
            total.save_to_disk(f)
        return total
