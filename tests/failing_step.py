"""A filter of a user's own (`filters: [{name: "failing_step:FailOnRank"}]`) that breaks one task: how the scale-out
tests make a cluster task fail for real. Every task appends its rank to `runs_file` when it starts."""

from pathlib import Path

from datatrove.pipeline.filters.base_filter import BaseFilter


class FailOnRank(BaseFilter):
    name = "fail_on_rank"

    def __init__(self, rank: int, unless_exists: str, runs_file: str, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.rank, self.unless_exists, self.runs_file = rank, unless_exists, runs_file

    def run(self, data, rank: int = 0, world_size: int = 1):
        with open(self.runs_file, "a") as f:
            f.write(f"{rank}\n")
        if rank == self.rank and not Path(self.unless_exists).exists():
            raise RuntimeError(f"injected failure on rank {rank}")
        yield from super().run(data, rank, world_size)

    def filter(self, doc):
        return True
