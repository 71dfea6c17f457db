"""datatrove's `LocalPipelineExecutor`, starting no process that can outlive redraft.

datatrove's own starts a `multiprocess.Manager()` server for every stage, even for one worker, and runs more workers
as a pool under a forkserver: a `kill -9` of redraft leaves them all running, since it cannot stop them. Here one
worker runs the tasks in this process, as datatrove does, with no server; more run in a `spawn` pool whose workers
end when this process does (redraft/parent_death.py). Tasks, their logs, completion markers and stats are
datatrove's."""

from __future__ import annotations

import os
from copy import deepcopy
from functools import partial

import multiprocess
from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.stats import PipelineStats

from redraft.parent_death import die_with_parent


class LocalExecutor(LocalPipelineExecutor):
    def run(self) -> PipelineStats | None:
        ranks = self.get_incomplete_ranks(range(self.local_rank_offset, self.local_rank_offset + self.local_tasks))
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
            # local_rank 0 prints the task's log on the console too (datatrove); REDRAFT_VERBOSE=1 asks for that
            task = partial(self._run_for_rank, local_rank=int(os.environ.get("REDRAFT_VERBOSE", "0") == "0"))
            # started from this (the main) thread, which the workers' parent-death signal follows
            with multiprocess.get_context("spawn").Pool(self.workers, initializer=die_with_parent,
                                                        initargs=(os.getpid(),)) as pool:
                stats = list(pool.imap_unordered(task, ranks))
        total = sum(stats, start=PipelineStats())
        with self.logging_dir.open("stats.json", "wt") as f:
            total.save_to_disk(f)
        return total
