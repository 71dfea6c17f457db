"""A pipeline step that records, for each task it runs in, the stage, the rank, the process id and how many objects
the garbage collector holds frozen: what the executor tests look at."""

import gc
import os

from datatrove.pipeline.base import PipelineStep


class Probe(PipelineStep):
    name = "probe"

    def __init__(self, record_file: str, stage: str):
        super().__init__()
        self.record_file, self.stage = record_file, stage

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        with open(self.record_file, "a") as f:
            f.write(f"{self.stage} {rank} {os.getpid()} {gc.get_freeze_count()}\n")
        yield from data or ()
