"""The output directory (SPEC): parquet shards, rejected rows, stats.json, recipe.yaml and the dataset card.

Runs write into a staging folder under `OUT/.redraft/`; `publish` moves the finished parts into `OUT` only after the
whole run succeeded, so a failed run leaves nothing half-written next to an earlier good output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.parquet import ParquetWriter

from redraft.chat_formats import CHAT_FORMATS
from redraft.errors import UsageError
from redraft.types import POSITION, document_to_row, rejected_schema, staged_schema

STATE_DIR = ".redraft"  # response cache and work files; never published
PUBLISHED = ("data", "rejected", "plots", "README.md", "recipe.yaml", "stats.json", *CHAT_FORMATS)  # + output.formats


def _row(writer, doc) -> dict:
    return document_to_row(doc)


def _rejected_row(writer, doc) -> dict:
    row = document_to_row(doc)
    row["status"] = doc.metadata.get("status", "dropped")
    row["reason"] = doc.metadata.get("reason") or doc.metadata.get("filter_reason") or "unspecified"
    return row


def rows_writer(folder: Path, schema: pa.Schema, max_file_mb: int = 512) -> ParquetWriter:
    return ParquetWriter(str(folder), output_filename="${rank}.parquet", adapter=_row, schema=schema,
                         max_file_size=max_file_mb * 2**20, batch_size=500)


def _staged_row(writer, doc) -> dict:
    return document_to_row(doc) | {POSITION: doc.metadata[POSITION]}


def stage_writer(folder: Path, schema: pa.Schema) -> ParquetWriter:
    """Rows handed from one stage to the next: one `RANK.parquet` per task (rewritten whole when a task re-runs),
    with each item's input position."""
    return ParquetWriter(str(folder), output_filename="${rank}.parquet", adapter=_staged_row,
                         schema=staged_schema(schema), batch_size=500, max_file_size=-1)


def rejected_writer(folder: Path, name: str, schema: pa.Schema) -> ParquetWriter:
    return ParquetWriter(str(folder), output_filename=f"{name}-${{rank}}.parquet", adapter=_rejected_row,
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


def count_rows(folder: Path) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))


def funnel(counts_dir: Path, data_dir: Path, rejected_dir: Path) -> dict:
    """stats.json: input, kept, dropped and failed by reason. Raises if the funnel does not add up."""
    n_input = sum(json.loads(f.read_text())["input"] for f in counts_dir.glob("*.json"))
    dropped, failed = Counter(), Counter()
    for f in sorted(rejected_dir.glob("*.parquet")):
        t = pq.read_table(f, columns=["status", "reason"])
        for status, reason in zip(t["status"].to_pylist(), t["reason"].to_pylist()):
            (failed if status == "failed" else dropped)[reason] += 1
    stats = {"input": n_input, "kept": count_rows(data_dir), "dropped": dict(sorted(dropped.items())),
             "failed": dict(sorted(failed.items()))}
    if stats["input"] != stats["kept"] + sum(dropped.values()) + sum(failed.values()):
        raise RuntimeError(f"internal error: the funnel does not add up: {stats}")
    return stats


def ensure_nonempty(data_dir: Path, schema: pa.Schema) -> None:
    """`load_dataset` needs at least one shard, even when every row was dropped."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not any(data_dir.glob("*.parquet")):
        pq.write_table(schema.empty_table(), data_dir / "00000.parquet")


def name_shards(data_dir: Path) -> str:
    """Name the shards `train-FINGERPRINT-NNNNN.parquet` and return the glob the dataset card points at.

    `datasets` caches a local folder that has `configs` in its card by the card's config alone, not by the files, so a
    re-run with new rows would load the old ones from its cache; a content fingerprint in the pattern prevents that.
    """
    shards = sorted(data_dir.glob("*.parquet"))
    h = hashlib.blake2b(digest_size=5)
    for f in shards:
        h.update(f.read_bytes())
    fingerprint = h.hexdigest()
    for i, f in enumerate(shards):
        f.rename(data_dir / f"train-{fingerprint}-{i:05d}.parquet")
    return f"data/train-{fingerprint}-*.parquet"


def check_output_dir(out: str | Path, inputs: list[str | Path | None] = ()) -> None:
    """Before any work: OUT must be a folder redraft can write, apart from its inputs (an output inside an input
    folder would be read back as input on the next run; an input inside OUT would be replaced by the output)."""
    import os

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder; give a folder for the output")
    here = out.resolve()
    for given in filter(None, inputs):
        src = Path(given).resolve()
        if not src.exists():
            continue
        if here == src or (src.is_dir() and src in here.parents):
            raise UsageError(f"{out}: the output folder is inside the input {given}; write it elsewhere")
        if here in src.parents and src.relative_to(here).parts[0] in PUBLISHED:
            raise UsageError(f"{out}: the output would replace its own input {given}; write it elsewhere")
    parent = next(p for p in (out, *out.parents) if p.exists())
    if os.statvfs(parent).f_flag & os.ST_RDONLY or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{out}: cannot write there ({parent} is read-only)")


def publish(staging: Path, out: Path) -> None:
    """Move the finished parts from `staging` into `out`, replacing an earlier run's."""
    out.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        elif (out / name).exists():
            (out / name).unlink()
    for name in PUBLISHED:
        if (staging / name).exists():
            (staging / name).rename(out / name)
