"""The steps that write what a run's stages produce under `OUT/.redraft/work-KEY/`: kept rows, rows handed from one
stage to the next, rejected rows (with status and reason; the rows themselves are redraft/types.py's), and the count
of items entering the funnel (or a check stage: `TaskCounts` reads a task's count back in a later stage)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter

from redraft.types import kept_row, rejected_row, rejected_schema, staged_row, staged_schema


def rows_writer(folder: Path, schema: pa.Schema, max_file_mb: int = 512) -> ParquetWriter:
    """The kept rows, the future `data/` shards."""
    return ParquetWriter(str(folder), output_filename="${rank}.parquet", adapter=kept_row, schema=schema,
                         max_file_size=max_file_mb * 2**20, batch_size=500)


def stage_writer(folder: Path, schema: pa.Schema) -> ParquetWriter:
    """Rows handed from one stage to the next (read back by `readers.StageReader`): one `RANK.parquet` per task
    (rewritten whole when a task re-runs), with each item's input position."""
    return ParquetWriter(str(folder), output_filename="${rank}.parquet", adapter=staged_row,
                         schema=staged_schema(schema), batch_size=500, max_file_size=-1)


def rejected_writer(folder: Path, name: str, schema: pa.Schema) -> ParquetWriter:
    """A step's dropped or failed items, with `status` and `reason`, the future `rejected/` shards."""
    return ParquetWriter(str(folder), output_filename=f"{name}-${{rank}}.parquet", adapter=rejected_row,
                         schema=rejected_schema(schema), batch_size=500)


class CountItems(PipelineStep):
    """Counts the items entering the funnel; the count is what `stats.json` calls `input`."""

    type = "🔢 - COUNTER"
    name = "input count"

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = str(folder)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        n = 0
        for doc in data:
            n += 1
            yield doc
        Path(self.folder).mkdir(parents=True, exist_ok=True)
        (Path(self.folder) / f"{rank:05d}.json").write_text(json.dumps({"input": n}))


class TaskCounts:
    """What `CountItems` wrote into `folder`, read back by a task of a later stage: `counts(rank)`, that task's count
    (None when there is none)."""

    def __init__(self, folder: Path):
        self.folder = str(folder)

    def __call__(self, rank: int) -> int | None:
        path = Path(self.folder) / f"{rank:05d}.json"
        return json.loads(path.read_text())["input"] if path.exists() else None
