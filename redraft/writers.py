"""The steps that write what a run's stages produce under `OUT/.redraft/work-KEY/`: kept rows, rows handed from one
stage to the next, rejected rows (with status and reason; the rows themselves are redraft/types.py's), and the count
of items entering the funnel (or a check stage: `TaskCounts` reads a task's count back in a later stage)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter
from datatrove.utils.batching import batched
from datatrove.utils.typeshelper import StatHints

from redraft.storage import location
from redraft.types import document_columns, rejected_schema, staged_schema


class BatchParquetWriter(ParquetWriter):
    """datatrove's ParquetWriter with its per-document work done once per batch of `batch_size` rows: the row
    columns (`document_columns`, named by the schema, in place of datatrove's per-document adapter), the file name
    (only `${rank}` in it), the size check against `max_file_size` (fsspec's `tell()`), the statistics and the
    timing. A document costs an append; its row is taken when its batch is written, so a document must not change
    after `write` (every writer here is its pipeline's last step, or is handed documents no step reads again). The
    files are the same: one row group per batch, rotated to `NNN_` names at the same size. Per-document length
    statistics (`doc_len`) are not kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._docs: dict[int, list[Document]] = {}

    def write(self, document: Document, rank: int = 0, **kwargs) -> None:
        docs = self._docs.setdefault(rank, [])
        docs.append(document)
        if len(docs) >= self.batch_size:
            self._flush(rank)

    def _flush(self, rank: int) -> None:
        docs = self._docs.pop(rank, None)
        if not docs:
            return
        name = filename = self.output_filename.substitute(rank=str(rank).zfill(5))
        if self.max_file_size > 0:
            filename = self._get_filename_with_file_id(name)
            if filename in self._writers and self._get_output_file_with_retry(filename).tell() >= self.max_file_size:
                self.file_id_counter[name] += 1
                new = self._get_filename_with_file_id(name)
                self._on_file_switch(name, filename, new)
                filename = new
        if filename not in self._writers:
            self._writers[filename] = pq.ParquetWriter(
                self._get_output_file_with_retry(filename), schema=self.schema, compression=self.compression,
                use_content_defined_chunking=self.use_content_defined_chunking,
                write_page_index=self.write_page_index)
        columns = document_columns(docs, self.schema.names)
        self._writers[filename].write_batch(pa.RecordBatch.from_pydict(columns, schema=self.schema))
        self.stat_update(StatHints.total, value=len(docs))

    def close(self) -> None:
        for rank in list(self._docs):
            self._flush(rank)
        super().close()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self:
            for batch in batched(data, self.batch_size):
                with self.track_time("batch"):
                    for document in batch:
                        self.write(document, rank)
                yield from batch


def rows_writer(folder: Path, schema: pa.Schema, max_file_mb: int = 512) -> ParquetWriter:
    """The kept rows, the future `data/` shards."""
    return BatchParquetWriter(str(folder), output_filename="${rank}.parquet", schema=schema,
                              max_file_size=max_file_mb * 2**20, batch_size=500)


def stage_writer(folder: Path, schema: pa.Schema) -> ParquetWriter:
    """Rows handed from one stage to the next (read back by `readers.StageReader`): one `RANK.parquet` per task
    (rewritten whole when a task re-runs), with each item's input position. Never published: written plainly, without
    the Hub's content-defined chunking and page index."""
    return BatchParquetWriter(str(folder), output_filename="${rank}.parquet",
                              schema=staged_schema(schema), batch_size=500, max_file_size=-1,
                              use_content_defined_chunking=False, write_page_index=False)


def rejected_writer(folder: Path, name: str, schema: pa.Schema) -> ParquetWriter:
    """A step's dropped or failed items, with `status` and `reason`, the future `rejected/` shards."""
    return BatchParquetWriter(str(folder), output_filename=f"{name}-${{rank}}.parquet",
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
        location(self.folder).mkdir(parents=True, exist_ok=True)
        (location(self.folder) / f"{rank:05d}.json").write_text(json.dumps({"input": n}))


class TaskCounts:
    """What `CountItems` wrote into `folder`, read back by a task of a later stage: `counts(rank)`, that task's count
    (None when there is none)."""

    def __init__(self, folder: Path):
        self.folder = str(folder)

    def __call__(self, rank: int) -> int | None:
        path = location(self.folder) / f"{rank:05d}.json"
        return json.loads(path.read_text())["input"] if path.exists() else None
